//! Helpers for the tests of the shared store against a real PostgreSQL server, the one
//! `scripts/with-postgres` starts (and `scripts/test` always starts).
//!
//! Under it the tests always run, and any failure is a failure. Without it they fail,
//! saying how to run them — unless RINGCOACH_NO_DB_TESTS=1 is set, when they are skipped
//! knowingly (and say so). A test that needs a server never passes without one.
//!
//! Every test gets its own database, owner role and users, all named with a prefix unique
//! to the test, and drops them afterwards; tests run in parallel on one server.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use ringcoach::db::{self, Client, DbSettings, Role};

pub struct Server {
    pub host: String,
    pub port: u16,
    pub superuser: String,
    pub ca: PathBuf,
    pub other_ca: PathBuf,
    pub ctl: PathBuf,
}

/// The test server, or None when the test is knowingly skipped.
pub fn server_or_skip(test: &str) -> Option<Server> {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by scripts/with-postgres"))
    };
    if std::env::var_os("RINGCOACH_TEST_PG").is_some_and(|v| v == "1") {
        return Some(Server {
            host: var("RINGCOACH_TEST_PG_HOST"),
            port: var("RINGCOACH_TEST_PG_PORT")
                .parse()
                .expect("a port number"),
            superuser: var("RINGCOACH_TEST_PG_SUPERUSER"),
            ca: var("RINGCOACH_TEST_PG_CA").into(),
            other_ca: var("RINGCOACH_TEST_PG_OTHER_CA").into(),
            ctl: var("RINGCOACH_TEST_PG_CTL").into(),
        });
    }
    if std::env::var_os("RINGCOACH_NO_DB_TESTS").is_some_and(|v| v == "1") {
        eprintln!("SKIPPED {test}: RINGCOACH_NO_DB_TESTS=1 (run under scripts/with-postgres to test against a real server)");
        return None;
    }
    panic!(
        "{test} needs a PostgreSQL server: run the tests under scripts/with-postgres \
         (e.g. `scripts/with-postgres cargo test --test db`), or set RINGCOACH_NO_DB_TESTS=1 \
         to skip them knowingly"
    );
}

/// A database of its own for one test, with an owner that has migrated it.
pub struct TestDb {
    pub server: Server,
    pub name: String,
    pub owner: String,
    prefix: String,
    roles: std::sync::Mutex<Vec<String>>,
}

static N: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    /// A fresh database owned by a fresh owner role (LOGIN CREATEROLE), not migrated.
    pub fn empty(test: &str) -> Option<TestDb> {
        let server = server_or_skip(test)?;
        let prefix = format!(
            "t{}_{}_",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let name = format!("{prefix}db");
        let owner = format!("{prefix}owner");
        let t = TestDb {
            server,
            name,
            owner,
            prefix,
            roles: std::sync::Mutex::new(Vec::new()),
        };
        let mut su = t.superuser_on("postgres");
        su.batch_execute(&format!("CREATE ROLE \"{}\" LOGIN CREATEROLE", t.owner))
            .expect("create the test owner");
        su.batch_execute(&format!(
            "CREATE DATABASE \"{}\" OWNER \"{}\" ENCODING 'UTF8' TEMPLATE template0",
            t.name, t.owner
        ))
        .expect("create the test database");
        t.roles.lock().unwrap().push(t.owner.clone());
        Some(t)
    }

    /// A fresh database, migrated by its owner.
    pub fn migrated(test: &str) -> Option<TestDb> {
        let t = Self::empty(test)?;
        db::migrate(&mut t.connect_as(&t.owner)).expect("migrate");
        Some(t)
    }

    /// A user name unique to this test.
    pub fn user(&self, short: &str) -> String {
        format!("{}{short}", self.prefix)
    }

    /// Adds `short` (prefixed) as an agent or trainer, as the owner does.
    pub fn add(&self, short: &str, role: Role) -> String {
        let name = self.user(short);
        db::add_user(&mut self.connect_as(&self.owner), &name, role, None).expect("add user");
        self.roles.lock().unwrap().push(name.clone());
        name
    }

    /// Remembers a role made elsewhere in the test, to drop it afterwards.
    pub fn forget_later(&self, role: &str) {
        self.roles.lock().unwrap().push(role.to_string());
    }

    /// Settings for `user` over the unix socket (trusted: no password).
    pub fn socket_settings(&self, user: &str) -> DbSettings {
        DbSettings::new(format!(
            "host={} port={} user='{}' dbname={}",
            self.server.host, self.server.port, user, self.name
        ))
    }

    pub fn connect_as(&self, user: &str) -> Client {
        self.socket_settings(user)
            .connect()
            .unwrap_or_else(|e| panic!("connect as {user}: {e}"))
    }

    pub fn superuser(&self) -> Client {
        self.superuser_on(&self.name)
    }

    fn superuser_on(&self, dbname: &str) -> Client {
        DbSettings::new(format!(
            "host={} port={} user={} dbname={}",
            self.server.host, self.server.port, self.server.superuser, dbname
        ))
        .connect()
        .expect("connect as the superuser")
    }

    /// The server's `pg_ctl stop` / `start`.
    pub fn ctl(&self, what: &str) {
        let out = std::process::Command::new(&self.server.ctl)
            .arg(what)
            .output()
            .expect("run the server's pg_ctl wrapper");
        assert!(
            out.status.success(),
            "pg_ctl {what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Best effort: the cluster is thrown away at the end of the run anyway.
        let Ok(mut su) = DbSettings::new(format!(
            "host={} port={} user={} dbname=postgres",
            self.server.host, self.server.port, self.server.superuser
        ))
        .connect() else {
            return;
        };
        let _ = su.batch_execute(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ));
        for r in self.roles.lock().unwrap().iter().rev() {
            let _ = su.batch_execute(&format!("DROP ROLE IF EXISTS \"{r}\""));
        }
    }
}

/// A second of 16 kHz audio that differs by seed.
pub fn samples(seed: u64) -> Vec<i16> {
    (0..16_000u64)
        .map(|i| {
            ((i.wrapping_mul(2_654_435_761).wrapping_add(seed * 97) >> 7) % 4000) as i16 - 2000
        })
        .collect()
}

pub fn sha256(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Writes into `dst` the attempt in `src` under the same id with another grade (a restored
/// backup of another machine, say): consistent in itself, other hashes than the original.
/// Returns the new report's text.
pub fn same_id_other_grade(src: &Path, dst: &Path) -> &'static str {
    std::fs::create_dir_all(dst).unwrap();
    for name in ["audio.wav", "transcript.json", "started.json"] {
        std::fs::copy(src.join(name), dst.join(name)).unwrap();
    }
    let report = "{\"score\": 12.0}\n";
    std::fs::write(dst.join("report.json"), report).unwrap();
    let mut meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("meta.json")).unwrap()).unwrap();
    meta["files"]["report.json"] = serde_json::Value::String(sha256(report.as_bytes()));
    meta["score"] = 12.0.into();
    std::fs::write(
        dst.join("meta.json"),
        serde_json::to_vec_pretty(&meta).unwrap(),
    )
    .unwrap();
    report
}

/// Real voices, composed by the shared `compose.py`: 16 kHz mono samples.
pub fn compose(text: &str, out: &Path) -> Vec<i16> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/audio/compose.py");
    let st = std::process::Command::new("python3")
        .arg(&script)
        .args([text, out.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run python3 compose.py");
    assert!(st.success(), "compose.py failed");
    hound::WavReader::open(out)
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect()
}

/// A desk or a trainer's machine: its own data, config and cache directories.
pub struct Machine {
    pub dir: tempfile::TempDir,
}

impl Machine {
    pub fn new() -> Machine {
        let m = Machine {
            dir: tempfile::tempdir().unwrap(),
        };
        for d in ["data", "config/ringcoach", "cache", "state"] {
            std::fs::create_dir_all(m.dir.path().join(d)).unwrap();
        }
        m
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Writes the config's `[database]` table (the URL comes from the environment).
    pub fn config(&self, database: &str) {
        std::fs::write(
            self.dir.path().join("config/ringcoach/config.toml"),
            format!("[database]\n{database}\n"),
        )
        .unwrap();
    }

    /// A password file with `mode`.
    pub fn password(&self, name: &str, pw: &str, mode: u32) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, format!("{pw}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    /// `ringcoach ARGS` with this machine's directories and `url` as the database.
    pub fn run(&self, url: &str, password_file: Option<&Path>, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ringcoach"));
        c.args(args)
            .env("RINGCOACH_DATA_DIR", self.data())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .env("XDG_DATA_HOME", self.dir.path().join("data-home"))
            .env("RINGCOACH_DATABASE_URL", url)
            .env_remove("RINGCOACH_DATABASE_PASSWORD_FILE")
            .env_remove("RINGCOACH_PROMPTS");
        if let Some(p) = password_file {
            c.env("RINGCOACH_DATABASE_PASSWORD_FILE", p);
        }
        c.output().unwrap()
    }
}

pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
