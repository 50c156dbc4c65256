//! Admin use cases: sponsors, drawings and their prizes, scheduling and cancelling.

use chrono::{DateTime, Duration, Utc};

use fittrack_audit::{ActionKind, Actor, Change, TargetKind, write_with_entry};
use fittrack_domain::drawing::{DrawingStatus, EntryRules, registration_exclusions};
use fittrack_domain::{FieldError, UsState, ValidationErrors};
use fittrack_platform::ports::{Condition, Cursor, Index, Query, StoreError, Table, WriteOp, from_item, to_item};
use fittrack_platform::records::RecordStore;
use serde_json::{Value, json};

use crate::records::{DrawingId, DrawingRecord, DueRecord, Prize, SponsorRecord, SponsorStatus};
use crate::views::{DrawingInput, PrizeInput, SponsorInput, SponsorView};
use crate::{DrawingError, DrawingService, keys, rules};

/// At most this many places (prize units): the draw writes each place (with its status-index
/// item) and its alternate in the transaction that completes the drawing (≤ 100 writes).
pub const MAX_PLACES: u32 = 30;
/// The most tickets anyone may hold in one drawing, and buy at once.
pub const MAX_TICKETS: u64 = 1_000_000;

impl DrawingService {
    /// Adds a sponsor.
    ///
    /// # Errors
    /// [`DrawingError::Invalid`] for a bad field; [`DrawingError::Store`].
    pub async fn create_sponsor(&self, actor: &Actor, input: SponsorInput) -> Result<SponsorView, DrawingError> {
        validate_sponsor(&input)?;
        let now = self.now();
        let id = uuid::Uuid::now_v7().simple().to_string();
        let record = SponsorRecord {
            pk: keys::sponsor_key(&id).pk,
            sk: keys::META.into(),
            gsi1pk: keys::SPONSORS_INDEX.into(),
            gsi1sk: format!("{}#{id}", input.name.trim().to_lowercase()),
            id,
            name: input.name.trim().to_owned(),
            address: input.address.trim().to_owned(),
            contact_email: input.contact_email.trim().to_owned(),
            website: input.website,
            logo_url: input.logo_url,
            status: input.status.unwrap_or(SponsorStatus::Active),
            created_at: now,
            updated_at: now,
        };
        let change = Change::new(ActionKind::SponsorCreated, TargetKind::Sponsor, &record.id)
            .from_to(Value::Null, sponsor_audit(&record));
        let put =
            WriteOp::Put { table: Table::Tickets, item: to_item(&record)?, condition: Some(Condition::NotExists) };
        write_with_entry(self.store.as_ref(), vec![put], &actor.entry(change, self.clock.now())).await?;
        Ok(sponsor_view(record))
    }

    /// Replaces a sponsor's fields.
    ///
    /// # Errors
    /// [`DrawingError::NotFound`]; [`DrawingError::Invalid`]; [`DrawingError::Store`].
    pub async fn update_sponsor(
        &self,
        actor: &Actor,
        id: &str,
        input: SponsorInput,
    ) -> Result<SponsorView, DrawingError> {
        validate_sponsor(&input)?;
        let read = self.sponsor(id).await?.ok_or(DrawingError::NotFound)?;
        let mut record = read.clone();
        record.name = input.name.trim().to_owned();
        record.gsi1sk = format!("{}#{}", record.name.to_lowercase(), record.id);
        record.address = input.address.trim().to_owned();
        record.contact_email = input.contact_email.trim().to_owned();
        record.website = input.website;
        record.logo_url = input.logo_url;
        record.status = input.status.unwrap_or(record.status);
        record.updated_at = self.now();
        let change = Change::new(ActionKind::SponsorUpdated, TargetKind::Sponsor, &record.id)
            .from_to(sponsor_audit(&read), sponsor_audit(&record));
        let put = WriteOp::Put {
            table: Table::Tickets,
            item: to_item(&record)?,
            condition: Some(Condition::equals("updated_at", read.updated_at)),
        };
        match write_with_entry(self.store.as_ref(), vec![put], &actor.entry(change, self.clock.now())).await {
            Ok(()) => Ok(sponsor_view(record)),
            Err(StoreError::ConditionFailed) => Err(DrawingError::Busy),
            Err(e) => Err(e.into()),
        }
    }

    /// Sponsors by name, a page at a time.
    ///
    /// # Errors
    /// [`DrawingError::Store`] (an invalid cursor among them).
    pub async fn sponsors(
        &self,
        limit: u32,
        cursor: Option<Cursor>,
    ) -> Result<(Vec<SponsorView>, Option<Cursor>), DrawingError> {
        let page = self
            .store
            .query(
                Query::partition(Table::Tickets, keys::SPONSORS_INDEX).on_index(Index::Gsi1).limit(limit).after(cursor),
            )
            .await?;
        let sponsors = page.items.into_iter().map(from_item::<SponsorRecord>).collect::<Result<Vec<_>, _>>()?;
        Ok((sponsors.into_iter().map(sponsor_view).collect(), page.next))
    }

    pub(crate) async fn sponsor(&self, id: &str) -> Result<Option<SponsorRecord>, DrawingError> {
        if id.is_empty() || id.len() > 64 {
            return Ok(None);
        }
        Ok(self.store.load_record(&keys::sponsor_key(id)).await?)
    }

    /// Creates a draft drawing.
    ///
    /// # Errors
    /// [`DrawingError::Invalid`] for bad settings or an unknown sponsor; [`DrawingError::Store`].
    pub async fn create_drawing(&self, actor: &Actor, input: DrawingInput) -> Result<DrawingRecord, DrawingError> {
        let now = self.now();
        let id = DrawingId::generate();
        let mut record = DrawingRecord {
            pk: keys::drawing_partition(&id),
            sk: keys::META.into(),
            gsi1pk: keys::status_index(DrawingStatus::Draft),
            gsi1sk: String::new(),
            id,
            drawing_type: input.drawing_type,
            title: String::new(),
            description: String::new(),
            sponsor_id: String::new(),
            ticket_cost: 0,
            opens_at: None,
            closes_at: 0,
            draw_at: 0,
            entry_rules: EntryRules::default(),
            registered_states: Vec::new(),
            max_tickets_per_person: 0,
            free_entry_tickets: 0,
            prizes: Vec::new(),
            status: DrawingStatus::Draft,
            version: 1,
            created_at: now,
            updated_at: now,
            excluded_states: Vec::new(),
            snapshot: None,
            beacon: None,
            beacon_secret: None,
            reveal: None,
            due_at: None,
            closed_at: None,
            completed_at: None,
            cancelled_at: None,
            refunds_done: false,
            winners_notified: false,
        };
        self.apply_input(&mut record, input).await?;
        let change = Change::new(ActionKind::DrawingCreated, TargetKind::Drawing, record.id.to_string())
            .from_to(Value::Null, drawing_audit(&record));
        let put =
            WriteOp::Put { table: Table::Tickets, item: to_item(&record)?, condition: Some(Condition::NotExists) };
        let mut ops = vec![put];
        ops.extend(fittrack_analytics::counters::drawing_ops(None, figures(&record)));
        write_with_entry(self.store.as_ref(), ops, &actor.entry(change, self.clock.now())).await?;
        Ok(record)
    }

    /// Replaces a draft drawing's settings (prizes included).
    ///
    /// # Errors
    /// [`DrawingError::NotFound`]; [`DrawingError::NotEditable`] past draft; [`DrawingError::Invalid`];
    /// [`DrawingError::Busy`] when another change landed first; [`DrawingError::Store`].
    pub async fn update_drawing(
        &self,
        actor: &Actor,
        id: &DrawingId,
        input: DrawingInput,
    ) -> Result<DrawingRecord, DrawingError> {
        let read = self.drawing(id).await?;
        if read.status != DrawingStatus::Draft {
            return Err(DrawingError::NotEditable(read.status));
        }
        let mut next = read.clone();
        next.drawing_type = input.drawing_type;
        self.apply_input(&mut next, input).await?;
        self.save_draft(actor, ActionKind::DrawingUpdated, &read, next).await
    }

    /// Adds a prize to a draft drawing (it takes the next places).
    ///
    /// # Errors
    /// As [`Self::update_drawing`].
    pub async fn add_prize(
        &self,
        actor: &Actor,
        id: &DrawingId,
        input: PrizeInput,
    ) -> Result<DrawingRecord, DrawingError> {
        let read = self.drawing(id).await?;
        if read.status != DrawingStatus::Draft {
            return Err(DrawingError::NotEditable(read.status));
        }
        let mut next = read.clone();
        let prize = self.prize_from(input, &mut ValidationErrors::default(), 0).await?;
        next.prizes.push(prize);
        check_places(&next.prizes)?;
        self.save_draft(actor, ActionKind::PrizeAdded, &read, next).await
    }

    /// Replaces one prize of a draft drawing.
    ///
    /// # Errors
    /// As [`Self::update_drawing`]; [`DrawingError::NotFound`] for an unknown prize.
    pub async fn update_prize(
        &self,
        actor: &Actor,
        id: &DrawingId,
        prize_id: &str,
        input: PrizeInput,
    ) -> Result<DrawingRecord, DrawingError> {
        let read = self.drawing(id).await?;
        if read.status != DrawingStatus::Draft {
            return Err(DrawingError::NotEditable(read.status));
        }
        let mut next = read.clone();
        let index = next.prizes.iter().position(|p| p.id == prize_id).ok_or(DrawingError::NotFound)?;
        let mut prize = self.prize_from(input, &mut ValidationErrors::default(), index).await?;
        prize.id = prize_id.to_owned();
        next.prizes[index] = prize;
        check_places(&next.prizes)?;
        self.save_draft(actor, ActionKind::PrizeUpdated, &read, next).await
    }

    /// Removes one prize of a draft drawing.
    ///
    /// # Errors
    /// As [`Self::update_prize`].
    pub async fn remove_prize(
        &self,
        actor: &Actor,
        id: &DrawingId,
        prize_id: &str,
    ) -> Result<DrawingRecord, DrawingError> {
        let read = self.drawing(id).await?;
        if read.status != DrawingStatus::Draft {
            return Err(DrawingError::NotEditable(read.status));
        }
        let mut next = read.clone();
        let before = next.prizes.len();
        next.prizes.retain(|p| p.id != prize_id);
        if next.prizes.len() == before {
            return Err(DrawingError::NotFound);
        }
        self.save_draft(actor, ActionKind::PrizeRemoved, &read, next).await
    }

    /// Schedules a draft: it needs a prize, an active sponsor with an address (the official rules
    /// print it), and entries that close in the future. Fixes the excluded states and the
    /// official rules, and queues the opening.
    ///
    /// # Errors
    /// [`DrawingError::InvalidTransition`] with the reasons; [`DrawingError::NotFound`];
    /// [`DrawingError::Busy`] when another change landed first; [`DrawingError::Store`].
    pub async fn schedule(&self, actor: &Actor, id: &DrawingId) -> Result<DrawingRecord, DrawingError> {
        let read = self.drawing(id).await?;
        let refuse = |reasons: Vec<String>| DrawingError::InvalidTransition {
            from: read.status,
            to: DrawingStatus::Scheduled,
            reasons,
        };
        if !read.status.can_become(DrawingStatus::Scheduled) {
            return Err(refuse(Vec::new()));
        }
        let now = self.now();
        let mut reasons = Vec::new();
        if read.prizes.is_empty() {
            reasons.push("it has no prize".to_owned());
        }
        if read.draw_at <= now || read.closes_at <= now {
            reasons.push("its entries must close and its drawing take place in the future".to_owned());
        }
        let sponsor = self.sponsor(&read.sponsor_id).await?;
        match &sponsor {
            Some(s) if s.status == SponsorStatus::Active && !s.address.is_empty() => {}
            _ => reasons.push("its sponsor must exist, be active and have an address for the rules".to_owned()),
        }
        if !reasons.is_empty() {
            return Err(refuse(reasons));
        }
        let mut next = read.clone();
        next.status = DrawingStatus::Scheduled;
        next.excluded_states = self.exclusions(&read);
        // Entries open at the time set, or now; never in the past (the rules print it).
        let opens_at = next.opens_at.unwrap_or(now).max(now);
        next.opens_at = Some(opens_at);
        let sponsor = sponsor.ok_or(DrawingError::NotFound)?;
        let rules = rules::render(&self.rules_facts(&next, &sponsor))?;
        let mut rules_item = fittrack_platform::ports::Item::new();
        let key = keys::rules_key(id);
        rules_item.insert("pk".into(), key.pk.into());
        rules_item.insert("sk".into(), key.sk.into());
        rules_item.insert("html".into(), rules.html.into());
        rules_item.insert("text".into(), rules.text.into());
        let change = Change::new(ActionKind::DrawingScheduled, TargetKind::Drawing, id.to_string())
            .from_to(drawing_audit(&read), drawing_audit(&next));
        let mut extra = vec![WriteOp::Put { table: Table::Tickets, item: rules_item, condition: None }];
        extra.extend(actor.entry(change, self.clock.now()).ops()?);
        if self.transition(&read, next.clone(), Some(opens_at), extra).await? {
            return self.drawing(id).await;
        }
        Err(DrawingError::Busy)
    }

    /// Every state the drawing is closed to: the operator's registration exclusions, the
    /// drawing's own, and the value guard's (unless registered there), sorted.
    pub(crate) fn exclusions(&self, drawing: &DrawingRecord) -> Vec<UsState> {
        let mut all: Vec<UsState> = self.settings.operator_excluded_states.clone();
        all.extend(drawing.entry_rules.excluded_states.iter().copied());
        all.extend(registration_exclusions(drawing.total_arv_cents(), &drawing.registered_states));
        all.sort_by(|a, b| a.code().cmp(b.code()));
        all.dedup();
        all
    }

    /// Stores a draft's new settings if nobody changed it since `read`.
    async fn save_draft(
        &self,
        actor: &Actor,
        action: ActionKind,
        read: &DrawingRecord,
        mut next: DrawingRecord,
    ) -> Result<DrawingRecord, DrawingError> {
        next.version = read.version + 1;
        next.updated_at = self.now();
        next.gsi1sk = format!("{:010}#{}", next.draw_at.max(0), next.id);
        let condition = Condition::And(vec![
            Condition::equals(DrawingRecord::VERSION, read.version),
            Condition::equals(DrawingRecord::STATUS, DrawingStatus::Draft.as_str()),
        ]);
        let change = Change::new(action, TargetKind::Drawing, next.id.to_string())
            .from_to(drawing_audit(read), drawing_audit(&next));
        let put = WriteOp::Put { table: Table::Tickets, item: to_item(&next)?, condition: Some(condition) };
        let mut ops = vec![put];
        ops.extend(fittrack_analytics::counters::drawing_ops(Some(figures(read)), figures(&next)));
        match write_with_entry(self.store.as_ref(), ops, &actor.entry(change, self.clock.now())).await {
            Ok(()) => Ok(next),
            Err(StoreError::ConditionFailed) => Err(DrawingError::Busy),
            Err(e) => Err(e.into()),
        }
    }

    /// Moves `read` to `next` (status, fields) if nobody changed it since, with the scheduler's
    /// marker moved to `due` and `extra` writes, all in one transaction. `false` when another
    /// writer got there first: read again and decide again.
    pub(crate) async fn transition(
        &self,
        read: &DrawingRecord,
        mut next: DrawingRecord,
        due: Option<i64>,
        mut extra: Vec<WriteOp>,
    ) -> Result<bool, DrawingError> {
        next.version = read.version + 1;
        next.updated_at = self.now();
        next.gsi1pk = keys::status_index(next.status);
        next.gsi1sk = format!("{:010}#{}", next.draw_at.max(0), next.id);
        next.due_at = due;
        debug_assert!(read.status == next.status || read.status.can_become(next.status), "an illegal transition");
        let table = Table::Tickets;
        let mut ops = vec![WriteOp::Put {
            table,
            item: to_item(&next)?,
            condition: Some(Condition::equals(DrawingRecord::VERSION, read.version)),
        }];
        ops.extend(fittrack_analytics::counters::drawing_ops(Some(figures(read)), figures(&next)));
        if read.due_at != due {
            if let Some(at) = read.due_at {
                ops.push(WriteOp::Delete { table, key: keys::due_key(at, &read.id), condition: None });
            }
            if let Some(at) = due {
                let key = keys::due_key(at, &read.id);
                let marker = DueRecord { pk: key.pk, sk: key.sk, drawing_id: read.id.clone(), at };
                ops.push(WriteOp::Put { table, item: to_item(&marker)?, condition: None });
            }
        }
        ops.append(&mut extra);
        match self.store.transact(ops).await {
            Ok(()) => Ok(true),
            // The drawing changed since `read` (operation 0 is its version check): decide again.
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => Ok(false),
            Err(StoreError::Contention) => Ok(false),
            Err(StoreError::TransactionCancelled { failed }) => {
                tracing::error!(drawing = %read.id, ?failed, "a drawing's writes found items they did not expect");
                Err(DrawingError::Corrupt(format!("drawing {}: unexpected items at {failed:?}", read.id)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Fills `record` from `input`, checking every field.
    async fn apply_input(&self, record: &mut DrawingRecord, input: DrawingInput) -> Result<(), DrawingError> {
        let mut errors = ValidationErrors::default();
        let title = input.title.trim();
        if title.is_empty() || title.chars().count() > 120 {
            errors.0.push(FieldError::new("title", "invalid_length", "1 to 120 characters"));
        }
        if input.description.chars().count() > 4000 {
            errors.0.push(FieldError::new("description", "too_long", "at most 4000 characters"));
        }
        if !(1..=1_000_000).contains(&input.ticket_cost) {
            errors.0.push(FieldError::new("ticket_cost", "out_of_range", "1 to 1,000,000 points"));
        }
        if !(1..=MAX_TICKETS).contains(&input.max_tickets_per_person) {
            errors.0.push(FieldError::new("max_tickets_per_person", "out_of_range", "1 to 1,000,000"));
        }
        if input.free_entry_tickets == 0 || input.free_entry_tickets > input.max_tickets_per_person {
            errors.0.push(FieldError::new(
                "free_entry_tickets",
                "out_of_range",
                "at least 1 and at most the per-person maximum",
            ));
        }
        let draw_at = input.draw_at.timestamp();
        let closes_at = input.closes_at.unwrap_or(input.draw_at - Duration::minutes(5)).timestamp();
        // A minute at least, so the randomness that decides the drawing is still in the future
        // when the scheduler closes it.
        if closes_at > draw_at - 60 {
            errors.0.push(FieldError::new(
                "closes_at",
                "too_close_to_drawing",
                "entries must close at least a minute before the drawing time",
            ));
        }
        if input.min_account_age_days > 3650 {
            errors.0.push(FieldError::new("min_account_age_days", "out_of_range", "0 to 3650 days"));
        }
        if let Some(opens_at) = input.opens_at.map(|t| t.timestamp())
            && opens_at >= closes_at
        {
            errors.0.push(FieldError::new("opens_at", "after_close", "entries must open before they close"));
        }
        let states = |field: &'static str, codes: &[String], errors: &mut ValidationErrors| -> Vec<UsState> {
            codes
                .iter()
                .filter_map(|c| {
                    UsState::parse(c)
                        .map_err(|_| {
                            errors.0.push(FieldError::new(field, "invalid_state", format!("`{c}` is not a state")))
                        })
                        .ok()
                })
                .collect()
        };
        let excluded = states("excluded_states", &input.excluded_states, &mut errors);
        let registered = states("registered_states", &input.registered_states, &mut errors);
        match self.sponsor(&input.sponsor_id).await? {
            Some(s) if s.status == SponsorStatus::Active => {}
            Some(_) => errors.0.push(FieldError::new("sponsor_id", "sponsor_inactive", "the sponsor is inactive")),
            None => errors.0.push(FieldError::new("sponsor_id", "unknown_sponsor", "no sponsor has this id")),
        }
        let mut prizes = Vec::with_capacity(input.prizes.len());
        for (index, prize) in input.prizes.into_iter().enumerate() {
            match self.prize_from(prize, &mut errors, index).await {
                Ok(prize) => prizes.push(prize),
                Err(DrawingError::Invalid(_)) => {}
                Err(other) => return Err(other),
            }
        }
        if let Err(DrawingError::Invalid(mut more)) = check_places(&prizes) {
            errors.0.append(&mut more.0);
        }
        errors.into_result()?;
        record.title = title.to_owned();
        record.description = input.description.trim().to_owned();
        record.sponsor_id = input.sponsor_id;
        record.ticket_cost = input.ticket_cost;
        record.opens_at = input.opens_at.map(|t| t.timestamp());
        record.closes_at = closes_at;
        record.draw_at = draw_at;
        record.entry_rules = EntryRules {
            min_account_age_days: input.min_account_age_days,
            premium_only: input.premium_only,
            excluded_states: excluded,
        };
        record.registered_states = registered;
        record.max_tickets_per_person = input.max_tickets_per_person;
        record.free_entry_tickets = input.free_entry_tickets;
        record.prizes = prizes;
        record.gsi1sk = format!("{:010}#{}", draw_at.max(0), record.id);
        Ok(())
    }

    /// A prize from its input; problems are added to `errors` (and returned when there are any).
    async fn prize_from(
        &self,
        input: PrizeInput,
        errors: &mut ValidationErrors,
        index: usize,
    ) -> Result<Prize, DrawingError> {
        let before = errors.0.len();
        let field = |name: &str| format!("prizes[{index}].{name}");
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            errors.0.push(FieldError::new(field("name"), "invalid_length", "1 to 120 characters"));
        }
        if input.description.chars().count() > 2000 {
            errors.0.push(FieldError::new(field("description"), "too_long", "at most 2000 characters"));
        }
        if input.arv_cents > 100_000_000 {
            errors.0.push(FieldError::new(field("arv_cents"), "out_of_range", "at most $1,000,000"));
        }
        if !(1..=MAX_PLACES).contains(&input.quantity) {
            errors.0.push(FieldError::new(field("quantity"), "out_of_range", format!("1 to {MAX_PLACES}")));
        }
        if let Some(url) = &input.image_url
            && let Err(mut e) = check_url(url)
        {
            e.field = field("image_url");
            errors.0.push(e);
        }
        if let Some(sponsor) = &input.sponsor_id
            && self.sponsor(sponsor).await?.is_none()
        {
            errors.0.push(FieldError::new(field("sponsor_id"), "unknown_sponsor", "no sponsor has this id"));
        }
        if errors.0.len() > before {
            return Err(DrawingError::Invalid(ValidationErrors(errors.0[before..].to_vec())));
        }
        Ok(Prize {
            id: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
            name: name.to_owned(),
            description: input.description.trim().to_owned(),
            arv_cents: input.arv_cents,
            quantity: input.quantity,
            sponsor_id: input.sponsor_id,
            image_url: input.image_url,
        })
    }

    /// The official rules' facts for `drawing` as it is now.
    pub(crate) fn rules_facts(&self, drawing: &DrawingRecord, sponsor: &SponsorRecord) -> rules::RulesFacts {
        let at = |t: i64| DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default();
        let api = &self.settings.api_url;
        rules::RulesFacts {
            drawing_id: drawing.id.to_string(),
            title: drawing.title.clone(),
            description: drawing.description.clone(),
            drawing_type: drawing.drawing_type,
            operator: self.settings.operator.clone(),
            sponsor_name: sponsor.name.clone(),
            sponsor_address: sponsor.address.clone(),
            sponsor_website: sponsor.website.clone(),
            opens_at: at(drawing.opens_at.unwrap_or(drawing.created_at)),
            closes_at: at(drawing.closes_at),
            draw_at: at(drawing.draw_at),
            ticket_cost_points: drawing.ticket_cost,
            max_tickets_per_person: drawing.max_tickets_per_person,
            free_entry_tickets: drawing.free_entry_tickets,
            mail_in_address: self.settings.mail_in_address.clone(),
            min_account_age_days: drawing.entry_rules.min_account_age_days,
            premium_only: drawing.entry_rules.premium_only,
            excluded_states: drawing.excluded_states.clone(),
            prizes: drawing
                .prizes
                .iter()
                .map(|p| rules::PrizeFacts {
                    name: p.name.clone(),
                    description: p.description.clone(),
                    arv_cents: p.arv_cents,
                    quantity: p.quantity,
                })
                .collect(),
            tax_threshold_cents: self.settings.tax_threshold_cents,
            claim_days: self.settings.claim_days,
            verification_url: format!("{api}/api/v1/drawings/verification-protocol"),
            results_url: format!("{api}/api/v1/drawings/{}/results", drawing.id),
            commitment_url: format!("{api}/api/v1/drawings/{}/commitment", drawing.id),
        }
    }
}

fn check_places(prizes: &[Prize]) -> Result<(), DrawingError> {
    let places: u32 = prizes.iter().map(|p| p.quantity).sum();
    if places > MAX_PLACES {
        return Err(ValidationErrors::single(FieldError::new(
            "prizes",
            "too_many_places",
            format!("a drawing has at most {MAX_PLACES} prize units in all"),
        ))
        .into());
    }
    Ok(())
}

fn check_url(url: &str) -> Result<(), FieldError> {
    if url.len() > 500 || !url.starts_with("https://") || url.chars().any(char::is_whitespace) {
        return Err(FieldError::new("url", "invalid_url", "an https:// URL of at most 500 characters"));
    }
    Ok(())
}

fn validate_sponsor(input: &SponsorInput) -> Result<(), DrawingError> {
    let mut errors = ValidationErrors::default();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        errors.0.push(FieldError::new("name", "invalid_length", "1 to 120 characters"));
    }
    let address = input.address.trim();
    if address.is_empty() || address.chars().count() > 500 {
        errors.0.push(FieldError::new("address", "invalid_length", "1 to 500 characters"));
    }
    errors.collect(fittrack_domain::EmailAddress::parse(&input.contact_email).map(|_| ()).map_err(|mut e| {
        e.field = "contact_email".into();
        e
    }));
    for (field, url) in [("website", &input.website), ("logo_url", &input.logo_url)] {
        if let Some(url) = url
            && let Err(mut e) = check_url(url)
        {
            e.field = field.into();
            errors.0.push(e);
        }
    }
    Ok(errors.into_result()?)
}

pub(crate) fn sponsor_view(record: SponsorRecord) -> SponsorView {
    let at = |t: i64| DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default();
    SponsorView {
        id: record.id,
        name: record.name,
        address: record.address,
        contact_email: record.contact_email,
        website: record.website,
        logo_url: record.logo_url,
        status: record.status,
        created_at: at(record.created_at),
        updated_at: at(record.updated_at),
    }
}

/// What the action log keeps of a sponsor (business details, no personal data).
fn sponsor_audit(sponsor: &SponsorRecord) -> Value {
    json!({ "name": sponsor.name, "status": sponsor.status, "address": sponsor.address, "website": sponsor.website })
}

/// What the action log keeps of a drawing: the settings that decide who wins what.
pub(crate) fn drawing_audit(drawing: &DrawingRecord) -> Value {
    let prizes: Vec<Value> = drawing
        .prizes
        .iter()
        .map(|p| json!({ "id": p.id, "name": p.name, "arv_cents": p.arv_cents, "quantity": p.quantity }))
        .collect();
    json!({
        "status": drawing.status.as_str(), "type": drawing.drawing_type.as_str(), "title": drawing.title,
        "description": drawing.description, "sponsor_id": drawing.sponsor_id, "ticket_cost": drawing.ticket_cost,
        "opens_at": drawing.opens_at, "closes_at": drawing.closes_at, "draw_at": drawing.draw_at,
        "max_tickets_per_person": drawing.max_tickets_per_person, "free_entry_tickets": drawing.free_entry_tickets,
        "entry_rules": drawing.entry_rules, "registered_states": drawing.registered_states, "prizes": prizes,
    })
}

/// What the analytics count of a drawing.
fn figures(drawing: &DrawingRecord) -> fittrack_analytics::counters::DrawingFigures {
    fittrack_analytics::counters::DrawingFigures {
        kind: drawing.drawing_type,
        status: drawing.status,
        entrants: drawing.snapshot.as_ref().map_or(0, |s| s.entrants),
        tickets: drawing.snapshot.as_ref().map_or(0, |s| s.tickets),
    }
}
