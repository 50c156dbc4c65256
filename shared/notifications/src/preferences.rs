//! Per-category email choices, and the one-click unsubscribe link (RFC 8058) every optional
//! email carries.
//!
//! The link names the user and the category and carries a keyed MAC of both (the PII key's
//! lookup hash, purpose `unsubscribe`), so it works without signing in, for that user and that
//! category only, and cannot be forged for anyone else. It never expires: an old email's link
//! must still work. It only ever turns emails off.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use fittrack_domain::UserId;
use fittrack_platform::keys::user_partition;
use fittrack_platform::ports::{Key, Table, Update};

use crate::records::EmailCategory;
use crate::{NotificationError, Notifications};

/// Which optional emails the user gets (all of them unless turned off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EmailPreferences {
    /// A won prize shipped or delivered.
    pub prize_updates: bool,
    /// Points added or taken by an admin.
    pub points_updates: bool,
}

impl Default for EmailPreferences {
    fn default() -> Self {
        Self { prize_updates: true, points_updates: true }
    }
}

impl EmailPreferences {
    pub fn wants(&self, category: EmailCategory) -> bool {
        match category {
            EmailCategory::Essential => true,
            EmailCategory::PrizeUpdates => self.prize_updates,
            EmailCategory::PointsUpdates => self.points_updates,
        }
    }
}

/// A partial change: the fields left out keep their value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesChange {
    pub prize_updates: Option<bool>,
    pub points_updates: Option<bool>,
}

fn preferences_key(user: UserId) -> Key {
    Key::new(user_partition(user), "NOTEPREFS")
}

impl Notifications {
    /// `user`'s email choices.
    ///
    /// # Errors
    /// [`NotificationError::Store`].
    pub async fn preferences(&self, user: UserId) -> Result<EmailPreferences, NotificationError> {
        let item = self.store.get(Table::Users, &preferences_key(user)).await?;
        let flag = |name: &str| item.as_ref().and_then(|i| i.get(name)).and_then(serde_json::Value::as_bool);
        let defaults = EmailPreferences::default();
        Ok(EmailPreferences {
            prize_updates: flag("prize_updates").unwrap_or(defaults.prize_updates),
            points_updates: flag("points_updates").unwrap_or(defaults.points_updates),
        })
    }

    /// Whether `user` wants the emails of `category` (what a change asks before it creates a
    /// notification with an email).
    ///
    /// # Errors
    /// [`NotificationError::Store`].
    pub async fn wants_email(&self, user: UserId, category: EmailCategory) -> Result<bool, NotificationError> {
        if category == EmailCategory::Essential {
            return Ok(true);
        }
        Ok(self.preferences(user).await?.wants(category))
    }

    /// Changes `user`'s email choices; returns them all.
    ///
    /// # Errors
    /// [`NotificationError::Store`].
    pub async fn set_preferences(
        &self,
        user: UserId,
        change: PreferencesChange,
    ) -> Result<EmailPreferences, NotificationError> {
        let mut update = Update::new();
        if let Some(on) = change.prize_updates {
            update = update.set("prize_updates", on);
        }
        if let Some(on) = change.points_updates {
            update = update.set("points_updates", on);
        }
        if update != Update::new() {
            self.store.update(Table::Users, &preferences_key(user), update, None).await?;
        }
        self.preferences(user).await
    }

    /// The token of `user`'s unsubscribe link for `category`.
    pub fn unsubscribe_token(&self, user: UserId, category: EmailCategory) -> String {
        let mac = self.pii.lookup_hash("unsubscribe", &format!("{user}:{}", category.as_str()));
        format!("{user}.{}.{mac}", category.as_str())
    }

    /// The one-click link for `category` of `user` (the `List-Unsubscribe` header's target).
    pub fn unsubscribe_url(&self, user: UserId, category: EmailCategory) -> String {
        format!("{}/api/v1/email/unsubscribe?token={}", self.api_url, self.unsubscribe_token(user, category))
    }

    /// Turns off the category the token names, for the user it names; returns them.
    ///
    /// # Errors
    /// [`NotificationError::InvalidUnsubscribeLink`] for a token that is malformed, names an essential
    /// category, or whose MAC does not match (another user's id in it, say); store failures.
    pub async fn unsubscribe(&self, token: &str) -> Result<(UserId, EmailCategory), NotificationError> {
        let (user, category) = self.check_token(token)?;
        let change = match category {
            EmailCategory::PrizeUpdates => PreferencesChange { prize_updates: Some(false), ..Default::default() },
            EmailCategory::PointsUpdates => PreferencesChange { points_updates: Some(false), ..Default::default() },
            EmailCategory::Essential => return Err(NotificationError::InvalidUnsubscribeLink),
        };
        self.set_preferences(user, change).await?;
        tracing::info!(user_id = %user, category = category.as_str(), "unsubscribed by link");
        Ok((user, category))
    }

    /// The user and category of a genuine token.
    ///
    /// # Errors
    /// [`NotificationError::InvalidUnsubscribeLink`].
    pub fn check_token(&self, token: &str) -> Result<(UserId, EmailCategory), NotificationError> {
        let invalid = || NotificationError::InvalidUnsubscribeLink;
        let mut parts = token.splitn(3, '.');
        let (Some(user), Some(category), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid());
        };
        let user: UserId = user.parse().map_err(|_| invalid())?;
        let category = EmailCategory::parse(category).filter(|c| *c != EmailCategory::Essential).ok_or_else(invalid)?;
        let expected = self.unsubscribe_token(user, category);
        let genuine: bool = expected.as_bytes().ct_eq(token.as_bytes()).into();
        if !genuine || mac.is_empty() {
            return Err(invalid());
        }
        Ok((user, category))
    }
}
