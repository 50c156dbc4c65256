//! A local OpenID provider for social sign-in tests: an RSA key generated at start, its JWKS
//! served over HTTP, and ID tokens signed with it in Google's or Apple's shape.

use std::net::SocketAddr;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub struct FakeProvider {
    pub jwks_url: String,
    pub issuer: String,
    pub client_id: String,
    kid: String,
    key: EncodingKey,
}

fn pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"))
}

impl FakeProvider {
    pub async fn start(issuer: &str) -> Self {
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA key");
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).expect("PKCS#8");
        let key = EncodingKey::from_rsa_pem(pem(der.as_ref()).as_bytes()).expect("encoding key");
        let public = pair.public_key();
        let kid = uuid::Uuid::new_v4().simple().to_string();
        let jwks = json!({"keys": [{
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        }]});
        let app = Router::new().route(
            "/keys",
            get(move || {
                let jwks = jwks.clone();
                async move { ([("cache-control", "public, max-age=3600")], Json(jwks)) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        Self {
            jwks_url: format!("http://{addr}/keys"),
            issuer: issuer.to_owned(),
            client_id: format!("client-{kid}"),
            kid,
            key,
        }
    }

    /// Signs claims with the provider key; `overrides` replace the defaults.
    pub fn id_token(&self, subject: &str, email: &str, nonce: &str, overrides: Value) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({
            "iss": self.issuer, "aud": self.client_id, "sub": subject, "email": email,
            "email_verified": true, "nonce": nonce, "iat": now, "exp": now + 600,
        });
        if let (Some(target), Some(extra)) = (claims.as_object_mut(), overrides.as_object()) {
            for (k, v) in extra {
                target.insert(k.clone(), v.clone());
            }
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }

    /// A token signed by a key the provider never published.
    pub async fn forged_token(&self, subject: &str, email: &str, nonce: &str) -> String {
        let other = FakeProvider::start(&self.issuer).await;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        let now = chrono::Utc::now().timestamp();
        let claims = json!({"iss": self.issuer, "aud": self.client_id, "sub": subject, "email": email,
            "email_verified": true, "nonce": nonce, "iat": now, "exp": now + 600});
        jsonwebtoken::encode(&header, &claims, &other.key).unwrap()
    }
}
