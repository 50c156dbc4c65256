//! The admin search index: small items beside the accounts, one per way of looking people up,
//! each moved in the transaction that changes what it indexes. One query of one partition
//! answers each filter; nothing scans the table (the costs are in docs/data-model.md).
//!
//! - `DIR#NAME#<first letter>` / `<name folded to lower case>#<user>`: display-name prefixes
//!   (partitioned by the first letter, so the prefix is a `begins_with` on one partition);
//! - `DIR#STATUS#<status>` / `<created_at>#<user>`: accounts by status, newest first;
//! - `DIR#TIER#<code>` / `<user>`: accounts by competition tier.
//!
//! Exact email goes through the email guard (`EMAIL#<lookup hash>`), which registration already
//! keeps: emails stay encrypted and are never indexed in the clear.

use fittrack_domain::{AccountStatus, UserId};
use fittrack_platform::ports::{Item, Key, Table, WriteOp};

/// The name as the index sorts and matches it: lower case, surrounding spaces gone.
pub fn fold_name(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The name partition a folded prefix or name falls in (its first character).
pub fn name_partition(folded: &str) -> Option<String> {
    folded.chars().next().map(|c| format!("DIR#NAME#{c}"))
}

pub fn name_key(name: &str, user: UserId) -> Option<Key> {
    let folded = fold_name(name);
    name_partition(&folded).map(|pk| Key::new(pk, format!("{folded}#{user}")))
}

pub fn status_partition(status: AccountStatus) -> String {
    format!("DIR#STATUS#{status}")
}

pub fn status_key(status: AccountStatus, created_at: i64, user: UserId) -> Key {
    Key::new(status_partition(status), format!("{created_at:012}#{user}"))
}

pub fn tier_partition(code: &str) -> String {
    format!("DIR#TIER#{code}")
}

pub fn tier_key(code: &str, user: UserId) -> Key {
    Key::new(tier_partition(code), user.to_string())
}

fn put(key: Key, user: UserId) -> WriteOp {
    let mut item = Item::new();
    item.insert("pk".into(), key.pk.into());
    item.insert("sk".into(), key.sk.into());
    item.insert("user_id".into(), user.to_string().into());
    WriteOp::Put { table: Table::Users, item, condition: None }
}

fn delete(key: Key) -> WriteOp {
    WriteOp::Delete { table: Table::Users, key, condition: None }
}

/// The entries of a new account.
pub fn new_account_ops(user: UserId, name: &str, created_at: i64) -> Vec<WriteOp> {
    let mut ops = vec![put(status_key(AccountStatus::Active, created_at, user), user)];
    ops.extend(name_key(name, user).map(|k| put(k, user)));
    ops
}

/// Moves the name entry (nothing when the folded name is the same).
pub fn rename_ops(user: UserId, old: &str, new: &str) -> Vec<WriteOp> {
    if fold_name(old) == fold_name(new) {
        return Vec::new();
    }
    let mut ops: Vec<WriteOp> = name_key(old, user).map(delete).into_iter().collect();
    ops.extend(name_key(new, user).map(|k| put(k, user)));
    ops
}

/// Moves the status entry.
pub fn status_ops(user: UserId, created_at: i64, old: AccountStatus, new: AccountStatus) -> Vec<WriteOp> {
    vec![delete(status_key(old, created_at, user)), put(status_key(new, created_at, user), user)]
}

/// Moves the tier entry.
pub fn tier_ops(user: UserId, old: Option<&str>, new: Option<&str>) -> Vec<WriteOp> {
    if old == new {
        return Vec::new();
    }
    let mut ops: Vec<WriteOp> = old.map(|code| delete(tier_key(code, user))).into_iter().collect();
    ops.extend(new.map(|code| put(tier_key(code, user), user)));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_index_by_first_letter_case_blind() {
        let user = UserId::generate();
        let key = name_key("  Ada Lovelace ", user).unwrap();
        assert_eq!(key.pk, "DIR#NAME#a");
        assert!(key.sk.starts_with("ada lovelace#"));
        assert!(name_key("   ", user).is_none());
        assert!(rename_ops(user, "Ada", "ADA").is_empty(), "a change of case moves nothing");
        assert_eq!(rename_ops(user, "Ada", "Bea").len(), 2);
        assert_eq!(tier_ops(user, None, Some("F-30-39-INT")).len(), 1);
        assert!(tier_ops(user, Some("F-30-39-INT"), Some("F-30-39-INT")).is_empty());
    }
}
