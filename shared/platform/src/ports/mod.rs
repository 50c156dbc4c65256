//! The ports: what the application needs from the outside world. Each has a production adapter
//! (`fittrack-aws`) and a local one (`fittrack-local`), and one contract suite (`tests/contract`)
//! that every adapter passes.

pub mod beacon;
pub mod mailer;
pub mod queue;
pub mod store;
pub mod tracker;

pub use beacon::{BeaconCommitment, BeaconError, BeaconReveal, BeaconSecret, RandomnessBeacon};
pub use mailer::{MailError, Mailer, OutgoingEmail, redact_addresses};
pub use queue::{Queue, QueueError, QueueId, ReceivedMessage};
pub use store::{
    Condition, Cursor, Index, Item, ItemStore, Key, Page, Query, StoreError, Table, Update, WriteOp, from_item, to_item,
};
pub use tracker::{AuthorizationRequest, OAuthFlow, ProviderTokens, TrackerError, TrackerProvider};
