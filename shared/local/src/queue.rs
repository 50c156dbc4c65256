//! In-process queues with SQS's delivery semantics: a received message stays in the queue,
//! invisible, until it is acknowledged or its visibility timeout ends; then it is delivered
//! again. After `max_receives` deliveries it moves to a dead-letter list instead.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::time::Instant;

use fittrack_platform::ports::queue::MAX_MESSAGE_BYTES;
use fittrack_platform::ports::{Queue, QueueError, QueueId, ReceivedMessage};

struct Stored {
    id: String,
    body: String,
    visible_at: Instant,
    receipt: Option<String>,
    receive_count: u32,
}

#[derive(Default)]
struct Queues {
    live: HashMap<QueueId, Vec<Stored>>,
    dead: HashMap<QueueId, Vec<String>>,
}

pub struct InProcessQueue {
    queues: Mutex<Queues>,
    notify: Notify,
    visibility_timeout: Duration,
    max_receives: u32,
}

impl Default for InProcessQueue {
    fn default() -> Self {
        Self::new(Duration::from_secs(30), 5)
    }
}

impl InProcessQueue {
    pub fn new(visibility_timeout: Duration, max_receives: u32) -> Self {
        Self { queues: Mutex::new(Queues::default()), notify: Notify::new(), visibility_timeout, max_receives }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bodies that exhausted their deliveries (the local dead-letter queue).
    pub fn dead_letters(&self, queue: QueueId) -> Vec<String> {
        self.lock().dead.get(&queue).cloned().unwrap_or_default()
    }

    /// Messages waiting or in flight.
    pub fn depth(&self, queue: QueueId) -> usize {
        self.lock().live.get(&queue).map_or(0, Vec::len)
    }

    fn take_visible(&self, queue: QueueId, max: usize) -> (Vec<ReceivedMessage>, Option<Instant>) {
        let now = Instant::now();
        let mut queues = self.lock();
        let Queues { live, dead } = &mut *queues;
        let messages = live.entry(queue).or_default();
        // Exhausted messages go to the dead-letter list when they next become visible.
        let (exhausted, kept): (Vec<_>, Vec<_>) =
            messages.drain(..).partition(|m| m.visible_at <= now && m.receive_count >= self.max_receives);
        *messages = kept;
        dead.entry(queue).or_default().extend(exhausted.into_iter().map(|m| m.body));

        let mut received = Vec::new();
        for message in messages.iter_mut().filter(|m| m.visible_at <= now).take(max) {
            message.receive_count += 1;
            message.visible_at = now + self.visibility_timeout;
            let receipt = uuid::Uuid::new_v4().to_string();
            message.receipt = Some(receipt.clone());
            received.push(ReceivedMessage {
                id: message.id.clone(),
                receipt,
                body: message.body.clone(),
                receive_count: message.receive_count,
            });
        }
        let next_visible = messages.iter().map(|m| m.visible_at).min();
        (received, next_visible)
    }
}

#[async_trait]
impl Queue for InProcessQueue {
    async fn send(&self, queue: QueueId, body: &str) -> Result<(), QueueError> {
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(QueueError::TooLarge(body.len()));
        }
        let message = Stored {
            id: uuid::Uuid::new_v4().to_string(),
            body: body.to_owned(),
            visible_at: Instant::now(),
            receipt: None,
            receive_count: 0,
        };
        self.lock().live.entry(queue).or_default().push(message);
        self.notify.notify_waiters();
        Ok(())
    }

    async fn receive(&self, queue: QueueId, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError> {
        let deadline = Instant::now() + wait;
        loop {
            let notified = self.notify.notified();
            let (received, next_visible) = self.take_visible(queue, max.max(1));
            if !received.is_empty() || Instant::now() >= deadline {
                return Ok(received);
            }
            let wake_at = next_visible.map_or(deadline, |t| t.min(deadline));
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep_until(wake_at) => {}
            }
        }
    }

    async fn ack(&self, queue: QueueId, receipt: &str) -> Result<(), QueueError> {
        if let Some(messages) = self.lock().live.get_mut(&queue) {
            messages.retain(|m| m.receipt.as_deref() != Some(receipt));
        }
        Ok(())
    }

    async fn release(&self, queue: QueueId, receipt: &str) -> Result<(), QueueError> {
        let mut queues = self.lock();
        let message =
            queues.live.get_mut(&queue).and_then(|m| m.iter_mut().find(|m| m.receipt.as_deref() == Some(receipt)));
        if let Some(message) = message {
            message.visible_at = Instant::now();
        }
        drop(queues);
        self.notify.notify_waiters();
        Ok(())
    }
}
