//! Connecting and disconnecting trackers: at once for trackers without an authorization flow, in
//! two steps for OAuth trackers (the authorization URL, then the provider's redirect back), and
//! the user's own "sync now".

use secrecy::ExposeSecret;
use serde::Serialize;

use fittrack_domain::UserId;

use fittrack_platform::keys::user_partition;
use fittrack_platform::messages::SyncJob;
use fittrack_platform::ports::{Condition, Query, StoreError, Table, TrackerError, from_item, to_item};

use crate::authorization::{self, AuthorizingParty};
use crate::records::{
    CONNECTION_PREFIX, Connection, ConnectionItem, ConnectionStatus, ProviderUserItem, connection_key,
    provider_user_key,
};
use crate::{SyncError, SyncService, tokens};

/// What "initiate" gives back, told apart by `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ConnectStart {
    /// A tracker with no authorization step (the simulated one) is connected at once.
    Connected { connection: Connection },
    /// Send the user here; the provider redirects back to the callback.
    AuthorizationRequired {
        /// The provider's authorization page, to open in the user's browser.
        authorization_url: String,
        /// Seconds the authorization may take before it must be started again.
        expires_in: i64,
        /// For the initiating browser only (an HttpOnly cookie), never in a body: the callback
        /// must present it (see [`AuthorizingParty`]).
        #[serde(skip)]
        browser_binding: String,
    },
}

impl SyncService {
    /// "Connect": trackers without an authorization flow connect at once (and connecting again
    /// changes nothing); OAuth trackers answer with the provider's authorization URL.
    ///
    /// # Errors
    /// [`SyncError::UnknownProvider`]; store failures storing the pending authorization; for a tracker
    /// without a flow, those of [`SyncService::connect`].
    pub async fn start(&self, user: UserId, provider: &str) -> Result<ConnectStart, SyncError> {
        let tracker = self.worker.provider(provider)?;
        let Some(flow) = tracker.oauth() else {
            return Ok(ConnectStart::Connected { connection: self.connect(user, provider).await? });
        };
        let request = flow.authorize(&self.redirect_uri(provider));
        let binding = fittrack_platform::crypto::OpaqueToken::generate().secret;
        let pending = authorization::NewPending {
            user,
            provider,
            state: request.state.expose_secret(),
            pkce_verifier: request.pkce_verifier.expose_secret(),
            binding: &binding,
        };
        authorization::remember(self.worker.store.as_ref(), &self.worker.cipher, pending, self.worker.clock.now())
            .await?;
        Ok(ConnectStart::AuthorizationRequired {
            authorization_url: request.url,
            expires_in: authorization::PENDING_TTL.num_seconds(),
            browser_binding: binding,
        })
    }

    /// Connects a tracker that needs no authorization flow (the simulated one); it is due at once.
    ///
    /// # Errors
    /// [`SyncError::UnknownProvider`]; [`SyncError::WrongFlow`] for a tracker with an OAuth flow;
    /// [`SyncError::Store`] for store failures.
    pub async fn connect(&self, user: UserId, provider: &str) -> Result<Connection, SyncError> {
        if self.worker.provider(provider)?.oauth().is_some() {
            return Err(SyncError::WrongFlow);
        }
        let now = self.worker.clock.now();
        let connection = Connection {
            provider: provider.to_owned(),
            status: ConnectionStatus::Active,
            connected_at: now,
            last_synced_to: None,
            last_error: None,
        };
        let item = to_item(&self.worker.item(user, connection.clone(), None, now))?;
        match self.worker.store.put(Table::Users, item, Some(Condition::NotExists)).await {
            Ok(()) => {
                tracing::info!(user_id = %user, provider, "tracker connected");
                Ok(connection)
            }
            // Already connected: connecting again changes nothing.
            Err(StoreError::ConditionFailed) => self.connection(user, provider).await,
            Err(e) => Err(e.into()),
        }
    }

    /// The provider's redirect back: exchanges the code (with the PKCE verifier kept for this
    /// `state`) and stores the grant sealed. Reconnecting replaces the old grant and keeps the
    /// sync history.
    ///
    /// # Errors
    /// [`SyncError::InvalidState`] for an unknown, used or expired `state`;
    /// [`SyncError::AuthorizationNotBound`] when `party` did not start it (nothing changes);
    /// [`SyncError::TrackerAccountInUse`] when the provider's account is linked to another of our
    /// accounts (both are flagged for review; nothing is linked); [`SyncError::UnknownProvider`];
    /// [`SyncError::WrongFlow`] for a tracker without an authorization flow; tracker and store failures.
    pub async fn complete_authorization(
        &self,
        provider: &str,
        state: &str,
        code: &str,
        party: &AuthorizingParty,
    ) -> Result<(UserId, Connection), SyncError> {
        let flow = self.worker.provider(provider)?.oauth().ok_or(SyncError::WrongFlow)?;
        let now = self.worker.clock.now();
        let pending =
            match authorization::take(self.worker.store.as_ref(), &self.worker.cipher, provider, state, party, now)
                .await?
            {
                Ok(pending) => pending,
                Err(authorization::Refusal::Invalid) => return Err(SyncError::InvalidState),
                Err(authorization::Refusal::NotBound) => {
                    tracing::warn!(provider, "OAuth callback from a party that did not start the authorization");
                    return Err(SyncError::AuthorizationNotBound);
                }
            };
        let user = pending.user_id;
        let tokens = flow.exchange_code(code, &pending.pkce_verifier, &self.redirect_uri(provider)).await?;
        // A refused grant is dropped, not revoked: providers revoke per user and application
        // (Strava's deauthorize, Google's grant), which would also cut the first account's link.
        if let Some(id) = &tokens.provider_user_id {
            self.link_tracker_account(user, provider, id).await?;
        }
        let previous = self.connection(user, provider).await.ok();
        let connection = Connection {
            provider: provider.to_owned(),
            status: ConnectionStatus::Active,
            connected_at: previous.as_ref().map_or(now, |c| c.connected_at),
            last_synced_to: previous.and_then(|c| c.last_synced_to),
            last_error: None,
        };
        let sealed = tokens::seal(&self.worker.cipher, user, provider, &tokens);
        self.worker
            .store
            .put(Table::Users, to_item(&self.worker.item(user, connection.clone(), Some(sealed), now))?, None)
            .await?;
        tracing::info!(user_id = %user, provider, "tracker authorized");
        Ok((user, connection))
    }

    /// Links the provider's account to `user`, unless it is linked to another of our accounts:
    /// one tracker account feeds one FitTrack account at a time. A second link is refused and
    /// both accounts are flagged for review.
    async fn link_tracker_account(
        &self,
        user: UserId,
        provider: &str,
        provider_user_id: &str,
    ) -> Result<(), SyncError> {
        let key = provider_user_key(provider, provider_user_id);
        let index = ProviderUserItem { pk: key.pk.clone(), sk: key.sk.clone(), user_id: user };
        let free_or_ours = Condition::Or(vec![Condition::NotExists, Condition::equals("user_id", user.to_string())]);
        match self.worker.store.put(Table::Users, to_item(&index)?, Some(free_or_ours)).await {
            Ok(()) => Ok(()),
            Err(StoreError::ConditionFailed) => {
                let owner = match self.worker.store.get(Table::Users, &key).await? {
                    Some(item) => from_item::<ProviderUserItem>(item)?.user_id,
                    // Unlinked meanwhile: the caller may try again.
                    None => return Err(SyncError::TrackerAccountInUse),
                };
                tracing::warn!(user_id = %user, provider, "tracker account already linked to another account");
                let guard = format!("{provider}#{}", fittrack_platform::crypto::hash_token(provider_user_id));
                self.worker.engine.antigaming().flag_shared_tracker_account(&guard, &[user, owner]).await?;
                Err(SyncError::TrackerAccountInUse)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The user's connection to `provider`.
    ///
    /// # Errors
    /// [`SyncError::NotConnected`] when there is none; [`SyncError::Store`] when it cannot be read.
    pub async fn connection(&self, user: UserId, provider: &str) -> Result<Connection, SyncError> {
        Ok(self.worker.connection_item(user, provider).await?.ok_or(SyncError::NotConnected)?.connection)
    }

    /// The user's tracker connections (at most 50, one per tracker).
    ///
    /// # Errors
    /// [`SyncError::Store`] when they cannot be listed or one does not read.
    pub async fn connections(&self, user: UserId) -> Result<Vec<Connection>, SyncError> {
        Ok(connections_of(self.worker.store.as_ref(), user).await?)
    }

    /// Disconnects, revoking the grant at the provider first: if the provider cannot be reached
    /// the connection stays, so the user can try again rather than leave a live grant behind.
    ///
    /// # Errors
    /// [`SyncError::NotConnected`] when there is no connection; [`SyncError::Tracker`] when the provider
    /// cannot revoke the grant (the connection stays); [`SyncError::Store`] for store failures.
    pub async fn disconnect(&self, user: UserId, provider: &str) -> Result<(), SyncError> {
        let item = self.worker.connection_item(user, provider).await?.ok_or(SyncError::NotConnected)?;
        let sealed = item.tokens.as_deref().and_then(|s| tokens::open(&self.worker.cipher, user, provider, s));
        if let (Some(flow), Some(grant)) = (self.worker.providers.get(provider).and_then(|p| p.oauth()), &sealed) {
            match flow.revoke(grant).await {
                // Already revoked at the provider: nothing left to do there.
                Ok(()) | Err(TrackerError::Unauthorized) => {}
                Err(error) => return Err(error.into()),
            }
        }
        match self.worker.store.delete(Table::Users, &connection_key(user, provider), Some(Condition::Exists)).await {
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(id) = sealed.and_then(|g| g.provider_user_id) {
            // Only our own link: the tracker account may have moved on to another account since.
            let ours = Condition::equals("user_id", user.to_string());
            match self.worker.store.delete(Table::Users, &provider_user_key(provider, &id), Some(ours)).await {
                Ok(()) | Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        tracing::info!(user_id = %user, provider, "tracker disconnected");
        Ok(())
    }

    /// Enqueues a sync now (the user's "sync" button), at most `limit` times per window per user.
    ///
    /// # Errors
    /// [`SyncError::NotConnected`] when the user has no such connection; [`SyncError::RateLimited`] past the
    /// user's manual limit; [`SyncError::Store`] and [`SyncError::Queue`] for store and queue failures.
    pub async fn request_sync(&self, user: UserId, provider: &str) -> Result<(), SyncError> {
        self.connection(user, provider).await?;
        let action = fittrack_platform::config::RateLimitedAction::ManualSync;
        let decision = fittrack_platform::ratelimit::hit(
            self.worker.store.as_ref(),
            action,
            &user.to_string(),
            self.manual_limit,
            self.worker.clock.now(),
        )
        .await?;
        if !decision.allowed {
            return Err(SyncError::RateLimited(decision));
        }
        self.enqueue(&SyncJob { user_id: user, provider: provider.to_owned() }).await
    }
}

/// `user`'s tracker connections, without their tokens (what an admin's view of a user shows).
///
/// # Errors
/// The store's failures; [`StoreError::Corrupt`] for an item that does not read.
pub async fn connections_of(
    store: &dyn fittrack_platform::ports::ItemStore,
    user: UserId,
) -> Result<Vec<Connection>, fittrack_platform::ports::StoreError> {
    let page = store
        .query(Query::partition(Table::Users, user_partition(user)).sort_prefix(CONNECTION_PREFIX).limit(50))
        .await?;
    page.items.into_iter().map(|i| Ok(from_item::<ConnectionItem>(i)?.connection)).collect()
}
