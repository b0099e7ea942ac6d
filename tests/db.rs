//! The shared store against a real PostgreSQL server (`scripts/with-postgres`): migrations,
//! who may do what (enforced by the database itself), idempotent uploads and conflicts, and
//! reading it back exactly as the desk's own store reads.

mod db_support;

use std::os::unix::fs::PermissionsExt;

use db_support::{same_id_other_grade, samples, TestDb};
use ringcoach::db::load::save_attempt;
use ringcoach::db::upload::{decision_id, record_decision};
use ringcoach::db::{
    self, check_schema, upload_attempt, upload_decision, AttemptFiles, DbSettings, PgStore, Role,
    Uploaded,
};
use ringcoach::store::{
    AttemptId, AuditAction, AuditEntry, Query, SortKey, Store, Timestamp, Verdict,
};
use ringcoach::transcribe::Transcript;

/// A desk's local store with `n` finished attempts by `trainee`.
fn desk(trainee: &str, n: u64) -> (tempfile::TempDir, Store, Vec<AttemptId>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ids = (0..n)
        .map(|i| {
            save_attempt(
                &store,
                trainee,
                "property-greeting",
                &samples(i),
                "您好,广利物业",
                i,
            )
            .unwrap()
            .id
        })
        .collect();
    (dir, store, ids)
}

fn files(store: &Store, id: &AttemptId) -> AttemptFiles {
    AttemptFiles::read(&store.attempt_dir(id)).unwrap()
}

fn sql_code(e: &postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_default()
}

#[test]
fn migrations_apply_from_nothing_once_and_refuse_a_newer_schema() {
    let Some(t) = TestDb::empty("migrations") else {
        return;
    };
    let mut owner = t.connect_as(&t.owner);
    // Before: a desk is told who must migrate.
    let err = check_schema(&mut owner).unwrap_err().to_string();
    assert!(err.contains("ringcoach db migrate"), "{err}");

    let r = db::migrate(&mut owner).unwrap();
    assert_eq!(
        r.applied,
        vec!["0001_shared_store.sql", "0002_unreviewed_decisions.sql"]
    );
    assert_eq!(r.version, 2);
    let again = db::migrate(&mut owner).unwrap();
    assert!(again.applied.is_empty(), "{again:?}");
    assert_eq!(check_schema(&mut owner).unwrap(), 2);
    let rows = owner
        .query(
            "SELECT version, name, applied_by FROM ringcoach.schema_migrations",
            &[],
        )
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].get::<_, String>(2), t.owner);
    // The owner owns everything the migration made.
    let foreign: i64 = owner
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'ringcoach' AND pg_get_userbyid(c.relowner) <> $1",
            &[&t.owner],
        )
        .unwrap()
        .get(0);
    assert_eq!(foreign, 0);
    let st = db::status(&mut owner).unwrap();
    assert_eq!(
        (st.role.as_str(), st.schema_version, st.pending.len()),
        ("owner", 2, 0)
    );

    // Desks never migrate: anyone but the owner is refused.
    let agent = t.add("agent", Role::Agent);
    let err = db::migrate(&mut t.connect_as(&agent))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("run `ringcoach db migrate` as {}", t.owner)),
        "{err}"
    );
    assert_eq!(db::status(&mut t.connect_as(&agent)).unwrap().role, "agent");

    // A schema from a newer ringcoach is refused by migrate and by desks alike.
    t.superuser()
        .execute(
            "INSERT INTO ringcoach.schema_migrations (version, name, sha256) VALUES (99, '0099_future.sql', 'x')",
            &[],
        )
        .unwrap();
    for err in [
        db::migrate(&mut owner).unwrap_err().to_string(),
        check_schema(&mut t.connect_as(&agent))
            .unwrap_err()
            .to_string(),
    ] {
        assert!(err.contains("upgrade ringcoach"), "{err}");
    }
}

#[test]
fn who_sees_inserts_and_decides_what_is_enforced_by_the_database() {
    let Some(t) = TestDb::migrated("roles") else {
        return;
    };
    let (a, b) = (t.add("wang", Role::Agent), t.add("li", Role::Agent));
    let (tr, tr2) = (t.add("zhao", Role::Trainer), t.add("qian", Role::Trainer));
    let (_da, sa, ia) = desk(&a, 2);
    let (_db, sb, ib) = desk(&b, 1);
    let mut ca = t.connect_as(&a);
    let mut cb = t.connect_as(&b);
    for id in &ia {
        assert_eq!(
            upload_attempt(&mut ca, &files(&sa, id)).unwrap(),
            Uploaded::Inserted
        );
    }
    assert_eq!(
        upload_attempt(&mut cb, &files(&sb, &ib[0])).unwrap(),
        Uploaded::Inserted
    );

    // An agent uploading another agent's attempt is refused by the database; one that is
    // already there and not theirs to see is refused or reported as a conflict, never shown.
    match upload_attempt(&mut ca, &files(&sb, &ib[0])) {
        Err(e) => assert_eq!(e.code(), Some("42501"), "{e}"),
        Ok(u) => assert_eq!(u, Uploaded::Conflict { theirs: None }),
    }
    let (_dx, sx, ix) = desk(&b, 1);
    let err = upload_attempt(&mut ca, &files(&sx, &ix[0])).unwrap_err();
    assert_eq!(err.code(), Some("42501"), "{err}");

    // An agent posing as another, in raw SQL: the row-level policy refuses it.
    let fx = files(&sx, &ix[0]);
    let raw = ca.execute(
        "INSERT INTO ringcoach.attempts (id, meta, transcript, report, started, finished) \
         VALUES ($1, $2::text::json, $3::text::json, $4::text::json, \
                 ($2::text::json ->> 'started')::timestamptz, ($2::text::json ->> 'finished')::timestamptz)",
        &[&fx.id().as_str(), &fx.meta_json, &fx.transcript_json, &fx.report_json],
    );
    let e = raw.unwrap_err();
    assert_eq!(sql_code(&e), "42501", "{e:?}");
    assert!(
        e.to_string().contains("db error") && format!("{e:?}").contains("row-level security"),
        "{e:?}"
    );
    // Nor can it claim to be someone else as the uploader.
    let e = ca
        .execute(
            "INSERT INTO ringcoach.attempts (id, meta, started, uploaded_by) VALUES ('x', '{}', now(), $1)",
            &[&b],
        )
        .unwrap_err();
    assert_eq!(sql_code(&e), "42501", "{e:?}");

    // Who sees what.
    let ids = |c: &mut postgres::Client| -> Vec<String> {
        c.query("SELECT id FROM ringcoach.attempts ORDER BY id", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let mut all: Vec<String> = ia.iter().chain(&ib).map(|i| i.to_string()).collect();
    all.sort();
    assert_eq!(
        ids(&mut ca),
        ia.iter().map(|i| i.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(ids(&mut cb), vec![ib[0].to_string()]);
    let mut ct = t.connect_as(&tr);
    assert_eq!(ids(&mut ct), all);
    let audio_rows: i64 = cb
        .query_one("SELECT count(*) FROM ringcoach.audio", &[])
        .unwrap()
        .get(0);
    assert_eq!(audio_rows, 1);

    // Decisions: a trainer records them in their own name only; an agent records none.
    let entry = |trainer: &str, action: AuditAction| AuditEntry {
        time: Timestamp::now(),
        trainer: trainer.into(),
        action,
        note: "听录音确认".into(),
    };
    let overrule = AuditAction::Overrule {
        check: "banned_phrase:wei".into(),
        original: "pass".into(),
        verdict: "fail".into(),
        graded: Some("pass".into()),
        report: Some(0),
    };
    assert_eq!(
        record_decision(&mut ct, &ia[0], &entry(&tr, overrule.clone()), None).unwrap(),
        Uploaded::Inserted
    );
    let e =
        record_decision(&mut ct, &ia[0], &entry(&tr2, AuditAction::Reviewed), None).unwrap_err();
    assert_eq!(e.code(), Some("42501"), "a trainer signing as another: {e}");
    let e = record_decision(&mut ca, &ia[0], &entry(&a, AuditAction::Reviewed), None).unwrap_err();
    assert_eq!(e.code(), Some("42501"), "an agent deciding: {e}");
    // A second trainer sees the first one's decision and adds their own.
    let mut ct2 = t.connect_as(&tr2);
    record_decision(&mut ct2, &ia[0], &entry(&tr2, AuditAction::Reviewed), None).unwrap();
    let mut pg = PgStore::new(t.connect_as(&tr2), tempfile::tempdir().unwrap().path()).unwrap();
    let s = pg.summary(&ia[0]).unwrap().unwrap();
    assert_eq!((s.overrules, s.reviewed), (1, true));
    // The agent sees the decisions on their own attempt; the other agent sees none.
    let n = |c: &mut postgres::Client| -> i64 {
        c.query_one("SELECT count(*) FROM ringcoach.decisions", &[])
            .unwrap()
            .get(0)
    };
    assert_eq!((n(&mut ca), n(&mut cb), n(&mut ct)), (2, 0, 2));

    // Nobody updates or deletes a decision, or changes an attempt — not even the owner.
    for (who, c) in [("trainer", &mut ct), ("agent", &mut ca)] {
        for sql in [
            "UPDATE ringcoach.decisions SET payload = NULL",
            "DELETE FROM ringcoach.decisions",
            "UPDATE ringcoach.attempts SET finished = now()",
            "DELETE FROM ringcoach.attempts",
            "DELETE FROM ringcoach.audio",
            "TRUNCATE ringcoach.decisions",
        ] {
            let e = c.execute(sql, &[]).unwrap_err();
            assert_eq!(sql_code(&e), "42501", "{who}: {sql}: {e:?}");
        }
    }
    let mut co = t.connect_as(&t.owner);
    for sql in [
        "UPDATE ringcoach.decisions SET payload = NULL",
        "DELETE FROM ringcoach.decisions",
        "TRUNCATE ringcoach.decisions",
        "UPDATE ringcoach.attempts SET finished = now()",
        "UPDATE ringcoach.audio SET wav = ''",
    ] {
        let e = co.execute(sql, &[]).unwrap_err();
        assert!(
            format!("{e:?}").contains("is not allowed"),
            "owner: {sql}: {e:?}"
        );
    }
    assert_eq!(n(&mut ct), 2);
}

#[test]
fn the_database_checks_every_hash_and_takes_no_attempt_without_audio() {
    let Some(t) = TestDb::migrated("hashes") else {
        return;
    };
    let a = t.add("wang", Role::Agent);
    let (_d, s, ids) = desk(&a, 1);
    let f = files(&s, &ids[0]);
    let mut c = t.connect_as(&a);
    let insert = |c: &mut postgres::Client, transcript: &str, wav: &[u8], with_audio: bool| {
        let mut tx = c.transaction().unwrap();
        tx.execute(
            "INSERT INTO ringcoach.attempts (id, meta, transcript, report, started, finished) \
             VALUES ($1, $2::text::json, $3::text::json, $4::text::json, $5::text::timestamptz, $6::text::timestamptz)",
            &[
                &f.id().as_str(),
                &f.meta_json,
                &transcript,
                &f.report_json,
                &f.meta.info.started.to_rfc3339(),
                &f.meta.finished.map(|t| t.to_rfc3339()),
            ],
        )?;
        if with_audio {
            tx.execute(
                "INSERT INTO ringcoach.audio (attempt_id, sha256, wav) VALUES ($1, $2, $3)",
                &[&f.id().as_str(), &f.hashes()["audio.wav"], &wav],
            )?;
        }
        tx.commit()
    };
    let transcript = f.transcript_json.clone().unwrap();
    // One changed byte in the transcript: the hash check refuses it.
    let e = insert(&mut c, &transcript.replace("广利", "广立"), &f.audio, true).unwrap_err();
    assert_eq!(sql_code(&e), "23514", "{e:?}");
    // Audio that is not the one meta.json lists.
    let mut wav = f.audio.clone();
    wav[100] ^= 1;
    let e = insert(&mut c, &transcript, &wav, true).unwrap_err();
    assert_eq!(sql_code(&e), "23514", "{e:?}");
    // An attempt without its audio is refused when the transaction commits.
    let e = insert(&mut c, &transcript, &f.audio, false).unwrap_err();
    assert!(format!("{e:?}").contains("has no audio"), "{e:?}");
    // The untouched files go in.
    insert(&mut c, &transcript, &f.audio, true).unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM ringcoach.attempts", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[test]
fn uploads_are_idempotent_and_other_content_under_the_same_id_is_a_conflict() {
    let Some(t) = TestDb::migrated("idempotent") else {
        return;
    };
    let a = t.add("wang", Role::Agent);
    let (_d, s, ids) = desk(&a, 1);
    let f = files(&s, &ids[0]);
    let mut c = t.connect_as(&a);
    assert_eq!(upload_attempt(&mut c, &f).unwrap(), Uploaded::Inserted);
    assert_eq!(upload_attempt(&mut c, &f).unwrap(), Uploaded::AlreadyThere);
    assert_eq!(
        upload_attempt(&mut t.connect_as(&a), &f).unwrap(),
        Uploaded::AlreadyThere
    );

    // Another desk's attempt under the same id (a restored backup, say): same id, other
    // report and so other hashes.
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join(ids[0].as_str());
    same_id_other_grade(&s.attempt_dir(&ids[0]), &other);
    let g = AttemptFiles::read(&other).unwrap();
    match upload_attempt(&mut c, &g).unwrap() {
        Uploaded::Conflict {
            theirs: Some(theirs),
        } => assert_eq!(&theirs, f.hashes()),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Never overwritten.
    let stored: String = c
        .query_one(
            "SELECT report::text FROM ringcoach.attempts WHERE id = $1",
            &[&ids[0].as_str()],
        )
        .unwrap()
        .get(0);
    assert_eq!(Some(stored), f.report_json);

    // Decisions too: the same line is one row however often it is sent.
    let tr = t.add("zhao", Role::Trainer);
    let mut ct = t.connect_as(&tr);
    let line = serde_json::to_string(&AuditEntry {
        time: Timestamp::now(),
        trainer: tr.clone(),
        action: AuditAction::Reviewed,
        note: String::new(),
    })
    .unwrap();
    assert_eq!(
        upload_decision(&mut ct, &ids[0], &line, None).unwrap(),
        Uploaded::Inserted
    );
    assert_eq!(
        upload_decision(&mut ct, &ids[0], &line, None).unwrap(),
        Uploaded::AlreadyThere
    );
    let got: String = ct
        .query_one("SELECT id FROM ringcoach.decisions", &[])
        .unwrap()
        .get(0);
    assert_eq!(got, decision_id(&ids[0], &line));
}

#[test]
fn the_shared_store_lists_and_loads_exactly_as_the_desk_store_does() {
    let Some(t) = TestDb::migrated("reader") else {
        return;
    };
    let tr = t.add("zhao", Role::Trainer);
    // One desk holding three trainees' attempts (a trainer's desk grading recorded calls).
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut ids = Vec::new();
    for (i, (who, scenario, text)) in [
        ("王芳", "property-greeting", "您好,广利物业"),
        ("李雷", "complaint", "喂,你找谁"),
        ("王芳", "complaint", "对不起,让您久等了"),
        ("Ann", "property-greeting", "您好,请问有什么可以帮您"),
        ("李雷", "property-greeting", "谢谢您的来电,再见"),
    ]
    .iter()
    .enumerate()
    {
        ids.push(
            save_attempt(
                &store,
                who,
                scenario,
                &samples(i as u64),
                text,
                i as u64 + 3,
            )
            .unwrap()
            .id,
        );
    }
    // Decisions on the desk, by this trainer: overrule, correction, re-grade, reviewed.
    store
        .overrule(
            &ids[1],
            &tr,
            "banned_phrase:wei",
            "pass",
            "fail",
            "喂 is banned",
        )
        .unwrap();
    let corrected = Transcript {
        text: "您好,广利物业,请讲".into(),
        segments: vec![],
        cut_off: None,
    };
    store
        .correct_transcript(&ids[0], &tr, &corrected, "广立→广利")
        .unwrap();
    store
        .regrade(
            &ids[0],
            &tr,
            &serde_json::json!({"score": 91.0, "note": "regraded"}),
            91.0,
            true,
            "after correction",
        )
        .unwrap();
    store.mark_reviewed(&ids[2], &tr, "").unwrap();

    // The desk's upload path: attempts, then their decisions with what they produced.
    let report =
        db::sync_now(&store, &t.socket_settings(&tr), &db::SyncOptions::default()).unwrap();
    assert_eq!(
        (report.uploaded, report.decisions, report.waiting),
        (5, 4, 0),
        "{report:?}"
    );
    assert!(
        report.rejected.is_empty() && report.offline.is_none(),
        "{report:?}"
    );

    let cache = tempfile::tempdir().unwrap();
    let mut pg = PgStore::new(t.connect_as(&tr), cache.path()).unwrap();
    let queries = [
        Query::default(),
        Query {
            descending: true,
            ..Query::default()
        },
        Query {
            trainee: Some("王芳".into()),
            ..Query::default()
        },
        Query {
            scenario: Some("complaint".into()),
            descending: true,
            ..Query::default()
        },
        Query {
            org: Some("广利物业".into()),
            limit: Some(2),
            offset: 1,
            ..Query::default()
        },
        Query {
            text: Some("广利".into()),
            ..Query::default()
        },
        Query {
            text: Some("%' OR 1=1 --".into()),
            ..Query::default()
        },
        Query {
            verdict: Some(Verdict::Passed),
            ..Query::default()
        },
        Query {
            verdict: Some(Verdict::Failed),
            ..Query::default()
        },
        Query {
            verdict: Some(Verdict::Interrupted),
            ..Query::default()
        },
        Query {
            needs_review: Some(true),
            ..Query::default()
        },
        Query {
            reviewed: Some(false),
            ..Query::default()
        },
        Query {
            sort: SortKey::Score,
            descending: true,
            ..Query::default()
        },
        Query {
            sort: SortKey::Score,
            ..Query::default()
        },
        Query {
            sort: SortKey::Trainee,
            ..Query::default()
        },
        Query {
            sort: SortKey::Scenario,
            descending: true,
            limit: Some(3),
            ..Query::default()
        },
        Query {
            offset: 4,
            ..Query::default()
        },
        Query {
            since: Some(store.summary(&ids[1]).unwrap().unwrap().started),
            until: Some(store.summary(&ids[4]).unwrap().unwrap().started),
            ..Query::default()
        },
    ];
    assert_eq!(pg.list(&Query::default()).unwrap().len(), 5);
    for q in &queries {
        assert_eq!(pg.list(q).unwrap(), store.list(q).unwrap(), "{q:?}");
    }
    for id in &ids {
        assert_eq!(pg.summary(id).unwrap(), store.summary(id).unwrap(), "{id}");
        let (mut remote, local) = (pg.load(id).unwrap(), store.load(id).unwrap());
        assert_eq!(remote.audio_path, cache.path().join(format!("{id}.wav")));
        remote.audio_path = local.audio_path.clone();
        assert_eq!(remote, local, "{id}");
    }
    let s = pg.summary(&ids[0]).unwrap().unwrap();
    assert!(
        s.corrected && s.regraded && s.score == Some(91.0) && s.text == corrected.text,
        "{s:?}"
    );

    // Audio on demand into the cache, checked; a damaged cached copy is fetched again.
    let path = pg.audio(&ids[3]).unwrap();
    let original = std::fs::read(store.audio_path(&ids[3])).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), original);
    std::fs::write(&path, b"RIFF damaged").unwrap();
    assert_eq!(std::fs::read(pg.audio(&ids[3]).unwrap()).unwrap(), original);
    let unknown = AttemptId::parse("20200101T000000.000000Z-00000000").unwrap();
    assert!(pg
        .load(&unknown)
        .unwrap_err()
        .to_string()
        .contains("no attempt"));
}

#[test]
fn tls_is_checked_passwords_stay_in_their_file_and_errors_never_show_the_url() {
    let Some(t) = TestDb::migrated("connect") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let secret = "correct horse 电池 staple";
    let pw = dir.path().join("password");
    std::fs::write(&pw, format!("{secret}\n")).unwrap();
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    let name = t.user("sun");
    t.forget_later(&name);
    let added = db::add_user(&mut t.connect_as(&t.owner), &name, Role::Agent, Some(&pw)).unwrap();
    assert_eq!(added, db::migrate::AddedUser::Created);
    // The server holds a SCRAM verifier, never the password.
    let stored: String = t
        .superuser()
        .query_one(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
            &[&name],
        )
        .unwrap()
        .get(0);
    assert!(
        stored.starts_with("SCRAM-SHA-256$") && !stored.contains("horse"),
        "{stored}"
    );
    // Adding again is fine; the other role is refused.
    assert_eq!(
        db::add_user(&mut t.connect_as(&t.owner), &name, Role::Agent, None).unwrap(),
        db::migrate::AddedUser::Updated
    );
    let err = db::add_user(&mut t.connect_as(&t.owner), &name, Role::Trainer, None).unwrap_err();
    assert!(
        err.to_string().contains("already in ringcoach_agent"),
        "{err}"
    );

    let port = t.server.port;
    let ssl = |c: &mut postgres::Client| -> bool {
        c.query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0)
    };
    // Over TCP: TLS, checked against the site's CA, by IP address and by host name.
    for host in ["127.0.0.1", "localhost"] {
        let url = format!("postgresql://{name}@{host}:{port}/{}", t.name);
        let mut c = DbSettings::new(&url)
            .password_file(&pw)
            .ca_file(&t.server.ca)
            .connect()
            .unwrap();
        assert!(ssl(&mut c), "{host}");
        assert_eq!(check_schema(&mut c).unwrap(), 2);
    }
    let url = format!("postgresql://{name}@127.0.0.1:{port}/{}", t.name);
    let never_shown = |err: &str| {
        assert!(
            !err.contains(secret) && !err.contains("horse"),
            "password in: {err}"
        );
        assert!(
            !err.contains(&url) && !err.contains("postgresql://"),
            "URL in: {err}"
        );
    };
    // A certificate from another CA is refused.
    let err = DbSettings::new(&url)
        .password_file(&pw)
        .ca_file(&t.server.other_ca)
        .connect()
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("TLS") || text.contains("certificate"),
        "{text}"
    );
    assert!(
        text.contains(&format!("127.0.0.1:{port}/{} as {name}", t.name)),
        "{text}"
    );
    never_shown(&text);
    never_shown(&format!("{err:?}"));
    // A wrong password is refused, and neither password is repeated.
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "not the password\n").unwrap();
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = DbSettings::new(&url)
        .password_file(&wrong)
        .ca_file(&t.server.ca)
        .connect()
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("password authentication failed") && text.contains("password file"),
        "{text}"
    );
    assert!(
        !text.contains("not the password") && !err.is_transient(),
        "{text}"
    );
    never_shown(&text);
    // A password file others can read is refused before anything is sent.
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
    let text = DbSettings::new(&url)
        .password_file(&pw)
        .ca_file(&t.server.ca)
        .connect()
        .err()
        .expect("refused")
        .to_string();
    assert!(text.contains("chmod 600"), "{text}");
    never_shown(&text);
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    // sslmode=disable: honoured on loopback only (with a warning in the log).
    let mut c = DbSettings::new(format!("{url}?sslmode=disable"))
        .password_file(&pw)
        .connect()
        .unwrap();
    assert!(!ssl(&mut c));
    // A password in the URL is refused, without repeating it.
    let with_pw = format!(
        "postgresql://{name}:{}@127.0.0.1:{port}/{}",
        "hunter2", t.name
    );
    let text = DbSettings::new(&with_pw)
        .connect()
        .err()
        .expect("refused")
        .to_string();
    assert!(
        text.contains("contains a password") && !text.contains("hunter2"),
        "{text}"
    );
    // Nobody listening: the error names the target, says what to do, and is worth retrying.
    let down = format!(
        "postgresql://{name}@127.0.0.1:1/{}?connect_timeout=2",
        t.name
    );
    let err = DbSettings::new(&down)
        .password_file(&pw)
        .ca_file(&t.server.ca)
        .connect()
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        err.is_transient()
            && text.contains("127.0.0.1:1/")
            && text.contains("is the server running"),
        "{text}"
    );
    assert!(
        !text.contains("postgresql://") && !text.contains("horse"),
        "{text}"
    );
}
