//! The trainer's side of a training room against the real server: attempts graded by the
//! real grader and decided by trainers on a desk (an overrule, reviewed marks taken back)
//! go up through `store sync`, and `store list` over the shared store shows exactly what
//! the desk's own index shows — the effective result the grader's settling computes, not
//! the machine's verdict — for every filter and order; `report` exports the same bytes. A trainer's decisions in the review
//! screen (tmux) go up through the same queue when the screen closes.

mod db_support;
#[path = "review_fixture/mod.rs"]
mod fixture;
mod support;

use std::time::Duration;

use db_support::{err, out, Machine, TestDb};
use ringcoach::db::Role;
use ringcoach::store::Store;
use support::tmux::Tmux;

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

    // The trainer lists from a machine with no attempts of its own.
    let trainer_machine = Machine::new();
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
        let shared = listed(&trainer_machine, &url, extra);
        assert_eq!(shared, local, "store list {extra:?}");
        checked += local.len();
    }
    assert!(checked > 10, "the queries listed something");
    // A store named on the command line is read, not the shared one.
    let named = listed(
        &m,
        &url,
        &[
            "--data-dir",
            m.dir.path().join("elsewhere").to_str().unwrap(),
        ],
    );
    assert!(named.is_empty(), "{named:?}");
    let all = listed(&trainer_machine, &url, &[]);
    let row = |i: usize| {
        all.iter()
            .find(|r| r["id"] == ids[i].as_str())
            .unwrap()
            .clone()
    };
    // The trainer's exports, on a machine with no attempts of its own: the same bytes from
    // the shared store as from the desk's.
    for trainee in ["li.na", "zhang"] {
        let export = |local: bool| -> Vec<Vec<u8>> {
            let on = if local { &m } else { &trainer_machine };
            let d = m.dir.path().join(format!("{trainee}-{local}"));
            std::fs::create_dir_all(&d).unwrap();
            let (json, csv, checks) = (d.join("r.json"), d.join("r.csv"), d.join("c.csv"));
            let mut args = vec!["report", "--trainee", trainee];
            let paths = [
                ("--json", json.to_str().unwrap()),
                ("--csv", csv.to_str().unwrap()),
                ("--checks", checks.to_str().unwrap()),
            ];
            for (flag, p) in &paths {
                args.extend([*flag, *p]);
            }
            if local {
                args.push("--local");
            }
            let o = on.run(&url, None, &args);
            assert!(o.status.success(), "{}", err(&o));
            [json, csv, checks]
                .iter()
                .map(|p| std::fs::read(p).unwrap())
                .collect()
        };
        let shared = export(false);
        assert_eq!(shared, export(true), "report for {trainee}");
        assert!(shared[0].len() > 100);
    }
    assert_eq!(row(3)["passed"], false, "{}", row(3));
    assert_eq!(row(3)["overrules"], 1);
    assert_eq!(row(0)["reviewed"], false);
    assert_eq!(row(1)["reviewed"], true);
}

#[test]
fn decisions_made_in_the_review_screen_go_up_when_it_closes() {
    let Some(t) = TestDb::migrated("db_review") else {
        return;
    };
    let trainer = t.add("wang", Role::Trainer);
    let url = format!(
        "host={} port={} user={trainer} dbname={}",
        t.server.host, t.server.port, t.name
    );
    let m = Machine::new();
    let ids = fixture::make(&m.data());
    let o = m.run(&url, None, &["store", "sync"]);
    assert!(o.status.success(), "{}{}", out(&o), err(&o));

    let dir = m.dir.path();
    let screen = Duration::from_secs(30);
    let tx = Tmux::start(
        dir,
        &format!(
            "cd {d} && XDG_STATE_HOME='{d}/state' XDG_CONFIG_HOME='{d}/config' XDG_CACHE_HOME='{d}/cache' RINGCOACH_DATABASE_URL='{url}' {bin} review --data-dir '{data}' --trainer {trainer} --output null --lang en; echo EXITED=$?; sleep 60",
            d = dir.display(),
            data = m.data().display(),
            bin = fixture::BIN,
        ),
        80,
        24,
    );
    tx.wait_for("Review queue · 4 attempts", screen);
    tx.keys(&["t"]);
    tx.keys(&["-l", "li.na"]);
    tx.keys(&["Enter"]);
    tx.wait_for("3 attempts", screen);
    tx.keys(&["n"]);
    tx.wait_for("Review queue · 1 attempt ", screen);
    tx.keys(&["Enter"]);
    tx.wait_for("NOT PASSED 36/100", screen);
    // From the first check: picked up, not applicable, greeting, organisation.
    tx.keys(&["Home", "Down", "Down", "Down"]);
    tx.wait_for("光力物业", screen);
    tx.keys(&["o"]);
    tx.wait_for("overrule organisation named → pass, note:", screen);
    tx.keys(&["-l", "clearly 广利物业 on the recording"]);
    tx.keys(&["Enter"]);
    tx.wait_for("(was uncertain, overruled by", screen);
    tx.keys(&["m"]);
    tx.wait_for("Audit log (2)", screen);
    tx.keys(&["q"]);
    tx.wait_for("Review queue", screen);
    tx.keys(&["q"]);
    let end = tx.wait_for("EXITED=", screen);
    assert!(end.contains("EXITED=0"), "{end}");

    // On the server as the trainer made them, in their name.
    let rows = t
        .superuser()
        .query(
            "SELECT trainer, action, note FROM ringcoach.decisions WHERE attempt_id = $1 ORDER BY time, id",
            &[&ids[0].as_str()],
        )
        .unwrap();
    let got: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                trainer.clone(),
                "overrule".into(),
                "clearly 广利物业 on the recording".into()
            ),
            (trainer.clone(), "reviewed".into(), String::new()),
        ]
    );
    // And the shared store's list shows what the desk's shows.
    assert_eq!(
        listed(&m, &url, &[]),
        listed(&m, &url, &["--local"]),
        "store list over the shared store and the local one"
    );
    let store = Store::open(&m.data()).unwrap();
    let s = store.summary(&ids[0]).unwrap().unwrap();
    assert!(s.reviewed && s.overrules == 1, "{s:?}");
}
