//! `fittrack`: run the whole product locally, and administer it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

use fittrack_accounts::NewUser;
use fittrack_accounts::build::{BuildOptions, account_service};
use fittrack_cli::serve::{ServeOptions, StoreChoice, local_config, open_store};
use fittrack_domain::Role;
use fittrack_local::InProcessQueue;

#[derive(Parser)]
#[command(name = "fittrack", version, about = "FitTrack: fitness rewards. Run it locally, administer it.")]
struct Cli {
    /// Where the embedded store, development keys and email outbox live.
    #[arg(long, env = "FITTRACK_DATA_DIR", default_value = "./.fittrack", global = true)]
    data_dir: PathBuf,
    /// Which store to use.
    #[arg(long, value_enum, default_value = "embedded", global = true)]
    store: StoreKind,
    /// With `--store dynamodb`: create missing tables from template.yaml first.
    #[arg(long, global = true)]
    create_tables: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum StoreKind {
    Embedded,
    Dynamodb,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every API and run every worker in this process.
    Serve {
        #[arg(long, env = "FITTRACK_ADDR", default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
    },
    /// Administer users.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Generate production keys (JSON for the Secrets Manager secret the template reads).
    Keys,
    /// Recompute a drawing's winners from its published results and snapshot alone.
    VerifyDrawing {
        /// The API's base URL, e.g. https://api.fittrack.example (with --drawing).
        #[arg(long, requires = "drawing", conflicts_with_all = ["results", "snapshot"])]
        api: Option<String>,
        #[arg(long)]
        drawing: Option<String>,
        /// A saved results file (JSON of /results), with --snapshot.
        #[arg(long, requires = "snapshot")]
        results: Option<PathBuf>,
        #[arg(long)]
        snapshot: Option<PathBuf>,
        /// Also accept this drand chain (`<chain hash>:<public key>:<genesis>:<period>`; repeatable).
        /// drand quicknet is always accepted.
        #[arg(long = "trust-chain")]
        trust_chains: Vec<String>,
        /// Accept a commit-reveal draw (local and offline deployments): it proves the randomness
        /// was fixed at close, not that the operator did not know it.
        #[arg(long)]
        trust_operator: bool,
    },
    /// Operate the drawings.
    Drawings {
        #[command(subcommand)]
        command: DrawingsCommand,
    },
    /// Operate the leaderboards.
    Leaderboards {
        #[command(subcommand)]
        command: LeaderboardsCommand,
    },
}

#[derive(Subcommand)]
enum DrawingsCommand {
    /// Check that every debited point has its tickets and every ticket its debit or free entry.
    Reconcile { drawing: String },
}

#[derive(Subcommand)]
enum LeaderboardsCommand {
    /// Recompute the open boards from the points ledger (stops the workers' writes meanwhile).
    Rebuild {
        /// Only these periods (repeatable): daily, weekly, monthly, all_time. Default: all four.
        #[arg(long = "period")]
        periods: Vec<String>,
        /// Compare the boards with the ledger and report differences; change nothing.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a verified account, e.g. the first admin.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "user")]
        role: String,
        #[arg(long, default_value = "Administrator")]
        display_name: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    fittrack_platform::telemetry::init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let store = match cli.store {
        StoreKind::Embedded => StoreChoice::Embedded,
        StoreKind::Dynamodb => StoreChoice::DynamoDb { create_tables: cli.create_tables },
    };
    match cli.command {
        Command::Keys => {
            let keys = fittrack_cli::local_keys::generated();
            let public = fittrack_accounts::crypto::JwtKeys::from_pkcs8(&keys["FITTRACK_JWT_SIGNING_KEY"])
                .map_err(|e| e.to_string())?
                .public_key()
                .to_owned();
            // One secret per key, so each function's policy names only the keys it uses.
            let json = serde_json::json!({
                "jwt_key_secret": {"jwt_signing_key": keys["FITTRACK_JWT_SIGNING_KEY"]},
                "pii_key_secret": {"pii_key": keys["FITTRACK_PII_KEY"]},
                "tracker_key_secret": {"tracker_key": keys["FITTRACK_TRACKER_KEY"]},
                "jwt_public_key": public,
            });
            println!("{json:#}");
            Ok(())
        }
        Command::Serve { addr } => {
            let config = local_config(&cli.data_dir).map_err(|e| e.to_string())?;
            let options = ServeOptions::new(addr, cli.data_dir.clone(), store);
            let server =
                fittrack_cli::start(options, config, BuildOptions::default()).await.map_err(|e| e.to_string())?;
            eprintln!("FitTrack is listening on http://{}", server.addr);
            eprintln!("  data:   {}", cli.data_dir.display());
            eprintln!("  emails: {}", server.outbox.display());
            tokio::select! {
                () = shutdown_signal() => server.stop().await,
            }
            Ok(())
        }
        Command::VerifyDrawing { api, drawing, results, snapshot, trust_chains, trust_operator } => {
            use fittrack_cli::verify_drawing::{Trust, TrustedChain};
            let mut trust = Trust { commit_reveal: trust_operator, drawing: drawing.clone(), ..Trust::default() };
            for chain in &trust_chains {
                trust.drand_chains.push(TrustedChain::parse(chain)?);
            }
            let (results, snapshot) = match (api, drawing, results, snapshot) {
                (Some(api), Some(drawing), _, _) => fittrack_cli::verify_drawing::fetch(&api, &drawing).await?,
                (_, _, Some(results), Some(snapshot)) => (
                    std::fs::read(&results).map_err(|e| format!("{}: {e}", results.display()))?,
                    std::fs::read(&snapshot).map_err(|e| format!("{}: {e}", snapshot.display()))?,
                ),
                _ => return Err("give --api and --drawing, or --results and --snapshot".into()),
            };
            let outcome =
                fittrack_cli::verify_drawing::verify(&results, &snapshot, &trust).map_err(|e| e.to_string())?;
            println!("verified: the published results follow from the snapshot and the beacon");
            if String::from_utf8_lossy(&results).contains("\"source\":\"commit_reveal\"") {
                println!("(decided by commit-reveal: only as fair as the operator, who could know R at close)");
            }
            for (list, placements) in [("winner", &outcome.winners), ("alternate", &outcome.alternates)] {
                for p in placements {
                    println!("{list} {}: ticket {} entrant {}", p.place, p.ticket, p.entrant);
                }
            }
            Ok(())
        }
        Command::Drawings { command: DrawingsCommand::Reconcile { drawing } } => {
            let id = fittrack_drawings::DrawingId::parse(&drawing).ok_or("not a drawing id")?;
            let config = local_config(&cli.data_dir).map_err(|e| e.to_string())?;
            let options = ServeOptions::new(([127, 0, 0, 1], 0).into(), cli.data_dir, store);
            let store = open_store(&options, &config).await.map_err(|e| e.to_string())?;
            let clock: Arc<dyn fittrack_platform::clock::Clock> = Arc::new(fittrack_platform::clock::SystemClock);
            // Reconciling reads; it never draws or sends, so any beacon and a throwaway queue do.
            let beacon = Arc::new(fittrack_beacons::CommitRevealBeacon::new(Arc::clone(&clock)));
            let drawings = fittrack_drawings::DrawingService::from_config(
                &config,
                store,
                clock,
                Arc::new(InProcessQueue::default()),
                beacon,
            )
            .map_err(|e| e.to_string())?;
            let report = drawings.reconcile(&id).await.map_err(|e| e.to_string())?;
            println!(
                "drawing {} ({}): {} entrants, {} tickets, {} points debited, {} refunded",
                report.drawing_id,
                report.status,
                report.entrants,
                report.tickets,
                report.points_debited,
                report.points_refunded
            );
            for problem in &report.problems {
                println!("PROBLEM {problem}");
            }
            if report.is_clean() { Ok(()) } else { Err(format!("{} problems", report.problems.len())) }
        }
        Command::Leaderboards { command: LeaderboardsCommand::Rebuild { periods, check } } => {
            let periods = periods
                .iter()
                .map(|p| p.parse().map_err(|()| format!("unknown period `{p}`: daily, weekly, monthly or all_time")))
                .collect::<Result<Vec<_>, _>>()?;
            let config = local_config(&cli.data_dir).map_err(|e| e.to_string())?;
            let options = ServeOptions::new(([127, 0, 0, 1], 0).into(), cli.data_dir, store);
            let store = open_store(&options, &config).await.map_err(|e| e.to_string())?;
            let clock = Arc::new(fittrack_platform::clock::SystemClock);
            let report = fittrack_cli::leaderboards::rebuild(store, clock, &periods, check).await?;
            let verb = if check { "checked" } else { "rebuilt" };
            println!("{verb} {} boards, {} rows", report.boards, report.rows);
            for mismatch in &report.mismatches {
                println!("MISMATCH {mismatch}");
            }
            if report.mismatches.is_empty() { Ok(()) } else { Err(format!("{} mismatches", report.mismatches.len())) }
        }
        Command::Admin { command: AdminCommand::CreateUser { email, role, display_name, password_stdin } } => {
            let role: Role = role.parse().map_err(|e: fittrack_domain::FieldError| e.message)?;
            let password = if password_stdin {
                let mut input = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut input).map_err(|e| e.to_string())?;
                input.trim_end_matches(['\r', '\n']).to_owned()
            } else {
                // 256 random bits, base64url: far past any strength check.
                fittrack_accounts::crypto::OpaqueToken::generate().secret
            };
            let config = local_config(&cli.data_dir).map_err(|e| e.to_string())?;
            let options = ServeOptions::new(([127, 0, 0, 1], 0).into(), cli.data_dir, store);
            let store = open_store(&options, &config).await.map_err(|e| e.to_string())?;
            let accounts =
                account_service(&config, store, Arc::new(InProcessQueue::default()), BuildOptions::default())
                    .map_err(|e| e.to_string())?;
            let id = accounts
                .create_user(NewUser { email: email.clone(), password: password.clone(), display_name, role })
                .await
                .map_err(|e| match e {
                    fittrack_accounts::AccountError::Validation(errors) => {
                        errors.0.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
                    }
                    other => other.to_string(),
                })?;
            println!("created {} account {id} for {email}", role.as_str());
            if !password_stdin {
                println!("password (shown once): {password}");
            }
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
