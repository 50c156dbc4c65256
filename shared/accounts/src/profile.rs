//! Profiles and tiers: updating the competition profile recomputes the tier and keeps the
//! per-tier user counts in step, in one transaction (see [`fittrack_users::tiers`]).

use serde::{Deserialize, Serialize};

use fittrack_domain::points::competition_day;
use fittrack_domain::profile::{parse_fitness_level, parse_sex, parse_time_zone, parse_units};
use fittrack_domain::{DateOfBirth, DisplayName, FieldError, Tier, UserId, ValidationErrors};
use fittrack_platform::messages::{BoardUpdate, ProfileChanged};

use super::records::{AccountRecord, TIER_COUNTS_PARTITION, TierView, account_key, dob_context, load, tier_count_key};
use super::{Account, AccountError, AccountService};
use fittrack_platform::ports::{Condition, Query, StoreError, Table, Update};
use fittrack_users::tiers::{placement, retier_ops};

/// A profile change. With `replace` (PUT) every field but `date_of_birth` must be given; without
/// it (PATCH) only the given fields change.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ProfileUpdate {
    /// 2 to 50 characters.
    pub display_name: Option<String>,
    /// Only for accounts without one (set at registration otherwise, and then fixed).
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    /// `female` or `male` (for competition tiers); changes at most once every 30 days.
    #[schema(example = "female")]
    pub sex: Option<String>,
    /// `beginner`, `intermediate` or `advanced`; changes at most once every 30 days.
    #[schema(example = "intermediate")]
    pub fitness_level: Option<String>,
    /// An IANA time zone name.
    #[schema(example = "America/New_York")]
    pub time_zone: Option<String>,
    /// `imperial` or `metric`.
    #[schema(example = "metric")]
    pub units: Option<String>,
    /// Whether other users may see the display name and tier.
    pub public_profile: Option<bool>,
}

/// What other users may see of a user who made their profile public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PublicProfile {
    pub id: UserId,
    pub display_name: String,
    pub tier: Option<TierView>,
}

/// A competition tier and how many users it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TierSummary {
    pub code: String,
    /// For display, e.g. `Men 60+ · Advanced`.
    pub name: String,
    pub user_count: i64,
}

/// Concurrent updates of the same profile retry this often (with a growing pause) before
/// answering 503.
const MAX_ATTEMPTS: u64 = 8;

/// `sex` and `fitness_level` decide the competition tier: changing either (once set) is allowed
/// this often, so nobody hops between tiers to chase easier boards or prizes.
pub const TIER_FIELD_CHANGE_INTERVAL_DAYS: i64 = 30;

impl AccountService {
    /// Updates the competition profile and, with it, the tier. A change of `sex` or
    /// `fitness_level` once set is refused within `TIER_FIELD_CHANGE_INTERVAL_DAYS` of the
    /// last one, unless `caller_is_admin`.
    ///
    /// # Errors
    /// [`AccountError::Validation`] for bad or too-soon values; [`AccountError::NotFound`] for an
    /// unknown user; store failures (`StoreError::Contention` when concurrent updates keep winning).
    pub async fn update_profile(
        &self,
        user: UserId,
        update: ProfileUpdate,
        replace: bool,
        caller_is_admin: bool,
    ) -> Result<Account, AccountError> {
        for attempt in 1..=MAX_ATTEMPTS {
            let record: AccountRecord =
                load(self.store.as_ref(), &account_key(user)).await?.ok_or(AccountError::NotFound)?;
            match self.try_update_profile(record, &update, replace, caller_is_admin).await {
                Err(AccountError::Store(StoreError::TransactionCancelled { .. } | StoreError::Contention)) => {
                    tokio::time::sleep(std::time::Duration::from_millis(5 * attempt)).await;
                }
                other => return other,
            }
        }
        Err(StoreError::Contention.into())
    }

    async fn try_update_profile(
        &self,
        record: AccountRecord,
        update: &ProfileUpdate,
        replace: bool,
        caller_is_admin: bool,
    ) -> Result<Account, AccountError> {
        let today = self.now().date_naive();
        let mut errors = ValidationErrors::default();
        let mut required = |field: &'static str, present: bool| {
            if replace && !present {
                errors.0.push(FieldError::new(field, "required", "is required"));
            }
        };
        required("display_name", update.display_name.is_some());
        required("sex", update.sex.is_some());
        required("fitness_level", update.fitness_level.is_some());
        required("time_zone", update.time_zone.is_some());
        required("units", update.units.is_some());
        required("public_profile", update.public_profile.is_some());

        let mut settings = record.profile.clone();
        let mut set = Update::new();
        if let Some(name) = update.display_name.as_deref().and_then(|n| errors.collect(DisplayName::parse(n))) {
            set = set.set(AccountRecord::DISPLAY_NAME, name.as_str());
        }
        if let Some(sex) = update.sex.as_deref().and_then(|s| errors.collect(parse_sex(s))) {
            settings.sex = Some(sex);
        }
        if let Some(level) = update.fitness_level.as_deref().and_then(|l| errors.collect(parse_fitness_level(l))) {
            settings.fitness_level = Some(level);
        }
        if let Some(zone) = update.time_zone.as_deref().and_then(|z| errors.collect(parse_time_zone(z))) {
            settings.time_zone = Some(zone);
        }
        if let Some(units) = update.units.as_deref().and_then(|u| errors.collect(parse_units(u))) {
            settings.units = Some(units);
        }
        if let Some(public) = update.public_profile {
            settings.public_profile = Some(public);
        }
        let account = record.decrypt(&self.pii)?;
        let mut dob = account.date_of_birth;
        if let Some(raw) = update.date_of_birth.as_deref() {
            match (dob, errors.collect(DateOfBirth::parse(raw, today))) {
                (Some(existing), Some(new)) if existing != new.date() => {
                    errors.0.push(FieldError::new(
                        "date_of_birth",
                        "immutable",
                        "is set at registration and cannot change",
                    ));
                }
                (None, Some(new)) => {
                    if let Some(state) = record.state {
                        errors.collect(self.policy.eligibility.check_age(new, state, today));
                    }
                    set = set.set(
                        AccountRecord::DOB_ENC,
                        self.pii.encrypt(&new.date().to_string(), &dob_context(record.user_id)),
                    );
                    dob = Some(new.date());
                }
                _ => {}
            }
        }
        let tier_fields_changed = (record.profile.sex.is_some() && settings.sex != record.profile.sex)
            || (record.profile.fitness_level.is_some() && settings.fitness_level != record.profile.fitness_level);
        if tier_fields_changed {
            let now = super::epoch(self.now());
            let next_allowed =
                record.tier_fields_changed_at.map_or(0, |at| at + TIER_FIELD_CHANGE_INTERVAL_DAYS * 86_400);
            if now < next_allowed && !caller_is_admin {
                let field = if settings.sex != record.profile.sex { "sex" } else { "fitness_level" };
                let when = chrono::DateTime::from_timestamp(next_allowed, 0).map(|t| t.date_naive().to_string());
                errors.0.push(FieldError::new(
                    field,
                    "changed_recently",
                    format!(
                        "can change once every {TIER_FIELD_CHANGE_INTERVAL_DAYS} days; next on {}",
                        when.unwrap_or_default()
                    ),
                ));
            }
            set = set.set(AccountRecord::TIER_FIELDS_CHANGED_AT, now);
        }
        errors.into_result()?;

        let (tier, next_change) = placement(dob, settings.sex, settings.fitness_level, today);
        let new_code = tier.map(|t| t.code());
        set = set.set(
            AccountRecord::PROFILE,
            serde_json::to_value(&settings).map_err(|e| AccountError::Internal(e.to_string()))?,
        );
        let new_name = update.display_name.as_deref().map_or(record.display_name.as_str(), str::trim);
        let renames = fittrack_users::directory::rename_ops(record.user_id, &record.display_name, new_name);
        // The search index moves with the name: a rename racing this one retries.
        let same_name =
            (!renames.is_empty()).then(|| Condition::equals(AccountRecord::DISPLAY_NAME, record.display_name.as_str()));
        let mut ops = retier_ops(&self.pii, &record, set, same_name, tier, next_change, competition_day(self.now()))?;
        ops.extend(renames);
        self.store.transact(ops).await?;
        let shown = |public: Option<bool>, name: &str| public.unwrap_or(false).then(|| name.to_owned());
        if shown(record.profile.public_profile, &record.display_name) != shown(settings.public_profile, new_name) {
            // The boards rename the user's rows. Not sending it leaves the old name until their next
            // points, so a failure is logged, not returned.
            let changed = ProfileChanged { user_id: record.user_id, changed_at: super::epoch(self.now()) };
            if let Err(error) =
                fittrack_platform::messages::send(self.queue.as_ref(), &BoardUpdate::Profile(changed)).await
            {
                tracing::warn!(%error, "leaderboard rename not queued");
            }
        }
        if record.tier_code != new_code {
            tracing::info!(user_id = %record.user_id, tier = new_code.as_deref().unwrap_or("none"), "tier changed");
        }
        self.account(record.user_id).await
    }

    /// Feature routes call this: 403 `profile_incomplete` until the profile can place the user in a tier.
    ///
    /// # Errors
    /// [`AccountError::ProfileIncomplete`]; store failures.
    pub async fn require_complete_profile(&self, user: UserId) -> Result<Account, AccountError> {
        self.auth.require_complete_profile(user).await
    }

    /// Display name and tier of a user who made their profile public; others are not found.
    ///
    /// # Errors
    /// [`AccountError::NotFound`] for an unknown user or a profile that is not public; store failures.
    pub async fn public_profile(&self, user: UserId) -> Result<PublicProfile, AccountError> {
        let account = self.account(user).await?;
        if !account.profile.public_profile {
            return Err(AccountError::NotFound);
        }
        Ok(PublicProfile { id: account.id, display_name: account.display_name, tier: account.tier })
    }

    /// All 30 tiers with their user counts (one query).
    ///
    /// # Errors
    /// [`AccountError::Store`] when the counts cannot be read.
    pub async fn tiers(&self) -> Result<Vec<TierSummary>, AccountError> {
        let page = self.store.query(Query::partition(Table::Users, TIER_COUNTS_PARTITION).limit(100)).await?;
        let counts: std::collections::HashMap<String, i64> = page
            .items
            .into_iter()
            .filter_map(|item| Some((item.get("sk")?.as_str()?.to_owned(), item.get("count")?.as_i64()?)))
            .collect();
        Ok(Tier::all()
            .into_iter()
            .map(|t| TierSummary {
                user_count: counts.get(&t.code()).copied().unwrap_or(0).max(0),
                code: t.code(),
                name: t.display_name(),
            })
            .collect())
    }

    /// One tier, by its code, with its user count.
    ///
    /// # Errors
    /// [`AccountError::NotFound`] for a code that names no tier; store failures.
    pub async fn tier(&self, code: &str) -> Result<TierSummary, AccountError> {
        let tier: Tier = code.parse().map_err(|_| AccountError::NotFound)?;
        let count = self.store.get(Table::Users, &tier_count_key(&tier.code())).await?;
        let user_count = count.and_then(|c| c.get("count").and_then(|v| v.as_i64())).unwrap_or(0).max(0);
        Ok(TierSummary { code: tier.code(), name: tier.display_name(), user_count })
    }
}
