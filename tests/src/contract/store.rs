use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Value, json};

use fittrack_platform::ports::{
    Condition, Cursor, Index, Item, ItemStore, Key, Query, StoreError, Table, Update, WriteOp,
};

fn item(v: Value) -> Item {
    v.as_object().cloned().expect("object")
}

fn unique_pk(prefix: &str) -> String {
    format!("{prefix}#{}", uuid::Uuid::new_v4().simple())
}

/// Items come back as they were written: strings, integers, booleans, nulls, lists and maps.
pub async fn round_trips_items(store: &dyn ItemStore) {
    let pk = unique_pk("RT");
    let written = item(json!({
        "pk": pk, "sk": "A", "s": "text", "n": 42, "neg": -7, "b": true, "nothing": null,
        "list": [1, "two", false], "map": {"inner": "x", "count": 3}
    }));
    store.put(Table::Users, written.clone(), None).await.unwrap();
    assert_eq!(store.get(Table::Users, &Key::new(&pk, "A")).await.unwrap(), Some(written));
    assert_eq!(store.get(Table::Users, &Key::new(&pk, "missing")).await.unwrap(), None);
}

/// A put whose condition fails returns ConditionFailed and leaves the stored item untouched.
pub async fn conditional_put_fails_without_writing(store: &dyn ItemStore) {
    let pk = unique_pk("CP");
    let original = item(json!({"pk": pk, "sk": "A", "v": 1}));
    store.put(Table::Users, original.clone(), Some(Condition::NotExists)).await.unwrap();
    let replacement = item(json!({"pk": pk, "sk": "A", "v": 2}));
    let result = store.put(Table::Users, replacement, Some(Condition::NotExists)).await;
    assert_eq!(result, Err(StoreError::ConditionFailed));
    assert_eq!(store.get(Table::Users, &Key::new(&pk, "A")).await.unwrap(), Some(original));
    let result = store.put(Table::Users, item(json!({"pk": pk, "sk": "B"})), Some(Condition::Exists)).await;
    assert_eq!(result, Err(StoreError::ConditionFailed));
    assert_eq!(store.get(Table::Users, &Key::new(&pk, "B")).await.unwrap(), None);
}

/// Updates create missing items, add atomically from zero, return the new item, and change
/// nothing when their condition fails.
pub async fn conditional_update_semantics(store: &dyn ItemStore) {
    let key = Key::new(unique_pk("UP"), "A");
    let created =
        store.update(Table::Users, &key, Update::new().add("count", 2).set("label", "x"), None).await.unwrap();
    assert_eq!(created.get("count"), Some(&json!(2)));
    assert_eq!(created.get("pk"), Some(&json!(key.pk)));

    let failed =
        store.update(Table::Users, &key, Update::new().add("count", 5), Some(Condition::equals("label", "y"))).await;
    assert_eq!(failed, Err(StoreError::ConditionFailed));

    let updated = store
        .update(
            Table::Users,
            &key,
            Update::new().add("count", -1).remove("label"),
            Some(Condition::at_least("count", 2)),
        )
        .await
        .unwrap();
    assert_eq!(updated.get("count"), Some(&json!(1)));
    assert_eq!(updated.get("label"), None);
    let stored = store.get(Table::Users, &key).await.unwrap().unwrap();
    assert_eq!(stored, updated);

    let or = Condition::Or(vec![Condition::NotExists, Condition::less_than("count", 1)]);
    assert_eq!(
        store.update(Table::Users, &key, Update::new().set("reset", true), Some(or)).await,
        Err(StoreError::ConditionFailed)
    );
    let missing_attr = Condition::missing("reset");
    assert!(
        store.update(Table::Users, &key, Update::new().set("reset", true), Some(missing_attr.clone())).await.is_ok()
    );
    assert_eq!(
        store.update(Table::Users, &key, Update::new().set("reset", false), Some(missing_attr)).await,
        Err(StoreError::ConditionFailed)
    );
}

/// A conditional delete only deletes when its condition holds.
pub async fn conditional_delete(store: &dyn ItemStore) {
    let key = Key::new(unique_pk("DEL"), "A");
    assert_eq!(store.delete(Table::Users, &key, Some(Condition::Exists)).await, Err(StoreError::ConditionFailed));
    store.put(Table::Users, item(json!({"pk": key.pk, "sk": "A", "v": 1})), None).await.unwrap();
    assert_eq!(
        store.delete(Table::Users, &key, Some(Condition::equals("v", 2))).await,
        Err(StoreError::ConditionFailed)
    );
    assert!(store.get(Table::Users, &key).await.unwrap().is_some());
    store.delete(Table::Users, &key, Some(Condition::Exists)).await.unwrap();
    assert_eq!(store.get(Table::Users, &key).await.unwrap(), None);
}

/// A transaction writes everything or nothing, and names the operations whose condition failed.
pub async fn transactions_are_all_or_nothing(store: &dyn ItemStore) {
    let pk = unique_pk("TX");
    store.put(Table::Users, item(json!({"pk": pk, "sk": "BAL", "balance": 10})), None).await.unwrap();
    let ops = |cost: i64, ticket: &str| {
        vec![
            WriteOp::Update {
                table: Table::Users,
                key: Key::new(&pk, "BAL"),
                update: Update::new().add("balance", -cost),
                condition: Some(Condition::at_least("balance", cost)),
            },
            WriteOp::Put {
                table: Table::Tickets,
                item: item(json!({"pk": pk, "sk": ticket, "cost": cost})),
                condition: Some(Condition::NotExists),
            },
        ]
    };
    let result = store.transact(ops(15, "T1")).await;
    assert_eq!(result, Err(StoreError::TransactionCancelled { failed: vec![0] }));
    assert_eq!(
        store.get(Table::Tickets, &Key::new(&pk, "T1")).await.unwrap(),
        None,
        "ticket written despite failed debit"
    );
    assert_eq!(store.get(Table::Users, &Key::new(&pk, "BAL")).await.unwrap().unwrap()["balance"], json!(10));

    store.transact(ops(4, "T1")).await.unwrap();
    assert_eq!(store.get(Table::Users, &Key::new(&pk, "BAL")).await.unwrap().unwrap()["balance"], json!(6));
    assert!(store.get(Table::Tickets, &Key::new(&pk, "T1")).await.unwrap().is_some());

    // A duplicate ticket id cancels the debit too.
    let result = store.transact(ops(4, "T1")).await;
    assert_eq!(result, Err(StoreError::TransactionCancelled { failed: vec![1] }));
    assert_eq!(store.get(Table::Users, &Key::new(&pk, "BAL")).await.unwrap().unwrap()["balance"], json!(6));

    let check_fails = vec![
        WriteOp::Put { table: Table::Users, item: item(json!({"pk": pk, "sk": "X"})), condition: None },
        WriteOp::Check { table: Table::Users, key: Key::new(&pk, "NOPE"), condition: Condition::Exists },
    ];
    assert_eq!(store.transact(check_fails).await, Err(StoreError::TransactionCancelled { failed: vec![1] }));
    assert_eq!(store.get(Table::Users, &Key::new(&pk, "X")).await.unwrap(), None);
}

/// Guarded debits never overspend: with a balance of 100 and 40 debits of 10 (racing when
/// `parallel`), exactly 10 succeed and the balance ends at 0.
///
/// The DynamoDB emulator runs them one after another: moto applies conditional writes without
/// any locking, so only real DynamoDB (whose conditional writes are atomic) or the embedded store
/// can be raced meaningfully.
pub async fn guarded_debits_never_overspend(store: Arc<dyn ItemStore>, parallel: bool) {
    let key = Key::new(unique_pk("RACE"), "BAL");
    store.put(Table::Points, item(json!({"pk": key.pk, "sk": "BAL", "balance": 100})), None).await.unwrap();
    let debit = |store: Arc<dyn ItemStore>, key: Key| async move {
        let guarded = Some(Condition::at_least("balance", 10));
        store.update(Table::Points, &key, Update::new().add("balance", -10), guarded).await
    };
    let mut results = Vec::new();
    if parallel {
        // Spawned all at once (collected first), so they really race.
        let tasks: Vec<_> = (0..40).map(|_| tokio::spawn(debit(Arc::clone(&store), key.clone()))).collect();
        for task in tasks {
            results.push(task.await.unwrap());
        }
    } else {
        for _ in 0..40 {
            results.push(debit(Arc::clone(&store), key.clone()).await);
        }
    }
    let mut succeeded = 0;
    for result in results {
        match result {
            Ok(_) => succeeded += 1,
            Err(StoreError::ConditionFailed) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(succeeded, 10);
    assert_eq!(store.get(Table::Points, &key).await.unwrap().unwrap()["balance"], json!(0));
}

async fn collect_pages(store: &dyn ItemStore, query: Query) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for _ in 0..50 {
        let page = store.query(query.clone().after(cursor.clone())).await.unwrap();
        assert!(page.items.len() <= query.limit as usize, "page larger than the limit");
        seen.extend(page.items.iter().map(|i| i["sk"].as_str().unwrap().to_owned()));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
    panic!("pagination did not end");
}

/// Queries return one partition in sort order, filtered by prefix, and paging visits each item once.
pub async fn queries_are_ordered_and_paginated(store: &dyn ItemStore) {
    let pk = unique_pk("Q");
    let mut expected = Vec::new();
    for i in (0..10).rev() {
        let sk = format!("LEDGER#{i:03}");
        store.put(Table::Points, item(json!({"pk": pk, "sk": sk})), None).await.unwrap();
        expected.push(sk);
    }
    store.put(Table::Points, item(json!({"pk": pk, "sk": "BALANCE"})), None).await.unwrap();
    store.put(Table::Points, item(json!({"pk": unique_pk("OTHER"), "sk": "LEDGER#000"})), None).await.unwrap();
    expected.sort();

    let query = Query::partition(Table::Points, &pk).sort_prefix("LEDGER#").limit(3);
    assert_eq!(collect_pages(store, query.clone()).await, expected);
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(collect_pages(store, query.descending()).await, reversed);
    assert_eq!(collect_pages(store, Query::partition(Table::Points, &pk).limit(100)).await.len(), 11);
    let unique: HashSet<_> = expected.iter().collect();
    assert_eq!(unique.len(), 10);
}

/// The secondary index orders by its sort key across partitions.
pub async fn index_queries_are_ordered_and_paginated(store: &dyn ItemStore) {
    let gsi = unique_pk("G");
    for i in [3, 1, 4, 0, 2] {
        let it = item(json!({"pk": unique_pk("U"), "sk": format!("S{i}"), "gsi1pk": gsi, "gsi1sk": format!("{i:04}")}));
        store.put(Table::Users, it, None).await.unwrap();
    }
    let query = Query::partition(Table::Users, &gsi).on_index(Index::Gsi1).descending().limit(2);
    assert_eq!(collect_pages(store, query).await, ["S4", "S3", "S2", "S1", "S0"]);
}

/// A cursor that the store did not issue is rejected, not silently restarted.
pub async fn rejects_forged_cursors(store: &dyn ItemStore) {
    let query = Query::partition(Table::Users, unique_pk("C")).after(Some(Cursor("not-a-cursor!".into())));
    assert_eq!(store.query(query).await, Err(StoreError::InvalidCursor));
}

/// An upper bound on the sort key selects what sorts before it (the "due before now" pattern),
/// on the base table and on the index, and pages like any query.
pub async fn queries_bounded_above(store: &dyn ItemStore) {
    let pk = unique_pk("DUE");
    for due in [5, 1, 9, 3, 7] {
        store
            .put(
                Table::Users,
                item(json!({"pk": pk, "sk": format!("{due:04}"), "gsi1pk": pk, "gsi1sk": format!("{due:04}")})),
                None,
            )
            .await
            .unwrap();
    }
    let base = Query::partition(Table::Users, &pk).sort_below("0006").limit(2);
    assert_eq!(collect_pages(store, base).await, ["0001", "0003", "0005"]);
    let index = Query::partition(Table::Users, &pk).on_index(Index::Gsi1).sort_below("0004").limit(1);
    assert_eq!(collect_pages(store, index).await, ["0001", "0003"]);
    let both = Query::partition(Table::Users, &pk).sort_prefix("0").sort_below("0004");
    assert!(matches!(store.query(both).await, Err(StoreError::Invalid(_))));
    let from = Query::partition(Table::Users, &pk).sort_from("0003").limit(2);
    assert_eq!(collect_pages(store, from).await, ["0003", "0005", "0007", "0009"]);
    let from_down = Query::partition(Table::Users, &pk).sort_from("0004").descending().limit(1);
    assert_eq!(collect_pages(store, from_down).await, ["0009", "0007", "0005"]);
    let range = Query::partition(Table::Users, &pk).sort_from("0001").sort_below("0004");
    assert!(matches!(store.query(range).await, Err(StoreError::Invalid(_))));
}
