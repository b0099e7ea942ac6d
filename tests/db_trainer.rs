//! The trainer's side of a training room against the real server: attempts graded by the
//! real grader and decided by trainers on a desk (an overrule, reviewed marks taken back)
//! go up through `store sync`, and `store list` over the shared store shows exactly what
//! the desk's own index shows — the effective result the grader's settling computes, not
//! the machine's verdict — for every filter and order; `report` exports the same bytes.
//! A trainer reviews the room from a machine holding no attempts: `review` reads the
//! server, records decisions there in the trainer's name (made as the desk's store makes
//! them), and a second trainer sees them. `review --local` / `--data-dir` review the desk's
//! store, and the decisions go up through the same queue when the screen closes.

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
    // A store named on the command line is read, not the shared one (an empty store here:
    // a directory that is not a store is an error of its own).
    Store::open(&m.dir.path().join("elsewhere")).unwrap();
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
fn decisions_made_in_the_review_screen_on_a_desk_go_up_when_it_closes() {
    review_on_the_desk("db_review", "--data-dir");
}

#[test]
fn review_local_reviews_the_desks_store_even_in_a_training_room() {
    review_on_the_desk("db_review_local", "--local");
}

/// Review over the desk's own store (`how`: `--data-dir DIR` or `--local`) while a shared
/// store is configured: decisions go to the desk's audit logs, and up when the screen closes.
fn review_on_the_desk(test: &str, how: &str) {
    let Some(t) = TestDb::migrated(test) else {
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
            "cd {d} && XDG_STATE_HOME='{d}/state' XDG_CONFIG_HOME='{d}/config' XDG_CACHE_HOME='{d}/cache' RINGCOACH_DATABASE_URL='{url}' {env} {bin} review {flag} --trainer {trainer} --output null --lang en; echo EXITED=$?; sleep 60",
            d = dir.display(),
            env = match how {
                "--local" => format!("RINGCOACH_DATA_DIR='{}'", m.data().display()),
                _ => String::new(),
            },
            flag = match how {
                "--local" => "--local".to_string(),
                _ => format!("--data-dir '{}'", m.data().display()),
            },
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
    overrule_the_organisation(&tx, false);
    tx.wait_for("Review queue", screen);
    quit(&tx);

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

/// On the attempt 喂,你好,光力物业,… (the queue holding only it): open it, play it if asked,
/// overrule the uncertain organisation check to pass with a note, mark it reviewed, and go
/// back to the queue.
fn overrule_the_organisation(tx: &Tmux, play: bool) {
    let screen = Duration::from_secs(30);
    tx.keys(&["Enter"]);
    tx.wait_for("NOT PASSED 36/100", screen);
    if play {
        tx.keys(&["p"]);
    }
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
}

/// Quits the review from its queue; it must exit 0.
fn quit(tx: &Tmux) {
    tx.keys(&["q"]);
    let end = tx.wait_for("EXITED=", Duration::from_secs(30));
    assert!(end.contains("EXITED=0"), "{end}");
}

/// `ringcoach review` in tmux on `m`, against `url`.
fn review_screen(m: &Machine, url: &str, extra: &str) -> Tmux {
    let d = m.dir.path();
    Tmux::start(
        d,
        &format!(
            "cd {d} && RINGCOACH_DATA_DIR='{data}' XDG_STATE_HOME='{d}/state' XDG_CONFIG_HOME='{d}/config' XDG_CACHE_HOME='{d}/cache' RINGCOACH_DATABASE_URL='{url}' {bin} review --output null --lang en {extra}; echo EXITED=$?; sleep 60",
            d = d.display(),
            data = m.data().display(),
            bin = fixture::BIN,
        ),
        80,
        24,
    )
}

#[test]
fn a_trainer_reviews_the_room_from_a_machine_with_no_attempts() {
    let Some(t) = TestDb::migrated("db_room") else {
        return;
    };
    let url = |user: &str| {
        format!(
            "host={} port={} user={user} dbname={}",
            t.server.host, t.server.port, t.name
        )
    };
    let (wang, zhao) = (t.add("wang", Role::Trainer), t.add("zhao", Role::Trainer));
    let (lina, zhang) = (t.add("lina", Role::Agent), t.add("zhang", Role::Agent));
    // Two desks, each uploading its agent's attempts under that agent's own name.
    let (desk1, desk2) = (Machine::new(), Machine::new());
    let s = fixture::tone();
    let store = Store::open(&desk1.data()).unwrap();
    let heard = "喂,你好,光力物业,有什么事?";
    let doubtful = fixture::attempt(
        &store,
        &lina,
        "answer-call",
        heard,
        "2026-11-20T09:00:00Z",
        &s,
    );
    let good = "您好,广利物业,请问有什么可以帮您?";
    fixture::attempt(
        &store,
        &lina,
        "answer-call",
        good,
        "2026-11-24T14:00:00Z",
        &s,
    );
    drop(store);
    let store = Store::open(&desk2.data()).unwrap();
    fixture::attempt(
        &store,
        &zhang,
        "answer-call",
        "您好,广利物业。",
        "2026-11-21T10:00:00Z",
        &s,
    );
    drop(store);
    for (desk, agent, n) in [(&desk1, &lina, 2), (&desk2, &zhang, 1)] {
        let o = desk.run(&url(agent), None, &["store", "sync"]);
        assert!(o.status.success(), "{}{}", out(&o), err(&o));
        assert_eq!(
            out(&o),
            format!("uploaded {n} attempt(s) and 0 decision(s); 0 attempt(s) wait\n")
        );
    }
    let (trainer, other) = (Machine::new(), Machine::new());
    let row = |m: &Machine| -> serde_json::Value {
        listed(m, &url(&zhao), &[])
            .into_iter()
            .find(|r| r["id"] == doubtful.as_str())
            .unwrap()
    };
    let before = row(&other);
    assert_eq!(
        (
            &before["needs_review"],
            &before["reviewed"],
            &before["overrules"]
        ),
        (&true.into(), &false.into(), &0.into()),
        "{before}"
    );

    // The second trainer has the room's queue open, unreviewed only, the whole time.
    let screen = Duration::from_secs(30);
    let tz = review_screen(&other, &url(&zhao), "");
    tz.wait_for("Review queue · 3 attempts", screen);
    tz.keys(&["u"]);
    tz.wait_for("Review queue · 3 attempts", screen);

    // The first trainer, on a machine with no attempts, in their database name.
    let tw = review_screen(&trainer, &url(&wang), "");
    tw.wait_for("Review queue · 3 attempts", screen);
    tw.keys(&["n"]);
    tw.wait_for("Review queue · 1 attempt ", screen);
    // Its recording comes from the server into the checked cache.
    overrule_the_organisation(&tw, true);
    // The queue is read again from the server: nothing needs review now.
    tw.wait_for("Review queue · 0 attempts", screen);
    quit(&tw);

    // The other trainer's queue, read again, no longer holds it.
    tz.keys(&["u"]);
    tz.wait_for("Review queue · 3 attempts", screen);
    tz.keys(&["u"]);
    tz.wait_for("Review queue · 2 attempts", screen);
    quit(&tz);

    // On the server in the first trainer's name, each entry as the desk's store makes it:
    // the overrule knows the machine's verdict and the report it was made on.
    let rows = t
        .superuser()
        .query(
            "SELECT trainer, action, note, entry::text FROM ringcoach.decisions WHERE attempt_id = $1 ORDER BY time, id",
            &[&doubtful.as_str()],
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
                wang.clone(),
                "overrule".into(),
                "clearly 广利物业 on the recording".into()
            ),
            (wang.clone(), "reviewed".into(), String::new()),
        ]
    );
    let overrule: serde_json::Value = serde_json::from_str(&rows[0].get::<_, String>(3)).unwrap();
    assert_eq!(
        (
            &overrule["graded"],
            &overrule["report"],
            &overrule["verdict"]
        ),
        (&"uncertain".into(), &0.into(), &"pass".into()),
        "{overrule}"
    );
    // The same decisions made on a desk's store settle to the same row.
    let copy = Machine::new();
    let store = Store::open(&copy.data()).unwrap();
    let id = fixture::attempt(
        &store,
        &lina,
        "answer-call",
        heard,
        "2026-11-20T09:00:00Z",
        &s,
    );
    store
        .overrule(&id, &wang, "organisation", "uncertain", "pass", "")
        .unwrap();
    let on_a_desk = store.mark_reviewed(&id, &wang, "").unwrap();

    // The second trainer's `store list` shows the settled result changed.
    let after = row(&other);
    assert_ne!(after, before);
    assert_eq!(
        (
            &after["needs_review"],
            &after["reviewed"],
            &after["overrules"]
        ),
        (&false.into(), &true.into(), &1.into()),
        "{after}"
    );
    assert_eq!(after["score"], on_a_desk.score.unwrap(), "{after}");
    assert_eq!(after["passed"], on_a_desk.passed.unwrap(), "{after}");

    // The recording was fetched once into the trainer's cache, and checked; the trainer's
    // machine holds no attempt of its own.
    let cached = trainer
        .dir
        .path()
        .join(format!("cache/ringcoach/audio/{doubtful}.wav"));
    let sha: String = t
        .superuser()
        .query_one(
            "SELECT audio_sha256 FROM ringcoach.attempts WHERE id = $1",
            &[&doubtful.as_str()],
        )
        .unwrap()
        .get(0);
    assert_eq!(db_support::sha256(&std::fs::read(&cached).unwrap()), sha);
    let local = Store::open(&trainer.data()).unwrap();
    assert!(local.list(&Default::default()).unwrap().is_empty());
}

#[test]
fn review_says_in_one_line_when_the_shared_store_is_unreachable() {
    let Some(t) = TestDb::migrated("db_room_down") else {
        return;
    };
    let m = Machine::new();
    // No server listens on this port.
    let url = format!("host={} port=1 user=wang dbname={}", t.server.host, t.name);
    let o = m.run(&url, None, &["review", "--output", "null"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    let e = err(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("cannot connect to the database") && e.contains("review --local"),
        "{e}"
    );
    assert!(out(&o).is_empty());
}

/// The attempt screen's view with the decisions' times left out (they are when each was
/// made).
fn timeless(mut v: ringcoach::review::model::AttemptView) -> ringcoach::review::model::AttemptView {
    for e in &mut v.audit {
        e.time = ringcoach::store::Timestamp::from_unix_ms(0);
    }
    v
}

#[test]
fn decisions_made_over_the_server_are_those_a_desk_makes_and_only_in_the_trainers_name() {
    use ringcoach::audio::playback::NullSink;
    use ringcoach::db::PgStore;
    use ringcoach::review::run::{Attempts, Runtime};
    use ringcoach::review::{Effect, Msg};
    use ringcoach::scenario::Catalog;

    let Some(t) = TestDb::migrated("db_decide") else {
        return;
    };
    let trainer = t.add("wang", Role::Trainer);
    let agent = t.add("lina", Role::Agent);
    let url = format!(
        "host={} port={} user={trainer} dbname={}",
        t.server.host, t.server.port, t.name
    );
    let m = Machine::new();
    let ids = fixture::make(&m.data());
    let own = fixture::attempt(
        &Store::open(&m.data()).unwrap(),
        &agent,
        "answer-call",
        "您好,广利物业。",
        "2026-11-25T10:00:00Z",
        &fixture::tone(),
    );
    let o = m.run(&url, None, &["store", "sync"]);
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    let cache = m.dir.path().join("cache");
    let shared = |user: &str, name: &str| {
        let pg = PgStore::new(t.connect_as(user), &cache).unwrap();
        Runtime::over(
            Attempts::Shared(Box::new(pg)),
            Catalog::builtin().unwrap(),
            Box::new(NullSink),
            name,
        )
    };
    let mut desk = Runtime::new(
        Store::open(&m.data()).unwrap(),
        Catalog::builtin().unwrap(),
        Box::new(NullSink),
        &trainer,
    );
    let mut room = Runtime::over(
        Attempts::Shared(Box::new(
            PgStore::new(t.connect_as(&trainer), &cache)
                .unwrap()
                .reconnecting(t.socket_settings(&trainer)),
        )),
        Catalog::builtin().unwrap(),
        Box::new(NullSink),
        &trainer,
    );
    let id = &ids[0];
    // An overrule, a correction that re-grades (the overrule no longer matches), the
    // overrule kept on the re-graded report, a reviewed mark taken back: on both stores.
    let steps = [
        Effect::Overrule {
            id: id.clone(),
            check: "organisation".into(),
            original: "uncertain".into(),
            verdict: "fail".into(),
            note: "名称说错了".into(),
        },
        Effect::Correct {
            id: id.clone(),
            turns: vec!["您好,广利物业,请问有什么可以帮您?".into()],
        },
        Effect::Overrule {
            id: id.clone(),
            check: "organisation".into(),
            original: "pass".into(),
            verdict: "fail".into(),
            note: "kept".into(),
        },
        Effect::MarkReviewed(id.clone()),
        Effect::UnmarkReviewed(id.clone()),
    ];
    for fx in steps {
        for rt in [&mut desk, &mut room] {
            let msgs = rt.effect(fx.clone());
            assert!(
                !msgs.iter().any(|m| matches!(m, Msg::Failed(_))),
                "{fx:?}: {msgs:?}"
            );
        }
        assert_eq!(
            timeless(room.open(id).unwrap()),
            timeless(desk.open(id).unwrap()),
            "after {fx:?}"
        );
    }
    // The server drops the review's connection (a restart, say): the next action connects
    // again and is recorded once.
    let dropped: i64 = t
        .superuser()
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = $1",
            &[&trainer],
        )
        .unwrap()
        .get(0);
    assert!(dropped >= 1, "{dropped}");
    for rt in [&mut room, &mut desk] {
        let msgs = rt.effect(Effect::MarkReviewed(id.clone()));
        assert!(
            !msgs.iter().any(|m| matches!(m, Msg::Failed(_))),
            "{msgs:?}"
        );
    }
    let a = room.store.load(id).unwrap();
    assert!(a.corrected_transcript.is_some() && a.regraded_report.is_some());
    assert_eq!(a.audit.len(), 7, "{:?}", a.audit);
    let local = Store::open(&m.data())
        .unwrap()
        .summary(id)
        .unwrap()
        .unwrap();
    let mut pg = PgStore::new(t.connect_as(&trainer), &cache).unwrap();
    assert_eq!(pg.summary(id).unwrap().unwrap(), local);

    // Nobody records a decision in another's name, nor an agent at all; nothing is written.
    let count = || -> i64 {
        t.superuser()
            .query_one("SELECT count(*) FROM ringcoach.decisions", &[])
            .unwrap()
            .get(0)
    };
    let before = count();
    // (The agent sees their own attempt, and may not decide on it either.)
    for (user, name, id) in [(&trainer, "zhao", &ids[1]), (&agent, agent.as_str(), &own)] {
        let mut rt = shared(user, name);
        for fx in [
            Effect::MarkReviewed(id.clone()),
            Effect::Correct {
                id: id.clone(),
                turns: vec!["您好".into()],
            },
        ] {
            let msgs = rt.effect(fx);
            assert!(
                matches!(&msgs[..], [Msg::Failed(e)] if e.contains("takes decisions only from a trainer")),
                "{user} as {name}: {msgs:?}"
            );
        }
    }
    assert_eq!(count(), before);
    // Asked for by name on the command line, another trainer's name is refused up front.
    let o = m.run(
        &url,
        None,
        &["review", "--trainer", "zhao", "--output", "null"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("records your decisions as"), "{}", err(&o));
}
