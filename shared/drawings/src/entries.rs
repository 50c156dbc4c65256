//! Entering a drawing: tickets bought with points, the daily free entry, mail-in entries, and
//! what the caller holds.
//!
//! Every way in is one transaction of a constant number of writes, whatever the quantity: the
//! debit (balance, ledger entry, its outbox event) when points are spent, the person's totals
//! (conditioned on what was read, so the per-person maximum is exact), their shard's gate
//! (open, or nothing lands), and the entry itself (new, or the request is a retry).

use chrono::{DateTime, Utc};

use fittrack_audit::{ActionKind, Actor, Change, TargetKind};
use fittrack_domain::drawing::{DrawingStatus, EntrantFacts, Ineligibility};
use fittrack_domain::{UserId, competition_day};
use fittrack_platform::ports::{Condition, Query, StoreError, Table, Update, WriteOp, from_item, to_item};
use fittrack_users::records::{AccountRecord, account_key};

use crate::records::{DrawingId, DrawingRecord, EntrantRecord, EntryMethod, EntryRecord, GateRecord, LoadAt};
use crate::views::{EligibilityView, EntryReceipt, EntryView, MailInRequest, MyTickets, TicketRangeView};
use crate::{DrawingError, DrawingService, backoff, keys};

/// Lost races before giving up with `Busy` (fifty purchases of one person at once all land).
pub(crate) const MAX_ATTEMPTS: u32 = 60;

/// One way in, as the transaction needs it.
struct Entering<'a> {
    user: UserId,
    method: EntryMethod,
    quantity: u64,
    /// The entry's own name in the person's entries: its idempotency key, or its day.
    entry: String,
    points: u64,
    /// The admin recording a mail-in entry (the action is logged in the entry's transaction).
    recorded_by: Option<&'a Actor>,
    /// The competition day (free entries).
    today: &'a str,
}

impl DrawingService {
    /// Buys `quantity` tickets with points, once per `idempotency_key`: a retry answers what the
    /// first request answered and debits nothing more.
    ///
    /// # Errors
    /// [`DrawingError::IdempotencyKeyRequired`], [`DrawingError::IdempotencyKeyReused`],
    /// [`DrawingError::Invalid`] (quantity), [`DrawingError::NotFound`], [`DrawingError::NotOpen`],
    /// [`DrawingError::Closed`], [`DrawingError::NotEligible`], [`DrawingError::TicketLimitReached`],
    /// [`DrawingError::InsufficientPoints`], [`DrawingError::Busy`], [`DrawingError::Store`].
    pub async fn buy(
        &self,
        user: UserId,
        drawing: &DrawingId,
        quantity: u64,
        idempotency_key: Option<&str>,
    ) -> Result<EntryReceipt, DrawingError> {
        let key = idempotency_key
            .filter(|k| {
                (1..=64).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .ok_or(DrawingError::IdempotencyKeyRequired)?;
        if !(1..=crate::admin::MAX_TICKETS).contains(&quantity) {
            return Err(fittrack_domain::ValidationErrors::single(fittrack_domain::FieldError::new(
                "quantity",
                "out_of_range",
                "1 to 1,000,000 tickets",
            ))
            .into());
        }
        let record = self.drawing(drawing).await?;
        let points = record.ticket_cost.checked_mul(quantity).ok_or(DrawingError::InsufficientPoints)?;
        let today = competition_day(self.clock.now()).to_string();
        let entering = Entering {
            user,
            method: EntryMethod::Purchase,
            quantity,
            entry: format!("P#{key}"),
            points,
            recorded_by: None,
            today: &today,
        };
        self.enter(&record, entering).await
    }

    /// Today's free entry (no purchase necessary): the drawing's free-entry tickets, once per
    /// person per competition day while entries are open.
    ///
    /// # Errors
    /// As [`Self::buy`], and [`DrawingError::FreeEntryUsedToday`].
    pub async fn free_entry(&self, user: UserId, drawing: &DrawingId) -> Result<EntryReceipt, DrawingError> {
        let record = self.drawing(drawing).await?;
        let today = competition_day(self.clock.now()).to_string();
        let entering = Entering {
            user,
            method: EntryMethod::FreeEntry,
            quantity: record.free_entry_tickets,
            entry: format!("F#{today}"),
            points: 0,
            recorded_by: None,
            today: &today,
        };
        self.enter(&record, entering).await
    }

    /// Records a mail-in entry for a registered user: the free-entry tickets, once per person per
    /// postmark day, under the same eligibility and maximum as every entry.
    ///
    /// # Errors
    /// As [`Self::free_entry`], [`DrawingError::UnknownUser`], [`DrawingError::MailInAlreadyRecorded`].
    pub async fn record_mail_in(
        &self,
        admin: &Actor,
        drawing: &DrawingId,
        request: MailInRequest,
    ) -> Result<EntryReceipt, DrawingError> {
        let user: UserId = request.user_id.parse().map_err(|_| DrawingError::UnknownUser)?;
        let postmarked = chrono::NaiveDate::parse_from_str(&request.postmarked_on, "%Y-%m-%d").map_err(|_| {
            fittrack_domain::ValidationErrors::single(fittrack_domain::FieldError::new(
                "postmarked_on",
                "invalid_date",
                "a date as YYYY-MM-DD",
            ))
        })?;
        let record = self.drawing(drawing).await?;
        let today = competition_day(self.clock.now());
        let opened = record.opens_at.and_then(|t| DateTime::<Utc>::from_timestamp(t, 0)).map(competition_day);
        if postmarked > today || opened.is_some_and(|o| postmarked < o) {
            return Err(fittrack_domain::ValidationErrors::single(fittrack_domain::FieldError::new(
                "postmarked_on",
                "outside_entry_period",
                "the postmark must fall within the entry period",
            ))
            .into());
        }
        let today = today.to_string();
        let entering = Entering {
            user,
            method: EntryMethod::MailIn,
            quantity: record.free_entry_tickets,
            entry: format!("M#{postmarked}"),
            points: 0,
            recorded_by: Some(admin),
            today: &today,
        };
        self.enter(&record, entering).await
    }

    async fn enter(&self, drawing: &DrawingRecord, entering: Entering<'_>) -> Result<EntryReceipt, DrawingError> {
        let user = entering.user;
        let entry_key = keys::entry_key(&drawing.id, user, &entering.entry);
        if let Some(done) = self.store.load_record_at::<EntryRecord>(&entry_key).await? {
            return self.replay(drawing, &entering, done);
        }
        self.check_open(drawing)?;
        let account = match (self.account(user).await?, entering.recorded_by) {
            (Some(account), _) => account,
            (None, Some(_)) => return Err(DrawingError::UnknownUser),
            (None, None) => {
                let missing = Ineligibility { code: "account_missing", message: "no account to enter with".into() };
                return Err(DrawingError::NotEligible(vec![missing]));
            }
        };
        let under_review = self.ledger.balance(user).await?.holds > 0;
        let reasons = self.ineligibility(drawing, &account, under_review);
        if !reasons.is_empty() {
            return Err(DrawingError::NotEligible(reasons));
        }
        let entrant_key = keys::entrant_key(&drawing.id, user);
        let entrant_id = self.entrant_id(&drawing.id, user).to_string();
        for attempt in 1..=MAX_ATTEMPTS {
            // A retry of this very request may have landed since: it answers what that one did.
            if attempt > 1
                && let Some(done) = self.store.load_record_at::<EntryRecord>(&entry_key).await?
            {
                return self.replay(drawing, &entering, done);
            }
            let held: Option<EntrantRecord> = self.store.load_record_at(&entrant_key).await?;
            if held.as_ref().is_some_and(|h| h.void) {
                let restricted = Ineligibility { code: "account_restricted", message: "your account is closed".into() };
                return Err(DrawingError::NotEligible(vec![restricted]));
            }
            let tickets = held.as_ref().map_or(0, |h| h.tickets);
            if tickets + entering.quantity > drawing.max_tickets_per_person {
                return self
                    .refuse(
                        drawing,
                        &entering,
                        &entry_key,
                        DrawingError::TicketLimitReached { max: drawing.max_tickets_per_person, held: tickets },
                    )
                    .await;
            }
            if entering.method == EntryMethod::FreeEntry
                && held.as_ref().and_then(|h| h.free_day.as_deref()) == Some(entering.today)
            {
                return Err(DrawingError::FreeEntryUsedToday);
            }
            let mut ops = Vec::with_capacity(6);
            let mut balance_after = 0;
            let mut ledger_seq = None;
            if entering.points > 0 {
                let read = self.ledger.balance(user).await?;
                let amount = i64::try_from(entering.points).map_err(|_| DrawingError::InsufficientPoints)?;
                let cause = format!("drawing:{}:{}", drawing.id, entering.entry);
                ops = match self.ledger.spend_ops(user, &read, amount, cause) {
                    Ok(ops) => ops,
                    Err(e) => return self.refuse(drawing, &entering, &entry_key, e.into()).await,
                };
                balance_after = read.balance - amount;
                ledger_seq = Some(read.seq + 1);
            } else if let Ok(read) = self.ledger.balance(user).await {
                balance_after = read.balance;
            }
            let spend_ops = ops.len();
            let counter = match entering.method {
                EntryMethod::Purchase => EntrantRecord::BOUGHT,
                EntryMethod::FreeEntry => EntrantRecord::FREE,
                EntryMethod::MailIn => EntrantRecord::MAIL_IN,
            };
            let quantity = i64::try_from(entering.quantity).unwrap_or(i64::MAX);
            let mut totals = Update::new()
                .add(EntrantRecord::TICKETS, quantity)
                .add(counter, quantity)
                .set(EntrantRecord::USER_ID, user.to_string())
                .set(EntrantRecord::ENTRANT, entrant_id.clone());
            if entering.method == EntryMethod::FreeEntry {
                totals = totals.set(EntrantRecord::FREE_DAY, entering.today);
            }
            let as_read = match &held {
                Some(h) => Condition::equals(EntrantRecord::TICKETS, h.tickets),
                None => Condition::missing(EntrantRecord::TICKETS),
            };
            ops.push(WriteOp::Update {
                table: Table::Tickets,
                key: entrant_key.clone(),
                update: totals,
                condition: Some(as_read),
            });
            let gate =
                Update::new().add(GateRecord::TICKETS, quantity).add(GateRecord::ENTRANTS, i64::from(held.is_none()));
            ops.push(WriteOp::Update {
                table: Table::Tickets,
                key: keys::gate_key(&drawing.id, keys::shard_of(user)),
                update: gate,
                condition: Some(Condition::equals(GateRecord::OPEN, true)),
            });
            let now = self.now();
            let record = EntryRecord {
                pk: entry_key.pk.clone(),
                sk: entry_key.sk.clone(),
                user_id: user,
                name: entering.entry.clone(),
                method: entering.method,
                quantity: entering.quantity,
                points: entering.points,
                ledger_seq,
                balance_after,
                tickets_after: tickets + entering.quantity,
                created_at: now,
                refunded: false,
                refund_seq: None,
                recorded_by: entering.recorded_by.map(|a| a.admin_id),
            };
            ops.push(WriteOp::Put {
                table: Table::Tickets,
                item: to_item(&record)?,
                condition: Some(Condition::NotExists),
            });
            if let Some(admin) = entering.recorded_by {
                let change = Change::new(ActionKind::MailInEntryRecorded, TargetKind::Drawing, drawing.id.to_string())
                    .about(user)
                    .from_to(
                        serde_json::json!({ "tickets": tickets }),
                        serde_json::json!({ "tickets": record.tickets_after, "entry": record.name }),
                    );
                ops.extend(admin.entry(change, self.clock.now()).ops()?);
            }
            let (gate_at, entry_at) = (spend_ops + 1, spend_ops + 2);
            match self.store.transact(ops).await {
                Ok(()) => {
                    if entering.recorded_by.is_none()
                        && let Err(error) =
                            fittrack_analytics::active::record_active(self.store.as_ref(), user, self.clock.now()).await
                    {
                        tracing::warn!(%error, "active user not counted");
                    }
                    return Ok(receipt(&drawing.id, &record));
                }
                Err(StoreError::TransactionCancelled { failed }) if failed.contains(&gate_at) => {
                    return Err(DrawingError::Closed);
                }
                Err(StoreError::TransactionCancelled { failed }) if failed.contains(&entry_at) => {
                    let done = self.store.load_record_at::<EntryRecord>(&entry_key).await?.ok_or(DrawingError::Busy)?;
                    return self.replay(drawing, &entering, done);
                }
                Err(StoreError::TransactionCancelled { .. } | StoreError::Contention) => backoff(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DrawingError::Busy)
    }

    /// `refusal`, unless a twin of this request (same key) landed meanwhile: then its answer.
    async fn refuse(
        &self,
        drawing: &DrawingRecord,
        entering: &Entering<'_>,
        entry_key: &fittrack_platform::ports::Key,
        refusal: DrawingError,
    ) -> Result<EntryReceipt, DrawingError> {
        match self.store.load_record_at::<EntryRecord>(entry_key).await? {
            Some(done) => self.replay(drawing, entering, done),
            None => Err(refusal),
        }
    }

    /// The answer to an entry that already happened.
    fn replay(
        &self,
        drawing: &DrawingRecord,
        entering: &Entering<'_>,
        done: EntryRecord,
    ) -> Result<EntryReceipt, DrawingError> {
        match entering.method {
            EntryMethod::FreeEntry => Err(DrawingError::FreeEntryUsedToday),
            EntryMethod::MailIn => Err(DrawingError::MailInAlreadyRecorded),
            EntryMethod::Purchase if done.method == EntryMethod::Purchase && done.quantity == entering.quantity => {
                Ok(receipt(&drawing.id, &done))
            }
            EntryMethod::Purchase => Err(DrawingError::IdempotencyKeyReused),
        }
    }

    fn check_open(&self, drawing: &DrawingRecord) -> Result<(), DrawingError> {
        let now = self.now();
        match drawing.status {
            DrawingStatus::Draft | DrawingStatus::Scheduled => Err(DrawingError::NotOpen),
            DrawingStatus::Open if now >= drawing.closes_at => Err(DrawingError::Closed),
            DrawingStatus::Open => Ok(()),
            DrawingStatus::Closed | DrawingStatus::Completed | DrawingStatus::Cancelled => Err(DrawingError::Closed),
        }
    }

    pub(crate) async fn account(&self, user: UserId) -> Result<Option<AccountRecord>, DrawingError> {
        Ok(fittrack_users::records::load::<AccountRecord>(self.store.as_ref(), &account_key(user)).await?)
    }

    /// Why `account` may not enter `drawing` (empty: it may).
    pub(crate) fn ineligibility(
        &self,
        drawing: &DrawingRecord,
        account: &AccountRecord,
        under_review: bool,
    ) -> Vec<Ineligibility> {
        let facts = EntrantFacts {
            state: account.state,
            role: account.role,
            email_verified: account.email_verified,
            account_created_at: DateTime::from_timestamp(account.created_at, 0).unwrap_or_default(),
            under_review,
            status: account.status,
        };
        drawing.entry_rules.check(&facts, &self.excluded_states(drawing), self.clock.now())
    }

    /// The states `drawing` is closed to: fixed when it was scheduled, computed for a draft.
    pub(crate) fn excluded_states(&self, drawing: &DrawingRecord) -> Vec<fittrack_domain::UsState> {
        if drawing.status == DrawingStatus::Draft { self.exclusions(drawing) } else { drawing.excluded_states.clone() }
    }

    /// The caller's eligibility for `drawing`, with what they hold; `caller` is their account and
    /// whether it is under review, read once per request ([`Self::caller`]).
    ///
    /// # Errors
    /// [`DrawingError::Store`].
    pub async fn eligibility(
        &self,
        user: UserId,
        caller: &Caller,
        drawing: &DrawingRecord,
    ) -> Result<EligibilityView, DrawingError> {
        let mut reasons = match &caller.account {
            Some(account) => self.ineligibility(drawing, account, caller.under_review),
            None => vec![Ineligibility { code: "account_missing", message: "no account to enter with".into() }],
        };
        if let Err(closed) = self.check_open(drawing) {
            let code = if matches!(closed, DrawingError::NotOpen) { "drawing_not_open" } else { "drawing_closed" };
            reasons.push(Ineligibility { code, message: closed.to_string() });
        }
        let held: Option<EntrantRecord> = self.store.load_record_at(&keys::entrant_key(&drawing.id, user)).await?;
        let tickets_held = held.as_ref().map_or(0, |h| h.tickets);
        let today = competition_day(self.clock.now()).to_string();
        let tickets_left = drawing.max_tickets_per_person.saturating_sub(tickets_held);
        Ok(EligibilityView {
            eligible: reasons.is_empty(),
            free_entry_available: reasons.is_empty()
                && tickets_left >= drawing.free_entry_tickets
                && held.as_ref().and_then(|h| h.free_day.as_deref()) != Some(today.as_str()),
            reasons,
            tickets_held,
            tickets_left,
        })
    }

    /// What eligibility needs to know about the caller, read once for a page of drawings.
    ///
    /// # Errors
    /// [`DrawingError::Store`].
    pub async fn caller(&self, user: UserId) -> Result<Caller, DrawingError> {
        let account = self.account(user).await?;
        let under_review = self.ledger.balance(user).await?.holds > 0;
        Ok(Caller { account, under_review })
    }

    /// The caller's tickets in `drawing`, how they were obtained, and after close their ticket
    /// numbers and entrant id.
    ///
    /// # Errors
    /// [`DrawingError::NotFound`]; [`DrawingError::Store`].
    pub async fn my_tickets(&self, user: UserId, drawing: &DrawingId) -> Result<MyTickets, DrawingError> {
        let record = self.visible_drawing(drawing, false).await?;
        let held: Option<EntrantRecord> = self.store.load_record_at(&keys::entrant_key(drawing, user)).await?;
        let mut entries = Vec::new();
        let mut cursor = None;
        loop {
            let query = Query::partition(Table::Tickets, keys::entries_partition(drawing, keys::shard_of(user)))
                .sort_prefix(keys::entries_prefix(user))
                .after(cursor);
            let page = self.store.query(query).await?;
            for item in page.items {
                let entry: EntryRecord = from_item(item)?;
                entries.push(EntryView {
                    method: entry.method,
                    quantity: entry.quantity,
                    points: entry.points,
                    created_at: DateTime::from_timestamp(entry.created_at, 0).unwrap_or_default(),
                    refunded: entry.refunded,
                });
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        entries.sort_by_key(|e| e.created_at);
        let closed = record.snapshot.is_some() && held.as_ref().is_some_and(|h| h.tickets > 0);
        let (entrant_id, ticket_range) = if closed {
            let entrant = self.entrant_id(drawing, user);
            let range = self.range_of(drawing, &entrant).await?;
            (Some(entrant.to_string()), range.map(|(first, count)| TicketRangeView { first, count }))
        } else {
            (None, None)
        };
        let count = |field: fn(&EntrantRecord) -> u64| held.as_ref().map_or(0, field);
        Ok(MyTickets {
            drawing_id: drawing.to_string(),
            status: record.status,
            tickets: count(|h| h.tickets),
            bought: count(|h| h.bought),
            free: count(|h| h.free),
            mail_in: count(|h| h.mail_in),
            entries,
            entrant_id,
            ticket_range,
        })
    }
}

/// The caller as eligibility sees them.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: Option<AccountRecord>,
    pub under_review: bool,
}

fn receipt(drawing: &DrawingId, record: &EntryRecord) -> EntryReceipt {
    EntryReceipt {
        drawing_id: drawing.to_string(),
        method: record.method,
        quantity: record.quantity,
        points_spent: record.points,
        balance_after: record.balance_after,
        tickets_held: record.tickets_after,
        created_at: DateTime::from_timestamp(record.created_at, 0).unwrap_or_default(),
    }
}
