//! `ringcoach db migrate | add-user | status` and `ringcoach store sync` through the real
//! binary against the real server `scripts/with-postgres` starts: what they print, their exit
//! codes, and a one-line error that says what to do for each way a connection goes wrong —
//! never showing the URL or a password.

mod db_support;

use std::process::{Command, Output};

use db_support::{err, out, same_id_other_grade, samples, sha256, Machine, TestDb};
use ringcoach::db::load::save_attempt;
use ringcoach::db::Role;
use ringcoach::store::{AttemptId, Store};

/// The unix-socket URL for `user` (the test server trusts its socket).
fn socket_url(t: &TestDb, user: &str) -> String {
    format!(
        "host={} port={} user='{user}' dbname={}",
        t.server.host, t.server.port, t.name
    )
}

/// The TCP URL for `user`: TLS, checked against the config's ca_file.
fn tcp_url(t: &TestDb, user: &str) -> String {
    format!("postgresql://{user}@127.0.0.1:{}/{}", t.server.port, t.name)
}

/// One line on stderr, the binary's error prefix, no URL or password in it, exit 2.
fn assert_one_line_error(o: &Output, url: &str, wants: &[&str]) {
    let e = err(o);
    assert_eq!(o.status.code(), Some(2), "stdout: {}\nstderr: {e}", out(o));
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(e.starts_with("ringcoach: error: "), "{e}");
    assert!(!e.contains(url), "{e}");
    assert!(!e.contains("s3cret-pw") && !e.contains("wrong-pw"), "{e}");
    for w in wants {
        assert!(e.contains(w), "wanted {w:?} in: {e}");
    }
}

#[test]
fn the_schema_owner_migrates_adds_users_and_reads_the_status() {
    let Some(t) = TestDb::empty("db_cli_owner") else {
        return;
    };
    let m = Machine::new();
    let owner = socket_url(&t, &t.owner);

    let o = m.run(&owner, None, &["db", "status"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", out(&o), err(&o));
    assert!(
        out(&o).contains(
            "pending    0001_shared_store.sql, 0002_unreviewed_decisions.sql: the schema owner runs `ringcoach db migrate`"
        ),
        "{}",
        out(&o)
    );

    let o = m.run(&owner, None, &["db", "migrate"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        out(&o),
        "applied 0001_shared_store.sql\napplied 0002_unreviewed_decisions.sql\nthe schema is at version 2\n"
    );
    let o = m.run(&owner, None, &["db", "migrate"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("up to date (version 2)"), "{}", out(&o));

    // An agent with a password, reached over TCP with TLS checked against the site's CA.
    let agent = t.user("wang");
    t.forget_later(&agent);
    let pw = m.password("wang.pw", "s3cret-pw", 0o600);
    let o = m.run(
        &owner,
        None,
        &[
            "db",
            "add-user",
            &agent,
            "--role",
            "agent",
            "--password-file",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "--password-file needs a value");
    let o = m.run(
        &owner,
        None,
        &[
            "db",
            "add-user",
            &agent,
            "--role",
            "agent",
            "--password-file",
            pw.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        out(&o),
        format!("added {agent} as an agent (uploads and reads their own attempts)\n")
    );
    let trainer = t.user("li");
    t.forget_later(&trainer);
    let o = m.run(
        &owner,
        None,
        &["db", "add-user", &trainer, "--role", "trainer"],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("no password set"), "{}", out(&o));
    // One role per user: the database is not asked to make an agent a trainer too.
    let o = m.run(
        &owner,
        None,
        &["db", "add-user", &agent, "--role", "trainer"],
    );
    assert_one_line_error(&o, &owner, &["an agent or a trainer, not both"]);

    m.config(&format!("ca_file = {:?}", t.server.ca));
    let url = tcp_url(&t, &agent);
    let o = m.run(&url, Some(&pw), &["db", "status"]);
    assert!(o.status.success(), "{}", err(&o));
    let s = out(&o);
    assert!(s.contains(&format!("user       {agent} (agent)")), "{s}");
    assert!(
        s.contains(&format!(
            "target     127.0.0.1:{}/{} as {agent}",
            t.server.port, t.name
        )),
        "{s}"
    );
    assert!(
        s.contains("schema     version 2 (this ringcoach needs 2)"),
        "{s}"
    );
    assert!(s.contains("stored     0 attempt(s)"), "{s}");
    assert!(!s.contains("postgresql://"), "{s}");

    // Desks never migrate: the agent is refused by the database, and told who may.
    let o = m.run(&url, Some(&pw), &["db", "migrate"]);
    assert_one_line_error(&o, &url, &["run `ringcoach db migrate` as"]);
}

#[test]
fn every_way_a_connection_fails_is_one_line_that_says_what_to_do() {
    let Some(t) = TestDb::migrated("db_cli_errors") else {
        return;
    };
    let m = Machine::new();
    let agent = t.user("zhao");
    t.forget_later(&agent);
    let pw = m.password("zhao.pw", "s3cret-pw", 0o600);
    ringcoach::db::add_user(&mut t.connect_as(&t.owner), &agent, Role::Agent, Some(&pw)).unwrap();
    let url = tcp_url(&t, &agent);
    m.config(&format!("ca_file = {:?}", t.server.ca));

    // Nothing configured.
    let mut c = Command::new(env!("CARGO_BIN_EXE_ringcoach"));
    let o = c
        .args(["db", "status"])
        .env("XDG_CONFIG_HOME", m.dir.path().join("nowhere"))
        .env_remove("RINGCOACH_DATABASE_URL")
        .output()
        .unwrap();
    assert_one_line_error(
        &o,
        &url,
        &["no shared store is configured", "RINGCOACH_DATABASE_URL"],
    );

    // The wrong password.
    let wrong = m.password("wrong.pw", "wrong-pw", 0o600);
    let o = m.run(&url, Some(&wrong), &["db", "status"]);
    assert_one_line_error(
        &o,
        &url,
        &[
            "password authentication failed",
            "check the user name and the password file",
            &format!("127.0.0.1:{}/{} as {agent}", t.server.port, t.name),
        ],
    );

    // A password file others can read.
    let open = m.password("open.pw", "s3cret-pw", 0o644);
    let o = m.run(&url, Some(&open), &["db", "status"]);
    assert_one_line_error(&o, &url, &["can be read by others", "chmod 600"]);

    // A server whose certificate the site's CA did not sign.
    m.config(&format!("ca_file = {:?}", t.server.other_ca));
    let o = m.run(&url, Some(&pw), &["db", "status"]);
    assert_one_line_error(&o, &url, &["check ca_file"]);

    // No TLS over the network.
    let plain = format!(
        "postgresql://{agent}@db.example:5432/{}?sslmode=disable",
        t.name
    );
    let o = m.run(&plain, Some(&pw), &["db", "status"]);
    assert_one_line_error(&o, &plain, &["sslmode=disable is refused", "ca_file"]);

    // A password in the URL.
    let with_pw = format!(
        "postgresql://{agent}:s3cret-pw@127.0.0.1:{}/{}",
        t.server.port, t.name
    );
    let o = m.run(&with_pw, None, &["db", "status"]);
    assert_one_line_error(&o, &with_pw, &["contains a password", "chmod 600"]);

    // Nobody listening.
    let closed = format!(
        "postgresql://{agent}@127.0.0.1:1/{}?sslmode=disable&connect_timeout=2",
        t.name
    );
    let o = m.run(&closed, Some(&pw), &["db", "status"]);
    assert_one_line_error(&o, &closed, &["is the server running and reachable"]);
    // The trainer's list says how to see this machine's own store instead.
    let o = m.run(&closed, Some(&pw), &["store", "list"]);
    assert_one_line_error(
        &o,
        &closed,
        &[
            "`store list --local`",
            "is the server running and reachable",
        ],
    );
}

#[test]
fn store_sync_uploads_what_waits_and_exits_zero_only_when_nothing_does() {
    let Some(t) = TestDb::migrated("db_cli_sync") else {
        return;
    };
    let agent = t.add("sun", Role::Agent);
    let m = Machine::new();
    let store = Store::open(&m.data()).unwrap();
    let ids: Vec<AttemptId> = (0..3)
        .map(|n| {
            save_attempt(
                &store,
                &agent,
                "property-greeting",
                &samples(n),
                "您好,广利物业",
                n,
            )
            .unwrap()
            .id
        })
        .collect();
    let url = socket_url(&t, &agent);

    // Nobody listening: nothing goes, all wait, exit 1, and the line says why.
    let closed = format!(
        "postgresql://{agent}@127.0.0.1:1/{}?sslmode=disable&connect_timeout=2",
        t.name
    );
    let o = m.run(&closed, None, &["store", "sync"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", out(&o), err(&o));
    let s = out(&o);
    assert!(
        s.contains("not uploaded: cannot connect to the database"),
        "{s}"
    );
    assert!(s.contains("is the server running"), "{s}");
    assert!(
        s.ends_with("uploaded 0 attempt(s) and 0 decision(s); 3 attempt(s) wait\n"),
        "{s}"
    );
    assert!(!s.contains("postgresql://"), "{s}");

    let o = m.run(&url, None, &["store", "sync"]);
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    assert_eq!(
        out(&o),
        "uploaded 3 attempt(s) and 0 decision(s); 0 attempt(s) wait\n"
    );
    // Every attempt with the desk's hashes, the audio checked by the server.
    let rows = t
        .superuser()
        .query(
            "SELECT a.id, a.audio_sha256, encode(sha256(au.wav), 'hex') \
             FROM ringcoach.attempts a JOIN ringcoach.audio au ON au.attempt_id = a.id ORDER BY a.id",
            &[],
        )
        .unwrap();
    let got: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let mut want: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
    for r in &rows {
        let id = AttemptId::parse(&r.get::<_, String>(0)).unwrap();
        let local = sha256(&std::fs::read(store.audio_path(&id)).unwrap());
        assert_eq!(r.get::<_, String>(1), local, "{id}");
        assert_eq!(r.get::<_, String>(2), local, "{id}");
    }

    // Again: nothing to do, and nothing went twice.
    let o = m.run(&url, None, &["store", "sync"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        out(&o),
        "uploaded 0 attempt(s) and 0 decision(s); 0 attempt(s) wait\n"
    );

    // Another desk holding the same id with another grade: a conflict, exit 1, each time.
    let other = Machine::new();
    let s2 = Store::open(&other.data()).unwrap();
    same_id_other_grade(&store.attempt_dir(&ids[0]), &s2.attempt_dir(&ids[0]));
    s2.rebuild().unwrap();
    for _ in 0..2 {
        let o = other.run(&url, None, &["store", "sync"]);
        assert_eq!(o.status.code(), Some(1), "{}{}", out(&o), err(&o));
        let s = out(&o);
        assert!(
            s.contains(&format!(
                "conflict: {} is on the server with other content",
                ids[0]
            )),
            "{s}"
        );
        assert!(s.ends_with("0 attempt(s) wait, 1 in conflict\n"), "{s}");
    }
    let n: i64 = t
        .superuser()
        .query_one("SELECT count(*) FROM ringcoach.attempts", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 3, "a conflict never adds or overwrites");
}
