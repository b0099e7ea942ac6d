//! A training room under load: 30 desks (threads, each with its own local store, database
//! user and upload worker) upload 50 attempts each of real 5–15 s recordings over TCP with
//! TLS, while a trainer lists and opens attempts. Prints uploads per second, the trainer's
//! list and open latency under that load, that every hash matched, and what the server
//! holds per attempt. Asserts nothing about speed.
//!
//!   scripts/with-postgres cargo bench --bench db_load                      # 30 desks × 50
//!   scripts/with-postgres cargo bench --bench db_load -- --desks 5 --attempts 10
//!
//! Needs the server `scripts/with-postgres` starts (a superuser on its socket, TLS on
//! 127.0.0.1) and the voices in ../shared/audio (compose.py).

mod bench_support;
use bench_support::machine;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use ringcoach::db::load::{self, percentile};
use ringcoach::db::{self, DbSettings, Role};

/// Etiquette lines from the phrase book's world, one to three sentences: 5–15 s spoken.
const LINES: [&str; 12] = [
    "您好,广利物业,请问有什么可以帮您?",
    "您好,这里是客服中心,很高兴为您服务。请问您贵姓?",
    "对不起,让您久等了。请问有什么可以帮您?",
    "您好,广利物业。请您稍等,我帮您查一下。谢谢您的耐心。",
    "谢谢您的来电,再见。",
    "您好,请问您是哪个小区的业主?请您留下电话,我们马上安排维修。",
    "对不起,这个问题我需要请示一下,请您稍等。谢谢。",
    "您好,广利物业。请问您要报修还是咨询?",
    "请您放心,我们会尽快处理。还有什么可以帮您的吗?谢谢您的来电,再见。",
    "您好,物业服务中心。对不起,刚才没有听清楚,请您再说一遍,好吗?",
    "好的,已经为您登记了。维修师傅下午两点上门,请您家里留人。谢谢。",
    "您好,请讲。对不起,让您久等了。",
];

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("db_load: {name} is not set: run under scripts/with-postgres");
        std::process::exit(2)
    })
}

fn compose(text: &str, out: &Path, extra: &[&str]) -> Vec<i16> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/audio/compose.py");
    let st = std::process::Command::new("python3")
        .arg(&script)
        .args([text, out.to_str().unwrap()])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run python3 compose.py (../shared/audio)");
    assert!(st.success(), "compose.py failed for {text}");
    hound::WavReader::open(out)
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect()
}

fn main() {
    let desks = arg("--desks", 30);
    let attempts = arg("--attempts", 50);
    let (host, port, su) = (
        env("RINGCOACH_TEST_PG_HOST"),
        env("RINGCOACH_TEST_PG_PORT"),
        env("RINGCOACH_TEST_PG_SUPERUSER"),
    );
    let ca = env("RINGCOACH_TEST_PG_CA");
    println!(
        "db_load: {desks} desks × {attempts} attempts; machine: {}",
        machine()
    );
    let work = tempfile::tempdir().unwrap();

    // Recordings of 5–15 s: the lines above as spoken (4.9–15.8 s), held to that range.
    let mut recordings = Vec::new();
    for (i, line) in LINES.iter().enumerate() {
        let mut samples = compose(line, &work.path().join(format!("line{i}.wav")), &[]);
        samples.resize(samples.len().clamp(16_000 * 5, 16_000 * 15), 0);
        recordings.push((samples, line.to_string()));
    }
    let secs: Vec<f64> = recordings
        .iter()
        .map(|(s, _)| s.len() as f64 / 16_000.0)
        .collect();
    println!(
        "recordings: {} real voices (compose.py), {:.1}–{:.1} s",
        recordings.len(),
        secs.iter().cloned().fold(f64::MAX, f64::min),
        secs.iter().cloned().fold(0.0, f64::max)
    );

    // A database of its own, an owner, 30 agents and a trainer, all with one password.
    let tag = format!("load{}", std::process::id());
    let superuser = |dbname: &str| {
        DbSettings::new(format!("host={host} port={port} user={su} dbname={dbname}"))
            .connect()
            .expect("connect as the superuser")
    };
    let mut s = superuser("postgres");
    let owner = format!("{tag}_owner");
    s.batch_execute(&format!("CREATE ROLE {owner} LOGIN CREATEROLE"))
        .unwrap();
    s.batch_execute(&format!(
        "CREATE DATABASE {tag} OWNER {owner} ENCODING 'UTF8' TEMPLATE template0"
    ))
    .unwrap();
    let owner_settings =
        DbSettings::new(format!("host={host} port={port} user={owner} dbname={tag}"));
    let mut oc = owner_settings.connect().unwrap();
    db::migrate(&mut oc).unwrap();
    let pw = work.path().join("password");
    std::fs::write(&pw, "load-test password\n").unwrap();
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    let tcp = |user: &str| {
        DbSettings::new(format!("postgresql://{user}@127.0.0.1:{port}/{tag}"))
            .password_file(&pw)
            .ca_file(&ca)
    };
    let mut users = Vec::new();
    let desk_settings: Vec<(String, DbSettings)> = (0..desks)
        .map(|d| {
            let u = format!("{tag}_desk{d:02}");
            db::add_user(&mut oc, &u, Role::Agent, Some(&pw)).unwrap();
            users.push(u.clone());
            let st = tcp(&u);
            (u, st)
        })
        .collect();
    let trainer = format!("{tag}_trainer");
    db::add_user(&mut oc, &trainer, Role::Trainer, Some(&pw)).unwrap();
    users.push(trainer.clone());

    let plan = load::Plan {
        desks: desk_settings,
        attempts_per_desk: attempts,
        recordings,
        trainer: tcp(&trainer),
        work_dir: work.path().to_path_buf(),
        timeout: Duration::from_secs(1800),
    };
    let r = load::run(&plan).expect("load run");
    let mb = r.audio_bytes as f64 / 1e6;
    println!(
        "recorded locally: {} attempts, {mb:.0} MB of audio, in {:.1} s (not timed below)",
        r.attempts,
        r.record_time.as_secs_f64()
    );
    println!(
        "upload (TLS over 127.0.0.1, {desks} workers at once): {:.1} s → {:.1} attempts/s, {:.1} MB/s of audio",
        r.upload_time.as_secs_f64(),
        r.uploads_per_s(),
        mb / r.upload_time.as_secs_f64()
    );
    let pct = |xs: &[f64]| {
        format!(
            "p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples)",
            percentile(xs, 50.0),
            percentile(xs, 95.0),
            percentile(xs, 99.0),
            percentile(xs, 100.0),
            xs.len()
        )
    };
    println!(
        "trainer list (newest 50 / one trainee) under load: {}",
        pct(&r.list_ms)
    );
    println!(
        "trainer open (attempt + audio fetched, cold cache) under load: {}",
        pct(&r.open_ms)
    );
    println!(
        "on the server: {} rows for {} attempts; hash mismatches: {}",
        r.rows_on_server,
        r.attempts,
        r.mismatches.len()
    );

    // The same trainer's list and open with the room quiet, for comparison.
    let mut pg = ringcoach::db::PgStore::new(
        tcp(&trainer).connect().unwrap(),
        &work.path().join("idle-cache"),
    )
    .unwrap();
    let (mut list_idle, mut open_idle) = (Vec::new(), Vec::new());
    for i in 0..60 {
        let q = ringcoach::store::Query {
            descending: true,
            limit: Some(50),
            trainee: (i % 2 == 1).then(|| users[i / 2 % desks].clone()),
            ..Default::default()
        };
        let t = std::time::Instant::now();
        let rows = pg.list(&q).unwrap();
        list_idle.push(t.elapsed().as_secs_f64() * 1000.0);
        let id = &rows[i % rows.len()].id;
        let t = std::time::Instant::now();
        pg.load(id).unwrap();
        let p = pg.audio(id).unwrap();
        open_idle.push(t.elapsed().as_secs_f64() * 1000.0);
        std::fs::remove_file(p).unwrap();
    }
    println!("trainer list, room quiet: {}", pct(&list_idle));
    println!("trainer open, room quiet: {}", pct(&open_idle));
    let t = std::time::Instant::now();
    let all = pg.list(&ringcoach::store::Query::default()).unwrap();
    println!(
        "trainer list of all {} attempts, room quiet: {:.1} ms",
        all.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    drop(pg);

    // What a server holds: per attempt, and the table sizes on disk.
    let mut sc = superuser(&tag);
    let row = sc
        .query_one(
            "SELECT pg_total_relation_size('ringcoach.attempts'), pg_total_relation_size('ringcoach.audio'), \
                    pg_total_relation_size('ringcoach.decisions'), pg_database_size(current_database()), \
                    (SELECT avg(bytes) FROM ringcoach.audio)::float8, \
                    (SELECT avg(octet_length(meta::text) + coalesce(octet_length(transcript::text), 0) + coalesce(octet_length(report::text), 0)) FROM ringcoach.attempts)::float8",
            &[],
        )
        .unwrap();
    let (att, aud, dec, dbsize): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    let (avg_audio, avg_json): (f64, f64) = (row.get(4), row.get(5));
    let n = r.rows_on_server.max(1) as f64;
    println!(
        "server size: attempts {:.1} MB, audio {:.1} MB, decisions {:.2} MB, database {:.1} MB → {:.0} kB per attempt on disk (audio {:.0} kB avg, JSON {:.1} kB avg)",
        att as f64 / 1e6,
        aud as f64 / 1e6,
        dec as f64 / 1e6,
        dbsize as f64 / 1e6,
        (att + aud + dec) as f64 / n / 1e3,
        avg_audio / 1e3,
        avg_json / 1e3
    );
    drop(sc);
    drop(oc);
    let _ = s.batch_execute(&format!("DROP DATABASE IF EXISTS {tag} WITH (FORCE)"));
    for u in users.iter().chain([&owner]) {
        let _ = s.batch_execute(&format!("DROP ROLE IF EXISTS {u}"));
    }
    if r.rows_on_server != r.attempts || !r.mismatches.is_empty() {
        eprintln!("db_load: FAILED: not every attempt arrived intact");
        std::process::exit(1);
    }
}
