//! Configuration with its secrets read from Secrets Manager at start, once per container: a
//! function's environment names the secrets (`FITTRACK_SECRET_ARNS`, comma-separated ARNs) but
//! never holds their values, so `lambda:GetFunctionConfiguration` reveals no key, and each
//! function's IAM policy grants exactly the secrets it needs.
//!
//! A secret is a JSON object of settings: `{"pii_key": "…"}` sets `FITTRACK_PII_KEY` (keys are
//! the configuration variables without the prefix, in lower case; full names work too).

use std::collections::HashMap;

use aws_config::SdkConfig;
use fittrack_platform::Config;
use fittrack_platform::config::ConfigError;

pub use aws_sdk_secretsmanager::Client as SecretsClient;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("secret {arn}: {reason}")]
    Unreadable { arn: String, reason: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The configuration from the environment, with the settings of every secret it names.
///
/// # Errors
/// [`SecretsError::Unreadable`] when a named secret cannot be read or is not a JSON object of
/// strings; [`SecretsError::Config`] when the result is not a valid configuration.
pub async fn config_from_env(sdk: &SdkConfig) -> Result<Config, SecretsError> {
    let arns: Vec<String> = std::env::var("FITTRACK_SECRET_ARNS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    let secrets = load(&SecretsClient::new(sdk), &arns).await?;
    Ok(Config::from_lookup(|name| setting(&secrets, name, std::env::var(name).ok()))?)
}

/// A setting from the secrets, else from the environment; empty counts as unset in both, as in
/// [`Config::from_env`] (the template passes optional parameters as empty strings).
fn setting(secrets: &HashMap<String, String>, name: &str, env: Option<String>) -> Option<String> {
    secrets.get(name).cloned().filter(|v| !v.is_empty()).or(env.filter(|v| !v.is_empty()))
}

/// Reads the secrets `arns` into settings by configuration variable name.
///
/// # Errors
/// [`SecretsError::Unreadable`] as for [`config_from_env`].
pub async fn load(client: &SecretsClient, arns: &[String]) -> Result<HashMap<String, String>, SecretsError> {
    let mut settings = HashMap::new();
    for arn in arns {
        let unreadable = |reason: String| SecretsError::Unreadable { arn: arn.clone(), reason };
        let value = client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| unreadable(aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string()))?;
        let text = value.secret_string().ok_or_else(|| unreadable("not a string secret".into()))?;
        let fields: HashMap<String, String> =
            serde_json::from_str(text).map_err(|_| unreadable("not a JSON object of strings".into()))?;
        for (name, value) in fields {
            let name = if name.starts_with("FITTRACK_") { name } else { format!("FITTRACK_{}", name.to_uppercase()) };
            settings.insert(name, value);
        }
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_settings_are_unset() {
        let secrets = HashMap::from([("FITTRACK_PII_KEY".to_owned(), String::new())]);
        assert_eq!(setting(&secrets, "FITTRACK_PII_KEY", Some("from-env".into())).as_deref(), Some("from-env"));
        assert_eq!(setting(&secrets, "FITTRACK_STRAVA_SUBSCRIPTION_ID", Some(String::new())), None);
        let secrets = HashMap::from([("FITTRACK_PII_KEY".to_owned(), "secret".to_owned())]);
        assert_eq!(setting(&secrets, "FITTRACK_PII_KEY", Some("from-env".into())).as_deref(), Some("secret"));
    }
}
