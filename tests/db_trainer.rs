//! The trainer's side of a training room against the real server: attempts graded by the
//! real grader and decided by trainers on a desk (an overrule, reviewed marks taken back)
//! go up through `store sync`, and `store list` over the shared store shows exactly what
//! the desk's own index shows — the effective result the grader's settling computes, not
//! the machine's verdict — for every filter and order.

mod db_support;
#[path = "review_fixture/mod.rs"]
mod fixture;

use db_support::{err, out, Machine, TestDb};
use ringcoach::db::Role;
use ringcoach::store::Store;

fn listed(m: &Machine, url: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["store", "list", "--json"];
    args.extend_from_slice(extra);
    let o = m.run(url, None, &args);
    assert!(o.status.success(), "{}", err(&o));
    serde_json::from_str(&out(&o)).unwrap()
}

#[test]
fn the_shared_store_lists_the_effective_result_exactly_as_the_desk_does() {
    let Some(t) = TestDb::migrated("db_trainer") else {
        return;
    };
    let trainer = t.add("wang", Role::Trainer);
    let url = format!(
        "host={} port={} user={trainer} dbname={}",
        t.server.host, t.server.port, t.name
    );
    let m = Machine::new();
    let ids = fixture::make(&m.data());
    let store = Store::open(&m.data()).unwrap();
    // li.na's last attempt passes as graded; the trainer hears a 喂 Whisper dropped.
    store
        .overrule(
            &ids[3],
            &trainer,
            "banned_phrase:wei",
            "pass",
            "fail",
            "录音开头有「喂」",
        )
        .unwrap();
    // A mark taken back stands taken back; another one stands.
    store.mark_reviewed(&ids[0], &trainer, "").unwrap();
    store
        .unmark_reviewed(&ids[0], &trainer, "pressed by mistake")
        .unwrap();
    store.mark_reviewed(&ids[1], &trainer, "").unwrap();

    let o = m.run(&url, None, &["store", "sync"]);
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    assert_eq!(
        out(&o),
        "uploaded 4 attempt(s) and 4 decision(s); 0 attempt(s) wait\n"
    );

    // The view alone would still say the machine's "passed": the overrule decides.
    let machine: bool = t
        .superuser()
        .query_one(
            "SELECT passed FROM ringcoach.attempt_summaries WHERE id = $1",
            &[&ids[3].as_str()],
        )
        .unwrap()
        .get(0);
    assert!(machine, "the machine passed it");

    let mut checked = 0;
    for extra in [
        &[][..],
        &["--verdict", "passed"],
        &["--verdict", "failed"],
        &["--unreviewed"],
        &["--needs-review"],
        &["--sort", "score"],
        &["--sort", "score", "--asc", "--limit", "2"],
        &["--trainee", "li.na", "--sort", "trainee"],
        &["--search", "广利"],
    ] {
        let mut local_args = vec!["--local"];
        local_args.extend_from_slice(extra);
        let local = listed(&m, &url, &local_args);
        let shared = listed(&m, &url, extra);
        assert_eq!(shared, local, "store list {extra:?}");
        checked += local.len();
    }
    assert!(checked > 10, "the queries listed something");
    let all = listed(&m, &url, &[]);
    let row = |i: usize| {
        all.iter()
            .find(|r| r["id"] == ids[i].as_str())
            .unwrap()
            .clone()
    };
    assert_eq!(row(3)["passed"], false, "{}", row(3));
    assert_eq!(row(3)["overrules"], 1);
    assert_eq!(row(0)["reviewed"], false);
    assert_eq!(row(1)["reviewed"], true);
}
