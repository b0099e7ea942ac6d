//! `ringcoach report` end to end: the real binary over a store made through the store's
//! API, with reports from the real grader. The exports are compared byte for byte with
//! stored snapshots (attempt ids, which hold a random part, are redacted), written twice to
//! check they do not change, and the failure paths are one clear line with exit 2.

#[path = "review_fixture/mod.rs"]
mod fixture;

use std::path::Path;
use std::process::{Command, Output};

use fixture::{make, redact, BIN};
use ringcoach::store::Store;

/// `ringcoach report` with times in UTC, whatever the machine's zone.
fn report(data: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .env("TZ", "UTC")
        .arg("report")
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn exports_are_deterministic_and_match_their_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = make(&data);
    // A trainer overrules one check: the export shows the new verdict and the old one.
    let store = Store::open(&data).unwrap();
    store
        .overrule(
            &ids[0],
            "wang",
            "organisation",
            "uncertain",
            "pass",
            "说的是\"广利物业\", 录音清楚",
        )
        .unwrap();
    drop(store);

    let out = |n: u32| {
        let d = dir.path().join(format!("run{n}"));
        std::fs::create_dir(&d).unwrap();
        let o = report(
            &data,
            &[
                "--trainee",
                "li.na",
                "--lang",
                "en",
                "--html",
                d.join("r.html").to_str().unwrap(),
                "--csv",
                d.join("r.csv").to_str().unwrap(),
                "--checks",
                d.join("checks.csv").to_str().unwrap(),
                "--json",
                d.join("r.json").to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("li.na: 3 attempts"), "{}", stderr(&o));
        d
    };
    let (a, b) = (out(1), out(2));
    for f in ["r.html", "r.csv", "checks.csv", "r.json"] {
        let x = std::fs::read(a.join(f)).unwrap();
        assert_eq!(
            x,
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between runs"
        );
        // Nothing but the four files: no temp files left behind.
        assert_eq!(std::fs::read_dir(&a).unwrap().count(), 4);
    }
    let read = |f: &str| redact(&std::fs::read_to_string(a.join(f)).unwrap(), &ids);
    let html = read("r.html");
    // Self-contained: no scripts, no external resources.
    assert!(!html.contains("<script"));
    assert!(!html.contains("src="));
    assert!(!html.contains("href="));
    // One plot (scores over time); the pass rates are a table, so no label is clipped.
    assert_eq!(html.matches("<svg").count(), 1);
    assert!(html.contains("<table class=\"rates\">"));
    assert!(html.contains("overruled by wang"));
    insta::assert_snapshot!("report_html", html);
    insta::assert_snapshot!("report_csv", read("r.csv"));
    insta::assert_snapshot!("report_checks_csv", read("checks.csv"));
    insta::assert_snapshot!("report_json", read("r.json"));

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("r.json")).unwrap()).unwrap();
    let first = &json["attempts"][0];
    let org = first["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "organisation")
        .unwrap();
    assert_eq!(org["verdict"], "pass");
    assert_eq!(org["graded"], "uncertain");
    assert_eq!(org["overruled_by"], "wang");
}

#[test]
fn the_html_page_is_in_chinese_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = make(&data);
    Store::open(&data)
        .unwrap()
        .overrule(
            &ids[0],
            "wang",
            "organisation",
            "uncertain",
            "pass",
            "录音清楚",
        )
        .unwrap();
    let page = dir.path().join("r.html");
    // No --lang, and a config directory with no config in it: the default language.
    let o = Command::new(BIN)
        .env("TZ", "UTC")
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .args(["report", "--data-dir"])
        .arg(&data)
        .args([
            "--trainee",
            "li.na",
            "--generated-at",
            "2026-11-27",
            "--html",
        ])
        .arg(&page)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    for want in [
        "<h1>电话礼仪练习进度:li.na</h1>",
        "全部练习 · 共 3 次练习(3 次评分,",
        " · 生成于 2026-11-27</p>",
        "<h2>历次得分</h2>",
        "<h2>各类别通过率</h2>",
        "时间为 UTC+00:00",
        "<tr><td>报单位</td><td><span class=\"pass\">通过</span></td>",
        "<span class=\"muted\">(原判不确定,wang 推翻判定:录音清楚)</span>",
        "练习,从旧到新(实心 = 通过)",
    ] {
        assert!(html.contains(want), "{want} not in\n{html}");
    }
    assert!(!html.contains("Progress over time"), "{html}");
}

#[test]
fn a_date_range_selects_attempts_and_generated_at_is_only_printed_when_given() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    make(&data);
    let json = dir.path().join("r.json");
    let o = report(
        &data,
        &[
            "--trainee",
            "li.na",
            "--from",
            "2026-11-21",
            "--to",
            "2026-11-22",
            "--json",
            json.to_str().unwrap(),
            "--generated-at",
            "2026-11-27 by wang",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let attempts = v["attempts"].as_array().unwrap();
    assert_eq!(
        attempts.len(),
        1,
        "only the attempt of 11-22 (the whole day)"
    );
    assert_eq!(attempts[0]["started"], "2026-11-22T09:30:00.000Z");
    assert_eq!(v["generated_at"], "2026-11-27 by wang");
}

#[test]
fn an_unknown_trainee_is_one_line_naming_the_trainees_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    make(&data);
    let out = dir.path().join("r.csv");
    let o = report(
        &data,
        &["--trainee", "li.ma", "--csv", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("\"li.ma\"") && e.contains("li.na, zhang"), "{e}");
    assert!(!out.exists(), "nothing written on error");
}

#[test]
fn a_missing_data_dir_or_an_empty_store_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    let o = report(&missing, &["--trainee", "li.na", "--json", "x.json"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("does not exist") && e.contains("--data-dir"),
        "{e}"
    );
    assert!(
        !missing.exists(),
        "a missing store is not created by a report"
    );

    let empty = dir.path().join("empty");
    Store::open(&empty).unwrap();
    let o = report(&empty, &["--trainee", "li.na", "--json", "x.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no attempts yet"), "{}", stderr(&o));
}

#[test]
fn a_format_is_required_and_a_reversed_range_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    make(&data);
    let o = report(&data, &["--trainee", "li.na"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--html"), "{}", stderr(&o));
    let o = report(
        &data,
        &[
            "--trainee",
            "li.na",
            "--from",
            "2026-11-25",
            "--to",
            "2026-11-20",
            "--json",
            "x.json",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--to is not after --from"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn one_date_syntax_everywhere_with_local_dates() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    make(&data);
    let json = dir.path().join("r.json");
    // An age, as store list --since takes it: li.na's attempts of the last week.
    let week_ago = ringcoach::store::Timestamp::now().unix_ms() - 7 * 86_400_000;
    let recent = [
        "2026-11-20T09:00:00Z",
        "2026-11-22T09:30:00Z",
        "2026-11-24T14:00:00Z",
    ]
    .iter()
    .filter(|t| ringcoach::store::Timestamp::parse(t).unwrap().unix_ms() >= week_ago)
    .count();
    let o = report(
        &data,
        &[
            "--trainee",
            "li.na",
            "--from",
            "7d",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["attempts"].as_array().unwrap().len(), recent);
    // A date is local: in Shanghai the 11-22 09:30 UTC attempt is on the 22nd, 17:30, and
    // --to 2026-11-22 ends at local midnight.
    let o = Command::new(BIN)
        .env("TZ", "CST-8")
        .args(["report", "--data-dir"])
        .arg(&data)
        .args([
            "--trainee",
            "li.na",
            "--from",
            "2026-11-22",
            "--to",
            "2026-11-22",
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["from"], "2026-11-21T16:00:00.000Z");
    assert_eq!(v["attempts"].as_array().unwrap().len(), 1);
    // store list takes the same forms, and says what its flags mean.
    let o = Command::new(BIN)
        .env("TZ", "CST-8")
        .args(["store", "list", "--since", "2026-11-22", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().count(), 3, "header and two attempts: {out}");
    assert!(stderr(&o).contains("2 attempts in"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("FLAGS: ? needs review · R reviewed"),
        "{}",
        stderr(&o)
    );
    let o = Command::new(BIN)
        .args(["store", "list", "--since", "last week", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("7d"), "{}", stderr(&o));
}

#[test]
fn the_csv_opens_in_excel_and_reads_as_a_trainer_reads_an_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    make(&data);
    let store = Store::open(&data).unwrap();
    // 刘芳: a two-turn call of another scenario with pickup time and audio facts, and an
    // attempt interrupted while recording.
    fixture::call_attempt(
        &store,
        "刘芳",
        "end-call",
        &["请问您还有其他咨询事项吗?", "不客气,感谢您的来电,再见!"],
        "2026-11-25T09:00:00Z",
    );
    fixture::attempt(
        &store,
        "刘芳",
        "answer-call",
        "您好,广利物业,请问有什么可以帮您?",
        "2026-11-24T09:00:00Z",
        &fixture::tone(),
    );
    let mut rec = store
        .begin(
            ringcoach::store::AttemptInfo {
                scenario: "answer-call".into(),
                rubric_sha256: String::new(),
                model: "m".into(),
                trainee: "刘芳".into(),
                device: "test".into(),
                org: String::new(),
                started: ringcoach::store::Timestamp::parse("2026-11-26T09:00:00Z").unwrap(),
                sitting: None,
            },
            ringcoach::store::AudioFormat::SPEECH,
        )
        .unwrap();
    rec.push_i16(&fixture::tone()).unwrap();
    drop(rec);
    drop(store);
    Store::open(&data).unwrap();

    let csv = dir.path().join("r.csv");
    let o = report(
        &data,
        &["--trainee", "刘芳", "--csv", csv.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&csv).unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "a UTF-8 BOM by default, for Excel"
    );
    let rows = fixture::parse_csv(std::str::from_utf8(&bytes[3..]).unwrap());
    let head = &rows[0];
    // Who and when, the result, the call's facts, the transcript, then the checks in the
    // order the grader runs them (the opening first), not alphabetically.
    assert_eq!(
        &head[..20],
        [
            "attempt",
            "trainee",
            "started",
            "time_zone",
            "scenario",
            "status",
            "score",
            "passed",
            "needs_review",
            "reviewed",
            "reviewed_by",
            "rings",
            "pickup_s",
            "first_words_s",
            "speech_rate_cpm",
            "duration_s",
            "corrected",
            "regraded",
            "overrules",
            "transcript"
        ]
    );
    let checks: Vec<&str> = head[20..]
        .iter()
        .map(|h| h.trim_start_matches("check:"))
        .collect();
    assert_eq!(
        &checks[..3],
        ["rings", "late_apology", "greeting"],
        "{checks:?}"
    );
    let pos = |id: &str| checks.iter().position(|c| *c == id).unwrap();
    assert!(
        pos("greeting") < pos("banned_phrase:wei") && pos("banned_phrase:wei") < pos("speech_rate")
    );
    assert!(pos("closing") < pos("speech_rate"), "{checks:?}");
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let by_started = |prefix: &str| {
        rows.iter()
            .find(|r| r[col("started")].starts_with(prefix))
            .unwrap()
    };
    let call = by_started("2026-11-25");
    assert_eq!(call[col("trainee")], "刘芳");
    assert_eq!(call[col("rings")], "2");
    assert_eq!(call[col("pickup_s")], "5.3");
    assert_eq!(call[col("first_words_s")], "0.4");
    assert_eq!(call[col("speech_rate_cpm")], "150");
    assert_eq!(call[col("time_zone")], "UTC+00:00");
    assert_eq!(
        call[col("transcript")],
        "请问您还有其他咨询事项吗?\n不客气,感谢您的来电,再见!"
    );
    // The end-call rubric has no greeting: blank. Its manner checks ran: a verdict.
    assert_eq!(call[col("check:greeting")], "");
    assert_eq!(call[col("check:speech_rate")], "pass");
    // Graded from text: the manner checks ran and did not apply.
    let text_only = by_started("2026-11-24");
    assert_eq!(text_only[col("check:speech_rate")], "not_applicable");
    assert_eq!(text_only[col("speech_rate_cpm")], "", "no value, no number");
    assert_eq!(text_only[col("pickup_s")], "");
    // Interrupted: no grade, so no score, pass or verdicts — blank, not "not_applicable".
    let cut = by_started("2026-11-26");
    assert_eq!(cut[col("status")], "interrupted");
    for c in [
        "score",
        "passed",
        "rings",
        "check:greeting",
        "check:speech_rate",
    ] {
        assert_eq!(cut[col(c)], "", "{c}");
    }

    let o = report(
        &data,
        &[
            "--trainee",
            "刘芳",
            "--no-bom",
            "--csv",
            csv.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read(&csv).unwrap().starts_with(b"attempt,"));
}

#[test]
fn an_export_to_a_directory_that_does_not_exist_says_so_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    make(&data);
    let target = dir.path().join("missing-dir/x.html");
    let o = report(
        &data,
        &["--trainee", "li.na", "--html", target.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("missing-dir") && e.contains("does not exist") && e.contains("mkdir -p"),
        "{e}"
    );
    assert!(
        !e.contains("data directory") && !e.contains("RINGCOACH_DATA_DIR"),
        "{e}"
    );
    assert!(!dir.path().join("missing-dir").exists());
    let o = report(
        &data,
        &["--trainee", "li.na", "--csv", dir.path().to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a directory"), "{}", stderr(&o));
}
