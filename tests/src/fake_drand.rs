//! A local drand chain: a BLS key made at start signs each round the way quicknet does
//! (`bls-unchained-g1-rfc9380`), served over drand's HTTP API once the test clock reaches the
//! round's time. It lets the drand adapter run end to end, including against forged rounds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bls12_381::hash_to_curve::{ExpandMsgXmd, HashToCurve};
use bls12_381::{G1Affine, G1Projective, G2Affine, Scalar};
use serde_json::json;

use fittrack_beacons::DrandChain;
use fittrack_domain::draw_protocol::{RoundClock, sha256};
use fittrack_platform::clock::Clock;

/// RFC 9380 suite of quicknet's signatures on G1.
const DST: &[u8] = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_";

struct Chain {
    secret: Scalar,
    chain_hash: String,
    rounds: RoundClock,
    clock: Arc<dyn Clock>,
    corrupt: AtomicBool,
}

impl Chain {
    /// The round's signature: the secret times the round's message hashed to G1.
    fn sign(&self, round: u64) -> [u8; 48] {
        let message = sha256(&round.to_be_bytes());
        let point = <G1Projective as HashToCurve<ExpandMsgXmd<sha2_09::Sha256>>>::hash_to_curve(message, DST);
        G1Affine::from(point * self.secret).to_compressed()
    }
}

pub struct FakeDrand {
    base_url: String,
    public_key: String,
    chain: Arc<Chain>,
}

impl FakeDrand {
    pub async fn start(genesis: i64, period: i64, clock: Arc<dyn Clock>) -> Self {
        let mut wide = [0u8; 64];
        aws_lc_rs::rand::fill(&mut wide).unwrap();
        let secret = Scalar::from_bytes_wide(&wide);
        let public_key = G2Affine::from(G2Affine::generator() * secret).to_compressed();
        let chain = Arc::new(Chain {
            secret,
            chain_hash: hex::encode(sha256(&public_key)),
            rounds: RoundClock { genesis, period },
            clock,
            corrupt: AtomicBool::new(false),
        });
        let router =
            Router::new().route("/{chain_hash}/public/{round}", get(public_round)).with_state(Arc::clone(&chain));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.ok() });
        Self { base_url: format!("http://{addr}"), public_key: hex::encode(public_key), chain }
    }

    /// The chain as the drand adapter is configured for it.
    pub fn chain(&self) -> DrandChain {
        DrandChain {
            base_url: self.base_url.clone(),
            chain_hash: self.chain.chain_hash.clone(),
            public_key: self.public_key.clone(),
            genesis: self.chain.rounds.genesis,
            period: self.chain.rounds.period,
        }
    }

    /// While on, every round is served with the next round's signature (and the randomness
    /// derived from it): well-formed, consistent, and not the signature of the round asked for.
    pub fn corrupt_signatures(&self, on: bool) {
        self.chain.corrupt.store(on, Ordering::SeqCst);
    }
}

async fn public_round(Path((chain_hash, round)): Path<(String, u64)>, State(chain): State<Arc<Chain>>) -> Response {
    let published = chain.rounds.time_of(round).is_some_and(|at| round > 0 && chain.clock.now().timestamp() >= at);
    if chain_hash != chain.chain_hash || !published {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "beacon not found"}))).into_response();
    }
    let signed = if chain.corrupt.load(Ordering::SeqCst) { round + 1 } else { round };
    let signature = chain.sign(signed);
    Json(json!({
        "round": round,
        "randomness": hex::encode(sha256(&signature)),
        "signature": hex::encode(signature),
    }))
    .into_response()
}
