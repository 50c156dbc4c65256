//! Prize drawings end to end over HTTP: an admin creates a sponsor and a drawing with prizes and
//! schedules it; people earn points, buy tickets (one retrying with the same key) and take free
//! entries; the scheduler opens, closes and draws; the published results verify with the
//! verifier alone, and every balance is what the rules give by hand. Then the verifier is shown
//! each published field tampered with, and refuses each. Also: fifty purchases of one person at once.

use std::time::{Duration, Instant};

use chrono::{DateTime, Days, Utc};
use serde_json::{Value, json};

use fittrack_cli::verify_drawing::{Trust, TrustedChain, verify};
use fittrack_domain::competition_day;
use fittrack_domain::points::day_bounds;
use fittrack_platform::clock::Clock;
use fittrack_tests::both_backends;
use fittrack_tests::server::{Backend, Settings, TestApp, spawn_app};

pub(crate) const COST: i64 = 10;

/// Earns 200 points: a 10,000-step walk yesterday (100 for the steps, 100 for the step goal).
pub(crate) async fn earn_200(app: &TestApp, token: &str) {
    let day = competition_day(app.clock.now()).checked_sub_days(Days::new(1)).unwrap();
    let start: DateTime<Utc> = day_bounds(day).0 + chrono::Duration::hours(8);
    let walk = json!({"id": uuid::Uuid::new_v4().to_string(), "kind": "walk", "start": start,
        "end": start + chrono::Duration::minutes(100), "steps": 10_000});
    let batch = json!({"batch_id": uuid::Uuid::new_v4().to_string(), "source": "health_connect",
        "device_id": "phone", "records": [walk]});
    assert_eq!(app.points().upload(token, &batch).await.points_booked, 200);
}

pub(crate) async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.http.request(method, format!("{}{path}", app.base)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn buy(app: &TestApp, drawing: &str, token: &str, quantity: u64, key: &str) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/api/v1/drawings/{drawing}/tickets", app.base))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&json!({"quantity": quantity}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

pub(crate) async fn balance(app: &TestApp, token: &str) -> i64 {
    app.points().balance(token).await.balance
}

/// A sponsor, then a drawing (entries close 5 minutes before a drawing 10 minutes from now) with
/// two prizes: 3 places. Returns its id.
pub(crate) async fn drawing_with_prizes(app: &TestApp, admin: &str, max_tickets: u64) -> String {
    let (status, sponsor) = send(
        app,
        reqwest::Method::POST,
        "/api/v1/admin/sponsors",
        admin,
        Some(json!({"name": "Acme Running", "address": "1 Track Way, Portland, OR 97201",
            "contact_email": "prizes@acme.example", "website": "https://acme.example"})),
    )
    .await;
    assert_eq!(status, 201, "{sponsor}");
    let draw_at = app.clock.now() + chrono::Duration::minutes(10);
    let body = json!({"type": "weekly", "title": "Spring <b>shoes</b>", "sponsor_id": sponsor["id"],
        "ticket_cost": COST, "draw_at": draw_at, "max_tickets_per_person": max_tickets, "free_entry_tickets": 2,
        "prizes": [{"name": "Trail shoes", "arv_cents": 15_000, "quantity": 1},
                   {"name": "Socks", "arv_cents": 1_500, "quantity": 2}]});
    let (status, drawing) = send(app, reqwest::Method::POST, "/api/v1/admin/drawings", admin, Some(body)).await;
    assert_eq!(status, 201, "{drawing}");
    assert_eq!(drawing["status"], "draft");
    drawing["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn wait_for_status(app: &TestApp, drawing: &str, token: &str, status: &str) -> Value {
    let started = Instant::now();
    loop {
        let (_, view) = send(app, reqwest::Method::GET, &format!("/api/v1/drawings/{drawing}"), token, None).await;
        if view["status"] == status {
            return view;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "never {status}: {view}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_drawing_from_sponsor_to_verified_results(backend: Backend, fake_drand: bool) {
    let app = spawn_app(Settings { fake_drand, ..Settings::new(backend) }).await;
    let admin = app.admin().await;
    let (ana, bo, cy, dee) = (
        app.user_with_profile().await,
        app.user_with_profile().await,
        app.user_with_profile().await,
        app.user_with_profile().await,
    );
    for person in [&ana, &bo, &cy] {
        earn_200(&app, person).await;
    }
    let id = drawing_with_prizes(&app, &admin, 50).await;
    // Users see neither drafts nor entries into them.
    assert_eq!(send(&app, reqwest::Method::GET, &format!("/api/v1/drawings/{id}"), &ana, None).await.0, 404);
    let (status, scheduled) =
        send(&app, reqwest::Method::POST, &format!("/api/v1/admin/drawings/{id}/schedule"), &admin, None).await;
    assert_eq!(status, 200, "{scheduled}");
    // The second schedule is not a legal transition; non-admins cannot schedule at all.
    let (status, problem) =
        send(&app, reqwest::Method::POST, &format!("/api/v1/admin/drawings/{id}/schedule"), &admin, None).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("invalid_transition")));
    assert_eq!(
        send(&app, reqwest::Method::POST, &format!("/api/v1/admin/drawings/{id}/schedule"), &ana, None).await.0,
        403
    );
    let open = wait_for_status(&app, &id, &ana, "open").await;
    assert_eq!(open["eligibility"]["eligible"], true, "{open}");
    assert_eq!(open["total_arv_cents"], 18_000);

    // The rules, public, in both forms, with the title escaped in HTML.
    let rules = app.http.get(format!("{}/api/v1/drawings/{id}/rules", app.base)).send().await.unwrap();
    let status = rules.status();
    let html = rules.text().await.unwrap();
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Acme Running") && html.contains("NO PURCHASE NECESSARY") && !html.contains("<b>shoes"));
    let text = app.http.get(format!("{}/api/v1/drawings/{id}/rules?format=text", app.base)).send().await.unwrap();
    assert!(text.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert!(text.text().await.unwrap().contains("$150.00"));

    // Ana buys 5 (50 points) and her phone retries the same request: one debit, the same answer.
    let (first, second) = tokio::join!(buy(&app, &id, &ana, 5, "ana-1"), buy(&app, &id, &ana, 5, "ana-1"));
    assert_eq!((first.0, second.0), (201, 201), "{first:?} {second:?}");
    assert_eq!(first.1, second.1);
    let (status, problem) = buy(&app, &id, &ana, 6, "ana-1").await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("idempotency_key_reused")));
    let (status, problem) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/drawings/{id}/tickets"),
        &ana,
        Some(json!({"quantity": 1})),
    )
    .await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("idempotency_key_required")));
    // Bo buys 3 and takes the free entry (2); Cy only the free entry; Dee has no points.
    assert_eq!(buy(&app, &id, &bo, 3, "bo-1").await.0, 201);
    for person in [&bo, &cy] {
        let (status, receipt) =
            send(&app, reqwest::Method::POST, &format!("/api/v1/drawings/{id}/free-entry"), person, None).await;
        assert_eq!((status, receipt["quantity"].as_u64(), receipt["points_spent"].as_u64()), (201, Some(2), Some(0)));
    }
    let (status, problem) =
        send(&app, reqwest::Method::POST, &format!("/api/v1/drawings/{id}/free-entry"), &cy, None).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("free_entry_used_today")));
    let (status, problem) = buy(&app, &id, &dee, 1, "dee-1").await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("insufficient_points")));
    let (status, problem) = buy(&app, &id, &cy, 49, "cy-big").await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("ticket_limit_reached")), "2 held + 49 > 50");
    // Dee mails a postcard: the admin records it (once per postmark day); admins cannot enter.
    let dee_id = app.accounts().me(&dee).await.id.to_string();
    let today = competition_day(app.clock.now()).to_string();
    let mail_in = json!({"user_id": dee_id, "postmarked_on": today});
    let path = format!("/api/v1/admin/drawings/{id}/mail-in-entries");
    let (status, receipt) = send(&app, reqwest::Method::POST, &path, &admin, Some(mail_in.clone())).await;
    assert_eq!((status, receipt["quantity"].as_u64(), receipt["method"].as_str()), (201, Some(2), Some("mail_in")));
    let (status, problem) = send(&app, reqwest::Method::POST, &path, &admin, Some(mail_in)).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("mail_in_already_recorded")));
    assert_eq!(
        send(&app, reqwest::Method::POST, &path, &ana, Some(json!({"user_id": dee_id, "postmarked_on": today})))
            .await
            .0,
        403
    );
    // (An admin made by the CLI has no profile to enter with; one who had would be `operator_staff`.)
    assert_eq!(buy(&app, &id, &admin, 1, "admin-1").await.0, 403);
    let (_, view) = send(&app, reqwest::Method::GET, &format!("/api/v1/drawings/{id}"), &ana, None).await;
    assert_eq!((view["counts"]["tickets"].as_u64(), view["counts"]["entrants"].as_u64()), (Some(14), Some(4)));
    let (_, mine) = send(&app, reqwest::Method::GET, &format!("/api/v1/drawings/{id}/my-tickets"), &bo, None).await;
    assert_eq!((mine["tickets"].as_u64(), mine["bought"].as_u64(), mine["free"].as_u64()), (Some(5), Some(3), Some(2)));
    assert!(mine["entrant_id"].is_null(), "not before close");

    // Entries close: the scheduler freezes the snapshot and commits to the beacon.
    app.clock.advance(chrono::Duration::minutes(6));
    let closed = wait_for_status(&app, &id, &ana, "closed").await;
    let (status, problem) = buy(&app, &id, &bo, 1, "bo-late").await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("drawing_closed")));
    let snapshot = app.http.get(format!("{}/api/v1/drawings/{id}/snapshot", app.base)).send().await.unwrap();
    let snapshot = snapshot.bytes().await.unwrap().to_vec();
    let hash = hex::encode(fittrack_domain::draw_protocol::sha256(&snapshot));
    assert_eq!(closed["snapshot"]["hash"].as_str(), Some(hash.as_str()));
    assert_eq!(closed["snapshot"]["tickets"], 14);
    assert_eq!(String::from_utf8(snapshot.clone()).unwrap().lines().count(), 4);
    // The commitment, public from close on, before the randomness exists.
    let committed = app.http.get(format!("{}/api/v1/drawings/{id}/commitment", app.base)).send().await.unwrap();
    assert!(committed.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let committed: Value = committed.json().await.unwrap();
    assert_eq!(committed["snapshot_hash"].as_str(), Some(hash.as_str()));
    assert_eq!((committed["tickets"].as_u64(), committed["entrants"].as_u64()), (Some(14), Some(4)));
    let (_, mine) = send(&app, reqwest::Method::GET, &format!("/api/v1/drawings/{id}/my-tickets"), &ana, None).await;
    let entrant = mine["entrant_id"].as_str().expect("after close").to_owned();
    let line = format!("{},5,{entrant}\n", mine["ticket_range"]["first"]);
    assert!(String::from_utf8(snapshot.clone()).unwrap().contains(&line), "{mine}");
    assert_eq!(mine["ticket_range"]["count"], 5);
    let (status, problem) =
        send(&app, reqwest::Method::GET, &format!("/api/v1/drawings/{id}/results"), &ana, None).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("results_not_published")));

    // The drawing time passes: the round exists, the scheduler draws.
    app.clock.advance(chrono::Duration::minutes(5));
    wait_for_status(&app, &id, &ana, "completed").await;
    let results = app.http.get(format!("{}/api/v1/drawings/{id}/results", app.base)).send().await.unwrap();
    let results = results.bytes().await.unwrap().to_vec();
    let trust = match &app.drand {
        // The verifier trusts drand quicknet alone unless told: the test chain is named.
        Some(fake) => {
            let chain = fake.chain();
            Trust {
                drand_chains: vec![TrustedChain {
                    chain_hash: chain.chain_hash,
                    public_key: chain.public_key,
                    genesis: chain.genesis,
                    period: chain.period,
                }],
                commit_reveal: false,
                drawing: Some(id.clone()),
            }
        }
        None => Trust { commit_reveal: true, drawing: Some(id.clone()), ..Trust::default() },
    };
    let outcome = verify(&results, &snapshot, &trust).expect("the results verify");
    assert_eq!((outcome.winners.len(), outcome.alternates.len()), (3, 1), "three places and one alternate of four");
    let published: Value = serde_json::from_slice(&results).unwrap();
    assert_eq!(published["beacon"]["commitment"]["source"], if fake_drand { "drand" } else { "commit_reveal" });
    // The results hold to what was committed at close.
    for (field, at_close) in [("snapshot_hash", "snapshot_hash"), ("closed_at", "closed_at"), ("draw_at", "draw_at")] {
        assert_eq!(published[field], committed[at_close], "{field}");
    }
    assert_eq!(published["beacon"]["commitment"], committed["beacon"]);
    // Nobody else's trust is borrowed from the file: by default only quicknet counts.
    let refused = verify(&results, &snapshot, &Trust::default()).unwrap_err();
    assert!(refused.0.contains("trust"), "{refused}");
    if backend == Backend::Embedded {
        tampering_is_refused(&published, &snapshot, &trust);
    }
    // The winners, and only they, are emailed: each finds their entrant id among the winners.
    let winners: Vec<String> = outcome.winners.iter().map(|p| p.entrant.to_string()).collect();
    let mut losers = Vec::new();
    for person in [&ana, &bo, &cy, &dee] {
        let me = app.accounts().me(person).await;
        let (_, mine) =
            send(&app, reqwest::Method::GET, &format!("/api/v1/drawings/{id}/my-tickets"), person, None).await;
        if !winners.iter().any(|w| Some(w.as_str()) == mine["entrant_id"].as_str()) {
            losers.push(me.email);
            continue;
        }
        let started = Instant::now();
        while app.emails_to(&format!("To: {}", me.email)).await.iter().all(|m| !m.contains("You won a prize")) {
            assert!(started.elapsed() < Duration::from_secs(20), "no winner email to {}", me.email);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(losers.len(), 1);
    assert!(app.emails_to(&format!("To: {}", losers[0])).await.iter().all(|m| !m.contains("You won a prize")));
    // Balances by hand: 200 each; Ana spent 50 once, Bo 30, Cy nothing; Dee never earned.
    assert_eq!(
        (balance(&app, &ana).await, balance(&app, &bo).await, balance(&app, &cy).await, balance(&app, &dee).await),
        (150, 170, 200, 0)
    );
    let report =
        app.server.as_ref().unwrap().drawings.reconcile(&fittrack_drawings::DrawingId(id.clone())).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!((report.tickets, report.points_debited, report.points_refunded), (14, 80, 0));
    // A completed drawing cannot be cancelled.
    let (status, problem) =
        send(&app, reqwest::Method::DELETE, &format!("/api/v1/admin/drawings/{id}"), &admin, None).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("invalid_transition")));
    assert!(app.conformance.violations().is_empty(), "{:?}", app.conformance.violations());
    app.stop().await;
}

/// The verifier refuses the results with any field that decides the outcome changed, and the
/// snapshot with any line changed.
fn tampering_is_refused(results: &Value, snapshot: &[u8], trust: &Trust) {
    let verify = |results: &Value, snapshot: &[u8]| verify(&serde_json::to_vec(results).unwrap(), snapshot, trust);
    assert!(verify(results, snapshot).is_ok());
    let flip = |hex: &Value| {
        let hex = hex.as_str().unwrap();
        let first = if hex.starts_with('0') { '1' } else { '0' };
        Value::String(format!("{first}{}", &hex[1..]))
    };
    let mut fields: Vec<(&str, Value)> = vec![
        ("/protocol", json!("fittrack-draw-v2")),
        ("/tickets", json!(results["tickets"].as_u64().unwrap() + 1)),
        ("/entrants", json!(results["entrants"].as_u64().unwrap() + 1)),
        ("/snapshot_hash", flip(&results["snapshot_hash"])),
        ("/draw_at", json!("2020-01-01T00:00:00Z")),
        ("/beacon/reveal/randomness", flip(&results["beacon"]["reveal"]["randomness"])),
        ("/seed", flip(&results["seed"])),
        (
            "/winners/0/ticket",
            json!((results["winners"][0]["ticket"].as_u64().unwrap() + 1) % results["tickets"].as_u64().unwrap()),
        ),
        ("/drawing_id", json!("0".repeat(32))),
        ("/closed_at", json!("2999-01-01T00:00:00Z")),
        ("/alternates/0/entrant", results["winners"][0]["entrant"].clone()),
        ("/winners/0/entrant", results["winners"][1]["entrant"].clone()),
        ("/winners/0/k", json!(results["winners"][0]["k"].as_u64().unwrap() + 1)),
        ("/winners/1/place", json!(7)),
        ("/places/0/place", json!(2)),
    ];
    match results["beacon"]["commitment"]["source"].as_str() {
        Some("drand") => {
            fields.push((
                "/beacon/commitment/round",
                json!(results["beacon"]["commitment"]["round"].as_u64().unwrap() + 1),
            ));
            fields.push(("/beacon/reveal/signature", flip(&results["beacon"]["reveal"]["signature"])));
            fields.push(("/beacon/commitment/public_key", flip(&results["beacon"]["commitment"]["public_key"])));
            fields.push(("/beacon/commitment/chain_hash", flip(&results["beacon"]["commitment"]["chain_hash"])));
            fields.push(("/beacon/commitment/period", json!(1)));
            fields.push(("/beacon/commitment/genesis", json!(0)));
        }
        _ => fields.push(("/beacon/commitment/commitment", flip(&results["beacon"]["commitment"]["commitment"]))),
    }
    for (pointer, value) in fields {
        let mut tampered = results.clone();
        *tampered.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer} is published")) = value;
        assert!(verify(&tampered, snapshot).is_err(), "tampered {pointer} still verifies");
    }
    let mut fewer = results.clone();
    fewer["winners"].as_array_mut().unwrap().pop();
    assert!(verify(&fewer, snapshot).is_err(), "a winner left out still verifies");
    // The snapshot: a count moved between two people keeps N but changes the hash.
    let text = String::from_utf8(snapshot.to_vec()).unwrap();
    let mut lines: Vec<Vec<String>> = text.lines().map(|l| l.split(',').map(str::to_owned).collect()).collect();
    lines.swap(0, 1);
    let (first0, first1) = (lines[1][0].clone(), lines[0][0].clone());
    lines[0][0] = first0;
    lines[1][0] = first1;
    let swapped: String = lines.iter().map(|l| format!("{}\n", l.join(","))).collect();
    assert!(verify(results, swapped.as_bytes()).is_err(), "a reordered snapshot still verifies");
}

async fn drawings_with_commit_reveal(backend: Backend) {
    a_drawing_from_sponsor_to_verified_results(backend, false).await;
}
both_backends!(drawings_with_commit_reveal);

#[tokio::test]
async fn a_drawing_decided_by_a_drand_chain() {
    a_drawing_from_sponsor_to_verified_results(Backend::Embedded, true).await;
}

/// One person fires fifty purchases at once with 200 points and tickets at 10: exactly twenty
/// land, none overspends, and the tickets are what was paid for.
async fn fifty_purchases_at_once_never_overspend(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let admin = app.admin().await;
    let ana = app.user_with_profile().await;
    earn_200(&app, &ana).await;
    let id = drawing_with_prizes(&app, &admin, 1000).await;
    send(&app, reqwest::Method::POST, &format!("/api/v1/admin/drawings/{id}/schedule"), &admin, None).await;
    wait_for_status(&app, &id, &ana, "open").await;
    let purchases = (0..50).map(|n| {
        let (app, id, ana) = (&app, &id, &ana);
        async move { buy(app, id, ana, 1, &format!("p{n}")).await }
    });
    let answers = futures_util::future::join_all(purchases).await;
    let bought = answers.iter().filter(|(status, _)| *status == 201).count();
    for (status, body) in &answers {
        assert!(*status == 201 || (*status == 409 && body["code"] == "insufficient_points"), "{status} {body}");
    }
    assert_eq!(bought, 20, "200 points buy twenty 10-point tickets");
    assert_eq!(balance(&app, &ana).await, 0);
    let (_, mine) = send(&app, reqwest::Method::GET, &format!("/api/v1/drawings/{id}/my-tickets"), &ana, None).await;
    assert_eq!((mine["tickets"].as_u64(), mine["entries"].as_array().unwrap().len()), (Some(20), 20));
    let ledger = app.points().transactions(&ana, 100).await;
    let spent: i64 =
        ledger.items.iter().filter(|e| e.kind == fittrack_domain::points::EntryKind::Spend).map(|e| e.amount).sum();
    assert_eq!(spent, -200);
    app.stop().await;
}
both_backends!(fifty_purchases_at_once_never_overspend);
