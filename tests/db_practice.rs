//! A desk in a training room, end to end: the practice screen (real binary, real terminal,
//! real voices, real Whisper) with a shared store configured. The first call is uploaded
//! by the desk's worker while the trainee goes on; then the server stops (`pg_ctl stop` on
//! the `scripts/with-postgres` server) and the next call is saved all the same, the screen
//! saying it waits; after the restart `ringcoach store sync` delivers it, and the server
//! holds every attempt once with the desk's hashes. Alone in its test binary, since it stops
//! the shared test server.

mod db_support;
mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use db_support::{sha256, TestDb};
use ringcoach::db::Role;
use ringcoach::store::{AttemptId, Store};
use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_ringcoach");
/// Generous: a whole call on a loaded 2-core machine, model loading included.
const GRADING: Duration = Duration::from_secs(180);

/// Starts the server again however the test ends, so later test binaries find it.
struct Restart<'a>(&'a TestDb);

impl Drop for Restart<'_> {
    fn drop(&mut self) {
        let _ = Command::new(&self.0.server.ctl).arg("start").output();
    }
}

fn url(t: &TestDb, user: &str) -> String {
    format!(
        "host={} port={} user={user} dbname={}",
        t.server.host, t.server.port, t.name
    )
}

/// The environment of this desk: private data, config and state, the shared store.
fn env(dir: &Path, url: &str) -> Vec<(String, String)> {
    let d = |s: &str| dir.join(s).display().to_string();
    vec![
        (
            "RINGCOACH_MODEL_DIR".into(),
            support::speech::model_dir().display().to_string(),
        ),
        ("RINGCOACH_DATA_DIR".into(), d("data")),
        ("XDG_STATE_HOME".into(), d("state")),
        ("XDG_CONFIG_HOME".into(), d("config")),
        ("XDG_CACHE_HOME".into(), d("cache")),
        ("RINGCOACH_DATABASE_URL".into(), url.into()),
    ]
}

/// Rings (from the situation card, or from the feedback screen with `r`), picks up and
/// waits for the grade. A transcription a loaded machine cut off is no grade: the program
/// discards the call, and the trainee answers again, for up to ten minutes in all.
fn answer_a_call(t: &Tmux, first_key: &str) -> String {
    let mut key = first_key;
    let give_up = std::time::Instant::now() + Duration::from_secs(600);
    while std::time::Instant::now() < give_up {
        t.keys(&[key]);
        t.wait_for("The phone is ringing", Duration::from_secs(10));
        t.keys(&["Space"]);
        let deadline = std::time::Instant::now() + GRADING;
        loop {
            let screen = t.screen();
            if screen.contains("PASSED") {
                return screen;
            }
            if screen.contains("was cut off") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no grade after {GRADING:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        // Back on the situation card, the status line saying why.
        t.wait_for("┌Situation", Duration::from_secs(10));
        key = "Enter";
    }
    panic!(
        "every transcription for ten minutes was cut off: the machine is too loaded to test this"
    );
}

fn on_server(t: &TestDb) -> Vec<(String, String, String)> {
    t.superuser()
        .query(
            "SELECT a.id, a.audio_sha256, encode(sha256(au.wav), 'hex') \
             FROM ringcoach.attempts a JOIN ringcoach.audio au ON au.attempt_id = a.id ORDER BY a.id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[test]
fn a_desk_practises_through_an_outage_and_store_sync_delivers_what_waited() {
    let Some(t) = TestDb::migrated("db_practice") else {
        return;
    };
    let _one = support::speech::model_lock();
    let agent = t.add("wang", Role::Agent);
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("answer.wav");
    support::compose(
        "您好,广利物业,请问有什么可以帮您?",
        &wav,
        &["--speed", "1.3"],
    );
    let env = env(dir.path(), &url(&t, &agent));
    let exports: String = env.iter().map(|(k, v)| format!("{k}='{v}' ")).collect();
    let t_ui = Tmux::start(
        dir.path(),
        &format!(
            "cd {} && {exports}{BIN} --input {} --output null --lang en --scenario answer-call --org 广利物业 --trainee {agent}; echo EXITED=$?; sleep 60",
            dir.path().display(),
            wav.display()
        ),
        80,
        24,
    );

    // First call, server up: saved, then uploaded by the worker while the screen stays.
    t_ui.wait_for("Enter start ringing", Duration::from_secs(60));
    let screen = answer_a_call(&t_ui, "Enter");
    assert!(!screen.contains("NOT PASSED"), "{screen}");
    t_ui.wait_for("all uploaded", Duration::from_secs(60));
    assert_eq!(on_server(&t).len(), 1, "the worker uploaded the first call");

    // The server goes away; the trainee retries and the call is saved all the same.
    let restart = Restart(&t);
    t.ctl("stop");
    let screen = answer_a_call(&t_ui, "r");
    assert!(!screen.contains("NOT PASSED"), "{screen}");
    t_ui.wait_for("1 to upload (offline)", Duration::from_secs(60));
    t_ui.keys(&["q"]);
    t_ui.wait_for("Choose a call situation", Duration::from_secs(5));
    t_ui.keys(&["q"]);
    let end = t_ui.wait_for("EXITED=", Duration::from_secs(10));
    assert!(end.contains("EXITED=0"), "{end}");

    // While the server is away, `store sync` says what waits and exits 1.
    let sync = || {
        Command::new(BIN)
            .args(["store", "sync"])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    };
    let o = sync();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("1 attempt(s) wait"), "{out}");

    // Back up: `store sync` delivers it, and exits 0.
    t.ctl("start");
    std::mem::forget(restart);
    let o = sync();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        out,
        "uploaded 1 attempt(s) and 0 decision(s); 0 attempt(s) wait\n"
    );

    // Both calls, once each, with the desk's hashes; the audio checked by the server.
    let store = Store::open(&dir.path().join("data")).unwrap();
    let local = store.list(&Default::default()).unwrap();
    assert_eq!(local.len(), 2, "{local:?}");
    let rows = on_server(&t);
    let mut want: Vec<String> = local.iter().map(|s| s.id.to_string()).collect();
    want.sort();
    assert_eq!(
        rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        want,
        "exactly the desk's attempts, each once"
    );
    for (id, recorded, computed) in &rows {
        let id = AttemptId::parse(id).unwrap();
        let sha = sha256(&std::fs::read(store.audio_path(&id)).unwrap());
        assert_eq!(recorded, &sha, "{id}");
        assert_eq!(computed, &sha, "{id}");
        let meta: serde_json::Value = serde_json::from_slice(
            &std::fs::read(store.attempt_dir(&id).join("meta.json")).unwrap(),
        )
        .unwrap();
        let files: serde_json::Value = t
            .superuser()
            .query_one(
                "SELECT files::text FROM ringcoach.attempts WHERE id = $1",
                &[&id.as_str()],
            )
            .map(|r| serde_json::from_str(&r.get::<_, String>(0)).unwrap())
            .unwrap();
        assert_eq!(files, meta["files"], "{id}");
        assert_eq!(meta["trainee"], agent.as_str());
    }
}
