//! One run of the minute scheduler (the `drawings-scheduler` Lambda each minute, `fittrack serve`
//! every few seconds): bans applied to open drawings, the drawing steps due, the fulfilment
//! timeouts, and the notification emails waiting in the outbox. Each stage stands on its own: one
//! failing is logged and never holds up the others; the next run tries it again.

use serde::Serialize;

use crate::DrawingService;

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MinuteReport {
    pub bans_applied: usize,
    pub opened: usize,
    pub closed: usize,
    pub drawn: usize,
    pub waiting: usize,
    pub notified: usize,
    pub refunded: usize,
    pub failed: usize,
    pub fulfilment_steps: usize,
    pub emails_relayed: usize,
}

impl MinuteReport {
    /// Everything done (waiting and failed drawings not counted).
    pub fn steps(&self) -> usize {
        self.bans_applied
            + self.opened
            + self.closed
            + self.drawn
            + self.notified
            + self.refunded
            + self.fulfilment_steps
            + self.emails_relayed
    }
}

fn logged<T: Default, E: std::fmt::Display>(stage: &'static str, result: Result<T, E>) -> T {
    result.inspect_err(|error| tracing::error!(%error, stage, "scheduled stage failed")).unwrap_or_default()
}

impl DrawingService {
    /// Runs every stage that is due, each on its own.
    pub async fn run_minute(&self) -> MinuteReport {
        let bans_applied = logged("bans", self.apply_bans().await);
        let due = logged("drawing steps", self.run_due().await);
        let fulfilment_steps = logged("fulfilment", self.run_fulfilment_due().await);
        let emails_relayed = logged("email outbox", self.notifications.relay_emails(self.queue.as_ref()).await);
        MinuteReport {
            bans_applied,
            opened: due.opened,
            closed: due.closed,
            drawn: due.drawn,
            waiting: due.waiting,
            notified: due.notified,
            refunded: due.refunded,
            failed: due.failed,
            fulfilment_steps,
            emails_relayed,
        }
    }
}
