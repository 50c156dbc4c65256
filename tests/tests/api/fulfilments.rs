//! Prize fulfilment end to end over HTTP: a drawing's winner is notified, confirms an address
//! (with taxpayer details for a prize at the reporting threshold), the admin ships and delivers;
//! the other winner ignores it and, with the clock moved on, is reminded, then forfeits, and the
//! alternate takes the prize over and is notified. Strangers reach neither prize.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use fittrack_platform::clock::Clock;
use fittrack_tests::both_backends;
use fittrack_tests::server::{Backend, PASSWORD, Settings, TestApp, spawn_app, unique_ip};

use crate::drawings::{earn_200, send, wait_for_status};

async fn sign_in(app: &TestApp, email: &str) -> String {
    let login = app.post("/api/v1/auth/login", json!({"email": email, "password": PASSWORD}), &unique_ip()).await;
    login.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
}

async fn wait_for_email(app: &TestApp, email: &str, needle: &str) -> String {
    let started = Instant::now();
    loop {
        if let Some(found) = app.emails_to(&format!("To: {email}")).await.into_iter().find(|m| m.contains(needle)) {
            return found;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no email to {email} containing {needle:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The caller's notifications, newest first, as `kind: title`.
async fn kinds(app: &TestApp, token: &str) -> Vec<String> {
    let (status, page) = send(app, reqwest::Method::GET, "/api/v1/notifications", token, None).await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| format!("{}: {}", n["kind"].as_str().unwrap(), n["title"].as_str().unwrap()))
        .collect()
}

async fn unread(app: &TestApp, token: &str) -> u64 {
    let (_, count) = send(app, reqwest::Method::GET, "/api/v1/notifications/unread-count", token, None).await;
    count["unread"].as_u64().unwrap()
}

async fn mine(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, body) = send(app, reqwest::Method::GET, "/api/v1/fulfillments", token, None).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

async fn winners_are_notified_ship_and_forfeit_to_the_alternate(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let admin = app.admin().await;
    let mut people = Vec::new();
    for _ in 0..3 {
        let token = app.user_with_profile().await;
        earn_200(&app, &token).await;
        let me = app.accounts().me(&token).await;
        people.push((token, me.email));
    }
    let (_, sponsor) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/admin/sponsors",
        &admin,
        Some(json!({"name": "Acme", "address": "1 Track Way, Portland, OR 97201", "contact_email": "p@acme.example"})),
    )
    .await;
    let draw_at = app.clock.now() + chrono::Duration::minutes(10);
    let body = json!({"type": "monthly", "title": "Gear", "sponsor_id": sponsor["id"], "ticket_cost": 10,
        "draw_at": draw_at, "max_tickets_per_person": 10, "free_entry_tickets": 2,
        "prizes": [{"name": "Bike", "arv_cents": 300_000, "quantity": 1}, {"name": "Cap", "arv_cents": 2_500, "quantity": 1}]});
    let (_, drawing) = send(&app, reqwest::Method::POST, "/api/v1/admin/drawings", &admin, Some(body)).await;
    let id = drawing["id"].as_str().unwrap().to_owned();
    send(&app, reqwest::Method::POST, &format!("/api/v1/admin/drawings/{id}/schedule"), &admin, None).await;
    wait_for_status(&app, &id, &people[0].0, "open").await;
    for (token, _) in &people {
        let (status, _) =
            send(&app, reqwest::Method::POST, &format!("/api/v1/drawings/{id}/free-entry"), token, None).await;
        assert_eq!(status, 201);
    }
    app.clock.advance(chrono::Duration::minutes(6));
    wait_for_status(&app, &id, &people[0].0, "closed").await;
    app.clock.advance(chrono::Duration::minutes(5));
    wait_for_status(&app, &id, &people[0].0, "completed").await;

    // Who won what: each person's prizes list says it.
    let mut won = Vec::new();
    let mut alternate = None;
    for (n, (token, email)) in people.iter().enumerate() {
        // The scheduler notifies the winners right after the draw.
        let started = Instant::now();
        let mut prizes = mine(&app, token).await;
        while prizes.iter().any(|p| p["status"] == "pending") {
            assert!(started.elapsed() < Duration::from_secs(20), "never notified: {prizes:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
            prizes = mine(&app, token).await;
        }
        match prizes.as_slice() {
            [prize] => {
                assert_eq!(prize["status"], "winner_notified", "{prize}");
                wait_for_email(&app, email, "You won a prize").await;
                won.push((n, prize.clone()));
            }
            [] => alternate = Some(n),
            more => panic!("one prize each: {more:?}"),
        }
    }
    assert_eq!(won.len(), 2);
    let alternate = alternate.expect("the third is the alternate");
    let (bike_winner, bike) = won.iter().find(|(_, p)| p["prize_name"] == "Bike").cloned().unwrap();
    let (cap_winner, cap) = won.iter().find(|(_, p)| p["prize_name"] == "Cap").cloned().unwrap();
    assert_eq!(
        (bike["tax_details_required"].as_bool(), cap["tax_details_required"].as_bool()),
        (Some(true), Some(false))
    );

    // The bike's winner confirms; a stranger cannot touch the prize, and the tax details are required.
    let bike_id = bike["id"].as_str().unwrap().to_owned();
    let address =
        json!({"name": "Ana Example", "line1": "12 Elm St", "city": "Denver", "state": "CO", "postal_code": "80202"});
    let path = format!("/api/v1/fulfillments/{bike_id}/confirm-address");
    let stranger = &people[alternate].0;
    assert_eq!(send(&app, reqwest::Method::POST, &path, stranger, Some(json!({"address": address}))).await.0, 404);
    let (status, problem) =
        send(&app, reqwest::Method::POST, &path, &people[bike_winner].0, Some(json!({"address": address}))).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (422, Some("tax_details_required")), "{problem}");
    let tax = json!({"legal_name": "Ana Q. Example", "taxpayer_id": "123-45-6789"});
    let (status, confirmed) =
        send(&app, reqwest::Method::POST, &path, &people[bike_winner].0, Some(json!({"address": address, "tax": tax})))
            .await;
    assert_eq!((status, confirmed["status"].as_str()), (200, Some("address_confirmed")), "{confirmed}");
    assert!(confirmed["taxpayer_id_masked"].is_null(), "the winner's own view never shows it back");
    assert!(
        app.files_containing("123-45-6789").is_empty() && app.files_containing("12 Elm St").is_empty(),
        "sealed at rest"
    );
    // Again: not a legal change any more.
    let (status, problem) =
        send(&app, reqwest::Method::POST, &path, &people[bike_winner].0, Some(json!({"address": address, "tax": tax})))
            .await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("invalid_transition")));

    // The alternate's own place waits on standby: nothing to confirm yet.
    let standby = format!("/api/v1/fulfillments/{id}.a0001/confirm-address");
    let (status, problem) =
        send(&app, reqwest::Method::POST, &standby, stranger, Some(json!({"address": address}))).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("invalid_transition")));
    // The admin finds the address undeliverable; the winner fixes it.
    let update = format!("/api/v1/admin/fulfillments/{bike_id}");
    let (status, invalid) = send(
        &app,
        reqwest::Method::PUT,
        &update,
        &admin,
        Some(json!({"status": "address_invalid", "note": "no such street"})),
    )
    .await;
    assert_eq!((status, invalid["status"].as_str()), (200, Some("address_invalid")), "{invalid}");
    // The winner has to act: told by an essential email too (no unsubscribe link).
    let refused = wait_for_email(&app, &people[bike_winner].1, "We could not ship your FitTrack prize").await;
    assert!(!refused.contains("List-Unsubscribe"), "{refused}");
    let (status, confirmed) =
        send(&app, reqwest::Method::POST, &path, &people[bike_winner].0, Some(json!({"address": address, "tax": tax})))
            .await;
    assert_eq!((status, confirmed["status"].as_str()), (200, Some("address_confirmed")));
    // The admin sees it ready to ship, masked; ships and delivers. Users cannot.
    assert_eq!(send(&app, reqwest::Method::GET, "/api/v1/admin/fulfillments", stranger, None).await.0, 403);
    let (_, ready) =
        send(&app, reqwest::Method::GET, "/api/v1/admin/fulfillments?status=address_confirmed", &admin, None).await;
    let listed =
        ready["items"].as_array().unwrap().iter().find(|p| p["id"] == bike_id.as_str()).expect("listed").clone();
    assert_eq!(
        (listed["taxpayer_id_masked"].as_str(), listed["address"]["city"].as_str()),
        (Some("***-**-6789"), Some("Denver"))
    );
    let ship = format!("/api/v1/admin/fulfillments/{bike_id}/ship");
    assert_eq!(
        send(&app, reqwest::Method::POST, &ship, stranger, Some(json!({"carrier": "UPS", "tracking_number": "1Z"})))
            .await
            .0,
        403
    );
    let (status, shipped) =
        send(&app, reqwest::Method::POST, &ship, &admin, Some(json!({"carrier": "UPS", "tracking_number": "1Z999"})))
            .await;
    assert_eq!((status, shipped["status"].as_str()), (200, Some("shipped")));
    let (status, delivered) =
        send(&app, reqwest::Method::PUT, &update, &admin, Some(json!({"status": "delivered", "note": "signed for"})))
            .await;
    assert_eq!((status, delivered["status"].as_str()), (200, Some("delivered")));
    let history: Vec<&str> =
        delivered["history"].as_array().unwrap().iter().map(|e| e["to"].as_str().unwrap()).collect();
    assert_eq!(
        history,
        ["winner_notified", "address_confirmed", "address_invalid", "address_confirmed", "shipped", "delivered"]
    );
    assert_eq!(delivered["legal_name_initials"], "A. Q. E.");
    let (status, problem) =
        send(&app, reqwest::Method::PUT, &update, &admin, Some(json!({"status": "forfeited", "note": "late"}))).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("invalid_transition")), "delivered is final");

    // The cap's winner ignores it: a reminder after 7 days, forfeited after 14, the alternate takes over.
    let cap_email = people[cap_winner].1.clone();
    app.clock.advance(chrono::Duration::days(7) + chrono::Duration::minutes(1));
    wait_for_email(&app, &cap_email, "still need your shipping address").await;
    app.clock.advance(chrono::Duration::days(7));
    let alternate_email = people[alternate].1.clone();
    wait_for_email(&app, &alternate_email, "you were next on the published list of alternates").await;
    let alternate_token = sign_in(&app, &alternate_email).await;
    let taken = mine(&app, &alternate_token).await;
    assert_eq!(taken.len(), 1);
    assert_eq!((taken[0]["prize_name"].as_str(), taken[0]["status"].as_str()), (Some("Cap"), Some("winner_notified")));
    let cap_token = sign_in(&app, &cap_email).await;
    let forfeited = mine(&app, &cap_token).await;
    assert_eq!(forfeited[0]["status"], "forfeited", "{forfeited:?}");
    let cap_path = format!("/api/v1/fulfillments/{}/confirm-address", cap["id"].as_str().unwrap());
    let (status, _) = send(&app, reqwest::Method::POST, &cap_path, &cap_token, Some(json!({"address": address}))).await;
    assert_eq!(status, 409, "too late");

    // Every step reached its person as a notification, in order, and the optional emails by preference.
    let bike_token = &people[bike_winner].0;
    wait_for_email(&app, &people[bike_winner].1, "UPS").await;
    wait_for_email(&app, &people[bike_winner].1, "was marked delivered").await;
    assert_eq!(
        kinds(&app, bike_token).await,
        [
            "fulfilment_status_changed: Bike was delivered",
            "fulfilment_status_changed: Bike has shipped",
            "fulfilment_status_changed: We could not ship Bike",
            "winner_selected: You won Bike",
            "drawing_results_published: Results of \"Gear\"",
        ]
    );
    assert_eq!(
        kinds(&app, &cap_token).await,
        [
            "fulfilment_status_changed: Cap was forfeited",
            "address_reminder: Your prize is waiting",
            "winner_selected: You won Cap",
            "drawing_results_published: Results of \"Gear\"",
        ]
    );
    assert_eq!(
        kinds(&app, &alternate_token).await,
        ["alternate_selected: Cap is yours", "drawing_results_published: Results of \"Gear\""]
    );
    // Only the owner reaches a notification; the unread count is exact and reading is once.
    let (_, page) = send(&app, reqwest::Method::GET, "/api/v1/notifications", bike_token, None).await;
    let first = page["items"][0]["id"].as_str().unwrap().to_owned();
    let one = format!("/api/v1/notifications/{first}");
    assert_eq!(send(&app, reqwest::Method::GET, &one, stranger, None).await.0, 404);
    assert_eq!(send(&app, reqwest::Method::PUT, &format!("{one}/read"), stranger, None).await.0, 404);
    assert_eq!(unread(&app, bike_token).await, 5);
    for _ in 0..2 {
        let (status, read) = send(&app, reqwest::Method::PUT, &format!("{one}/read"), bike_token, None).await;
        assert_eq!((status, read["is_read"].as_bool()), (200, Some(true)));
    }
    assert_eq!(unread(&app, bike_token).await, 4, "marking twice counts once");
    let (_, unread_page) =
        send(&app, reqwest::Method::GET, "/api/v1/notifications?is_read=false", bike_token, None).await;
    assert_eq!(unread_page["items"].as_array().unwrap().len(), 4);
    let (_, all) = send(&app, reqwest::Method::POST, "/api/v1/notifications/read-all", bike_token, None).await;
    assert_eq!(all["marked"], 4);
    assert_eq!(unread(&app, bike_token).await, 0);
    assert_eq!(unread(&app, stranger).await, 2, "another's reading leaves mine alone");

    // Every admin step is in the action log, about the person it concerned, with who and why.
    let bike_user = app.accounts().me(bike_token).await.id;
    let (status, log) =
        send(&app, reqwest::Method::GET, &format!("/api/v1/admin/users/{bike_user}/actions"), &admin, None).await;
    assert_eq!(status, 200, "{log}");
    let actions: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["after"]["status"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        actions,
        [
            ("fulfilment_status_changed", "delivered"),
            ("fulfilment_shipped", "shipped"),
            ("fulfilment_status_changed", "address_invalid"),
        ]
    );
    assert_eq!(log["items"][0]["reason"], "signed for");
    let (_, drawing_log) =
        send(&app, reqwest::Method::GET, "/api/v1/admin/actions?action=drawing_created", &admin, None).await;
    assert_eq!(drawing_log["items"][0]["target_id"], id.as_str(), "{drawing_log}");
    assert_eq!(send(&app, reqwest::Method::GET, "/api/v1/admin/actions", stranger, None).await.0, 403);
    assert!(app.conformance.violations().is_empty(), "{:?}", app.conformance.violations());
    app.stop().await;
}
both_backends!(winners_are_notified_ship_and_forfeit_to_the_alternate);
