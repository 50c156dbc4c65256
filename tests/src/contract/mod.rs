//! One contract suite per port. Each function states a rule every adapter must honour; the test
//! files run them against the local adapter and against the AWS adapter on the emulator.

pub mod mailer;
pub mod queue;
pub mod store;
