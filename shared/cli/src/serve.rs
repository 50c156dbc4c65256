//! `fittrack serve`: every function's routes in one axum server, the workers on in-process
//! queues, on the embedded store (or DynamoDB), with a `.eml` outbox.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use fittrack_accounts::AccountService;
use fittrack_accounts::build::{BuildOptions, account_service};
use fittrack_drawings::DrawingService;
use fittrack_email::EmailDelivery;
use fittrack_http::{LocalState, app};
use fittrack_leaderboards::{LeaderboardService, LeaderboardWorker};
use fittrack_local::{OutboxMailer, SqliteQueue, SqliteStore};
use fittrack_platform::Config;
use fittrack_platform::config::TrackerConfig;
use fittrack_platform::messages::{BoardUpdate, EmailJob, SyncJob};
use fittrack_platform::ports::{ItemStore, Mailer, Queue, RandomnessBeacon, Table};
use fittrack_points::OutboxRelay;
use fittrack_sync::SyncService;
use fittrack_users::TierSchedule;

use crate::workers::{run_consumer, run_schedule};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// SQLite in the data directory.
    Embedded,
    /// DynamoDB from the standard AWS environment (`AWS_ENDPOINT_URL` honoured).
    DynamoDb { create_tables: bool },
}

#[derive(Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub store: StoreChoice,
    /// How long a failed queue message stays invisible before it is retried.
    pub visibility_timeout: Duration,
    /// How often the scheduler looks for connections due (the EventBridge rate on AWS).
    pub sync_tick: Duration,
    /// How often the outbox relay publishes point events (the points table's stream on AWS).
    pub relay_tick: Duration,
    /// How often the birthday job looks for tiers to move on (daily on AWS; it is idempotent).
    pub tier_tick: Duration,
    /// How often the leaderboards sweep for events a dead writer left staged (every minute on AWS).
    pub leaderboard_sweep_tick: Duration,
    /// How often the drawings scheduler looks for steps due (every minute on AWS).
    pub drawings_tick: Duration,
    /// The randomness beacon; the configured one (`FITTRACK_BEACON`) when unset. Tests put a fake
    /// drand here.
    pub beacon: Option<Arc<dyn RandomnessBeacon>>,
    /// Wraps the served router: the tests check every answer against the API document this way.
    pub wrap_router: Option<RouterWrapper>,
}

/// A function from the served router to the router actually served.
#[derive(Clone)]
pub struct RouterWrapper(pub Arc<dyn Fn(axum::Router) -> axum::Router + Send + Sync>);

impl std::fmt::Debug for RouterWrapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouterWrapper")
    }
}

impl ServeOptions {
    /// Production-like timings: retries after 30 s, the scheduler looking every minute (how often
    /// each connection syncs is configuration: `FITTRACK_SYNC_INTERVAL_SECS`).
    pub fn new(addr: SocketAddr, data_dir: PathBuf, store: StoreChoice) -> Self {
        Self {
            addr,
            data_dir,
            store,
            visibility_timeout: Duration::from_secs(30),
            sync_tick: Duration::from_secs(60),
            relay_tick: Duration::from_secs(1),
            tier_tick: Duration::from_secs(3600),
            leaderboard_sweep_tick: Duration::from_secs(15),
            drawings_tick: Duration::from_secs(15),
            beacon: None,
            wrap_router: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("store: {0}")]
    Store(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

pub struct RunningServer {
    pub addr: SocketAddr,
    pub outbox: PathBuf,
    pub accounts: AccountService,
    pub sync: SyncService,
    pub tiers: TierSchedule,
    pub drawings: DrawingService,
    pub queue: Arc<SqliteQueue>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting requests, lets in-flight ones and the workers finish.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }

    /// Waits until the server stops by itself (it does not, unless it fails).
    pub async fn wait(mut self) {
        if let Some(server) = self.tasks.pop() {
            let _ = server.await;
        }
        self.stop().await;
    }
}

/// Reads configuration from the environment, filling in the development keys of the data
/// directory where the environment has none.
pub fn local_config(data_dir: &std::path::Path) -> Result<Config, ServeError> {
    let keys = crate::local_keys::load_or_create(data_dir)?;
    Config::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()).or_else(|| keys.get(name).cloned()))
        .map_err(|e| ServeError::Config(e.to_string()))
}

pub async fn open_store(options: &ServeOptions, config: &Config) -> Result<Arc<dyn ItemStore>, ServeError> {
    match options.store {
        StoreChoice::Embedded => {
            std::fs::create_dir_all(&options.data_dir)?;
            let store = SqliteStore::open(&options.data_dir.join("fittrack.db"))
                .map_err(|e| ServeError::Store(e.to_string()))?;
            Ok(Arc::new(store))
        }
        StoreChoice::DynamoDb { create_tables } => {
            let sdk = fittrack_aws::load_sdk_config().await;
            let client = fittrack_aws::DynamoClient::new(&sdk);
            let names = HashMap::from([
                (Table::Users, config.users_table.clone()),
                (Table::Points, config.points_table.clone()),
                (Table::Tickets, config.tickets_table.clone()),
                (Table::Leaderboards, config.leaderboards_table.clone()),
                (Table::Audit, config.audit_table.clone()),
            ]);
            if create_tables {
                fittrack_aws::provisioning::create_tables(&client, &names)
                    .await
                    .map_err(|e| ServeError::Store(e.to_string()))?;
            }
            Ok(Arc::new(fittrack_aws::DynamoStore::new(client, names)))
        }
    }
}

/// Starts the server and its workers; returns once it is listening.
pub async fn start(options: ServeOptions, config: Config, build: BuildOptions) -> Result<RunningServer, ServeError> {
    let store = open_store(&options, &config).await?;
    std::fs::create_dir_all(&options.data_dir)?;
    // On disk, like the store: a killed server loses no queued email, sync job or point event.
    let queue = Arc::new(
        SqliteQueue::open(&options.data_dir.join("queue.db"), options.visibility_timeout, 5)
            .map_err(|e| ServeError::Store(e.to_string()))?,
    );
    let outbox = options.data_dir.join("outbox");
    let mailer: Arc<dyn Mailer> =
        Arc::new(OutboxMailer::new(&outbox, &config.email_from).map_err(|e| ServeError::Config(e.to_string()))?);
    let points = fittrack_points::engine(Arc::clone(&store), Arc::clone(&build.clock));
    // The simulated tracker is always on locally; Google Health and Strava join when configured.
    let tracker_config = TrackerConfig { simulated: true, ..config.trackers.clone() };
    let trackers = fittrack_trackers::configured(&tracker_config).map_err(|e| ServeError::Config(e.to_string()))?;
    let sync = fittrack_sync::build::sync_service(
        &config,
        Arc::clone(&store),
        Arc::clone(&queue) as Arc<dyn Queue>,
        points.clone(),
        trackers,
        Arc::clone(&build.clock),
    )
    .map_err(|e| ServeError::Config(e.to_string()))?;
    let tiers = TierSchedule::from_config(&config, Arc::clone(&store), Arc::clone(&build.clock))
        .map_err(|e| ServeError::Config(e.to_string()))?;
    let leaderboards_worker = LeaderboardWorker::new(Arc::clone(&store), Arc::clone(&build.clock));
    let leaderboards = LeaderboardService::from_config(&config, Arc::clone(&store), Arc::clone(&build.clock))
        .map_err(|e| ServeError::Config(e.to_string()))?;
    let beacon = match &options.beacon {
        Some(beacon) => Arc::clone(beacon),
        None => fittrack_beacons::from_config(&config.drawings.beacon, Arc::clone(&build.clock))
            .map_err(|e| ServeError::Config(e.to_string()))?,
    };
    let drawings = DrawingService::from_config(
        &config,
        Arc::clone(&store),
        Arc::clone(&build.clock),
        Arc::clone(&queue) as Arc<dyn Queue>,
        beacon,
    )
    .map_err(|e| ServeError::Config(e.to_string()))?;
    let pii = Arc::new(fittrack_accounts::pii_cipher(&config).map_err(|e| ServeError::Config(e.to_string()))?);
    let admin = fittrack_admin::AdminService::new(
        Arc::clone(&store),
        pii,
        Arc::clone(&build.clock),
        drawings.notifications().clone(),
    );
    let accounts = account_service(&config, Arc::clone(&store), Arc::clone(&queue) as Arc<dyn Queue>, build)
        .map_err(|e| ServeError::Config(e.to_string()))?;

    let (shutdown, shutdown_rx) = watch::channel(false);
    let shared_queue = Arc::clone(&queue) as Arc<dyn Queue>;
    let relay = OutboxRelay::new(Arc::clone(&store), Arc::clone(&shared_queue));
    let mut tasks = vec![
        tokio::spawn(run_consumer::<EmailJob, _>(
            Arc::clone(&shared_queue),
            Arc::new(EmailDelivery::new(mailer)),
            4,
            shutdown_rx.clone(),
        )),
        tokio::spawn(run_consumer::<SyncJob, _>(
            Arc::clone(&shared_queue),
            Arc::new(sync.worker().clone()),
            10,
            shutdown_rx.clone(),
        )),
        tokio::spawn(run_schedule(
            "sync fan-out",
            options.sync_tick,
            shutdown_rx.clone(),
            sync.clone(),
            |sync| async move { sync.fan_out().await },
        )),
        tokio::spawn(run_schedule(
            "outbox relay",
            options.relay_tick,
            shutdown_rx.clone(),
            relay,
            |relay| async move { relay.drain_all().await },
        )),
        tokio::spawn(run_consumer::<BoardUpdate, _>(
            Arc::clone(&shared_queue),
            Arc::new(leaderboards_worker.clone()),
            10,
            shutdown_rx.clone(),
        )),
        tokio::spawn(run_schedule(
            "leaderboards sweep",
            options.leaderboard_sweep_tick,
            shutdown_rx.clone(),
            leaderboards_worker,
            |worker| async move { worker.sweep().await },
        )),
        tokio::spawn(run_schedule(
            "drawings scheduler",
            options.drawings_tick,
            shutdown_rx.clone(),
            drawings.clone(),
            |drawings| async move { Ok::<_, std::convert::Infallible>(drawings.run_minute().await.steps()) },
        )),
        tokio::spawn(run_schedule(
            "tier birthdays",
            options.tier_tick,
            shutdown_rx.clone(),
            tiers.clone(),
            |tiers| async move { tiers.run().await },
        )),
    ];

    let listener = tokio::net::TcpListener::bind(options.addr).await?;
    let addr = listener.local_addr()?;
    let state = LocalState::new(&config, accounts.clone(), points, sync.clone(), leaderboards, drawings.clone(), admin);
    let router = match &options.wrap_router {
        Some(RouterWrapper(wrap)) => wrap(app(state)),
        None => app(state),
    };
    let mut server_shutdown = shutdown_rx;
    tasks.push(tokio::spawn(async move {
        let serve = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = server_shutdown.wait_for(|stop| *stop).await;
            });
        if let Err(error) = serve.await {
            tracing::error!(%error, "server failed");
        }
    }));
    Ok(RunningServer { addr, outbox, accounts, sync, tiers, drawings, queue, shutdown, tasks })
}
