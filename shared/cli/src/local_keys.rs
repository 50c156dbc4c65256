//! Development keys, generated into the data directory at first start so nothing secret is ever
//! committed. Production reads the same settings from its environment instead.

use std::collections::HashMap;
use std::path::Path;

use fittrack_accounts::crypto::{generate_pii_key, generate_signing_key};

const FILE: &str = "keys.json";

/// Loads `keys.json` from `data_dir`, creating it (readable by the owner only) if missing, and
/// adding any key a newer version needs (the file keeps its permissions).
pub fn load_or_create(data_dir: &Path) -> std::io::Result<HashMap<String, String>> {
    let path = data_dir.join(FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let mut keys: HashMap<String, String> = serde_json::from_str(&text).map_err(std::io::Error::other)?;
        let missing: Vec<(String, String)> =
            generated().into_iter().filter(|(name, _)| !keys.contains_key(name)).collect();
        if !missing.is_empty() {
            keys.extend(missing);
            std::fs::write(&path, serde_json::to_string_pretty(&keys).map_err(std::io::Error::other)?)?;
        }
        return Ok(keys);
    }
    std::fs::create_dir_all(data_dir)?;
    let keys = generated();
    let text = serde_json::to_string_pretty(&keys).map_err(std::io::Error::other)?;
    write_private(&path, &text)?;
    Ok(keys)
}

/// A fresh set of keys, named as the environment variables that carry them.
pub fn generated() -> HashMap<String, String> {
    HashMap::from([
        ("FITTRACK_JWT_SIGNING_KEY".to_owned(), generate_signing_key()),
        ("FITTRACK_PII_KEY".to_owned(), generate_pii_key()),
        ("FITTRACK_TRACKER_KEY".to_owned(), generate_pii_key()),
    ])
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("fittrack-keys-{}", uuid_like()));
        let first = load_or_create(&dir).unwrap();
        let second = load_or_create(&dir).unwrap();
        assert_eq!(first, second);
        assert_ne!(first, generated());
        // A file from before the tracker key existed gets one added, and keeps the others.
        let mut old = first.clone();
        old.remove("FITTRACK_TRACKER_KEY");
        std::fs::write(dir.join(FILE), serde_json::to_string(&old).unwrap()).unwrap();
        let upgraded = load_or_create(&dir).unwrap();
        assert_eq!(upgraded["FITTRACK_PII_KEY"], first["FITTRACK_PII_KEY"]);
        assert!(upgraded.contains_key("FITTRACK_TRACKER_KEY"));
        assert_eq!(load_or_create(&dir).unwrap(), upgraded);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn uuid_like() -> String {
        format!("{}-{:?}", std::process::id(), std::time::SystemTime::now())
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect()
    }
}
