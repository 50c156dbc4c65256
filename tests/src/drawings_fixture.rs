//! Drawings without HTTP, for the service-level races and the benchmark: a service on any store
//! with a commit-reveal beacon on a manual clock, people with points, an open drawing.

use std::sync::Arc;

use chrono::{Days, Duration};
use serde_json::json;

use fittrack_domain::{DayPoints, UserId, competition_day};
use fittrack_drawings::views::{DrawingInput, PrizeInput, SponsorInput};
use fittrack_drawings::{DrawingId, DrawingService, DrawingSettings};
use fittrack_platform::clock::{Clock, ManualClock};
use fittrack_platform::crypto::{PiiCipher, generate_pii_key};
use fittrack_platform::ports::{ItemStore, Table};
use fittrack_points::PointsLedger;

pub struct Fixture {
    pub store: Arc<dyn ItemStore>,
    pub clock: Arc<ManualClock>,
    pub service: DrawingService,
    pub pii: Arc<PiiCipher>,
}

impl Fixture {
    pub fn new(store: Arc<dyn ItemStore>) -> Self {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let pii = Arc::new(PiiCipher::from_master_key(&generate_pii_key()).unwrap());
        let beacon = Arc::new(fittrack_beacons::CommitRevealBeacon::new(clock.clone()));
        let settings = DrawingSettings {
            operator: "FitTrack".into(),
            mail_in_address: "PO Box 1, Wilmington, DE".into(),
            tax_threshold_cents: 200_000,
            claim_days: 14,
            api_url: "http://127.0.0.1:3000".into(),
            app_url: "http://127.0.0.1:3000".into(),
            operator_excluded_states: Vec::new(),
        };
        let service = DrawingService::new(
            Arc::clone(&store),
            clock.clone(),
            Arc::new(fittrack_local::InProcessQueue::default()),
            beacon,
            Arc::clone(&pii),
            settings,
        );
        Self { store, clock, service, pii }
    }

    /// A verified Californian account a year old, with `points` earned yesterday.
    pub async fn person(&self, points: u32) -> UserId {
        let user = UserId::generate();
        let created = self.clock.now() - Duration::days(365);
        let account = json!({"pk": format!("USER#{user}"), "sk": "ACCOUNT", "user_id": user,
            "email_enc": self.pii.encrypt(&format!("{}@example.com", user.simple()), &fittrack_users::records::email_context(user)),
            "email_hash": user.simple(), "display_name": "Entrant", "state": "CA", "role": "user",
            "email_verified": true, "created_at": created.timestamp(), "gsi1pk": "ACCOUNTS", "gsi1sk": user.to_string()});
        self.store.put(Table::Users, account.as_object().cloned().unwrap(), None).await.unwrap();
        if points > 0 {
            let ledger = PointsLedger::new(Arc::clone(&self.store), self.clock.clone());
            let day = competition_day(self.clock.now()).checked_sub_days(Days::new(1)).unwrap();
            let earned = DayPoints { steps: points, total: points, ..DayPoints::default() };
            ledger.book_day(user, day, &earned).await.unwrap();
        }
        user
    }

    /// An open drawing (tickets at `cost`, `max` per person, 2 per free entry) with `places`
    /// one-unit prizes, drawn an hour from now (entries close five minutes before).
    pub async fn open_drawing(&self, cost: u64, max: u64, places: u32) -> DrawingId {
        self.open_drawing_for(cost, max, places, Duration::hours(1)).await
    }

    /// [`Self::open_drawing`] drawn `draw_in` from now.
    pub async fn open_drawing_for(&self, cost: u64, max: u64, places: u32, draw_in: Duration) -> DrawingId {
        let sponsor = self
            .service
            .create_sponsor(
                &admin(),
                SponsorInput {
                    name: "Acme".into(),
                    address: "1 Track Way, Portland, OR".into(),
                    contact_email: "prizes@acme.example".into(),
                    website: None,
                    logo_url: None,
                    status: None,
                },
            )
            .await
            .unwrap();
        let prizes = (0..places)
            .map(|n| PrizeInput {
                name: format!("Prize {n}"),
                description: String::new(),
                arv_cents: 1_000,
                quantity: 1,
                sponsor_id: None,
                image_url: None,
            })
            .collect();
        let input = DrawingInput {
            drawing_type: fittrack_domain::drawing::DrawingType::Daily,
            title: "Benchmark".into(),
            description: String::new(),
            sponsor_id: sponsor.id,
            ticket_cost: cost,
            opens_at: None,
            closes_at: None,
            draw_at: self.clock.now() + draw_in,
            min_account_age_days: 0,
            premium_only: false,
            excluded_states: Vec::new(),
            registered_states: Vec::new(),
            max_tickets_per_person: max,
            free_entry_tickets: 2,
            prizes,
        };
        let drawing = self.service.create_drawing(&admin(), input).await.unwrap();
        self.service.schedule(&admin(), &drawing.id).await.unwrap();
        self.service.run_due().await.unwrap();
        assert_eq!(
            self.service.drawing(&drawing.id).await.unwrap().status,
            fittrack_domain::drawing::DrawingStatus::Open
        );
        drawing.id
    }

    /// Spendable points of `user`.
    pub async fn balance(&self, user: UserId) -> i64 {
        PointsLedger::new(Arc::clone(&self.store), self.clock.clone()).balance(user).await.unwrap().balance
    }
}

/// An admin for the service-level tests' admin actions.
pub fn admin() -> fittrack_audit::Actor {
    fittrack_audit::Actor::new(UserId::generate(), "test-request")
}
