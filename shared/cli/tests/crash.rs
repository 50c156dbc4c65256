//! `kill -9` in the middle of traffic loses nothing: the real `fittrack serve` binary takes 20
//! sign-ups while its mail cannot be written (the outbox folder replaced by a file, so every
//! verification email is still queued), is killed, is started again on the same data directory
//! with the outbox back, and every verification email arrives.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn serve(data_dir: &Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fittrack"))
        .args(["serve"])
        .env("FITTRACK_DATA_DIR", data_dir)
        .env("FITTRACK_ADDR", format!("127.0.0.1:{port}"))
        .env("FITTRACK_TRUST_FORWARDED_FOR", "true")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start fittrack serve")
}

async fn until_live(http: &reqwest::Client, base: &str) {
    for _ in 0..600 {
        if http.get(format!("{base}/health/live")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fittrack serve did not come up");
}

/// The distinct recipients of the emails in the outbox (delivery is at least once).
fn recipients(outbox: &Path) -> std::collections::BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(outbox) else { return Default::default() };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|text| text.lines().find_map(|l| l.strip_prefix("To: ").map(str::to_owned)))
        .collect()
}

#[tokio::test]
async fn a_killed_server_loses_no_queued_email() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut server = serve(dir.path(), port);
    until_live(&http, &base).await;
    let outbox = dir.path().join("outbox");
    if outbox.is_dir() {
        std::fs::remove_dir_all(&outbox).unwrap();
    }
    std::fs::write(&outbox, "not a folder").unwrap();

    const SIGN_UPS: usize = 20;
    let sign_ups = (0..SIGN_UPS).map(|n| {
        let body = serde_json::json!({"email": format!("crash-{n}@example.com"), "password": "correct horse battery staple",
            "display_name": "Crash Test", "date_of_birth": "1990-04-12", "state": "CA"});
        let (http, url) = (http.clone(), format!("{base}/api/v1/auth/register"));
        async move {
            http.post(url).header("x-forwarded-for", format!("10.9.{}.{}", n / 200, n % 200 + 1)).json(&body).send().await.unwrap().status()
        }
    });
    let statuses = futures_util::future::join_all(sign_ups).await;
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(statuses.iter().all(|s| s.as_u16() == 201), "{statuses:?}");
    std::fs::remove_file(&outbox).unwrap();

    let mut server = serve(dir.path(), port);
    until_live(&http, &base).await;
    // Messages the killed worker had received come back once their 30 s visibility ends.
    let mut delivered = Default::default();
    for _ in 0..600 {
        delivered = recipients(&outbox);
        if delivered.len() >= SIGN_UPS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let expected: std::collections::BTreeSet<String> =
        (0..SIGN_UPS).map(|n| format!("crash-{n}@example.com")).collect();
    assert_eq!(delivered, expected, "every verification email arrives after the kill");
}
