//! Keys read from Secrets Manager at start (on the emulator): each secret's settings by
//! configuration name, and a configuration built from them holds the keys.

use fittrack_accounts::crypto::generate_pii_key;
use fittrack_aws::secrets::{SecretsClient, SecretsError, load};
use fittrack_platform::Config;
use fittrack_tests::emulator;

async fn secret(client: &SecretsClient, body: &str) -> String {
    let created = client
        .create_secret()
        .name(emulator::unique("fittrack-test-secret"))
        .secret_string(body)
        .send()
        .await
        .expect("the emulator creates secrets");
    created.arn().unwrap().to_owned()
}

#[tokio::test]
async fn secrets_become_settings_and_the_configuration_holds_them() {
    let client = SecretsClient::new(&emulator::sdk_config().await);
    let (pii, tracker) = (generate_pii_key(), generate_pii_key());
    let pii_arn = secret(&client, &serde_json::json!({"pii_key": pii}).to_string()).await;
    let tracker_arn = secret(&client, &serde_json::json!({"FITTRACK_TRACKER_KEY": tracker}).to_string()).await;

    let settings = load(&client, &[pii_arn.clone(), tracker_arn]).await.unwrap();
    assert_eq!(settings["FITTRACK_PII_KEY"], pii);
    assert_eq!(settings["FITTRACK_TRACKER_KEY"], tracker);
    let config = Config::from_lookup(|name| settings.get(name).cloned()).unwrap();
    assert!(config.pii_key.is_some() && config.tracker_key.is_some());
    assert!(config.jwt_signing_key.is_none(), "only what the secrets named");

    let missing = load(&client, &[format!("{pii_arn}-gone")]).await.unwrap_err();
    assert!(matches!(missing, SecretsError::Unreadable { .. }), "{missing}");
    let malformed_arn = secret(&client, "not json").await;
    let malformed = load(&client, &[malformed_arn]).await.unwrap_err().to_string();
    assert!(malformed.contains("not a JSON object") && !malformed.contains("not json"), "no secret text in errors");
}
