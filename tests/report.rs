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

fn report(data: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
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
    assert_eq!(html.matches("<svg").count(), 2);
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
        "<th>开始时间(UTC)</th><th>情景</th>",
        "organisation <span class=\"pass\">通过</span> <span class=\"muted\">(原判不确定,wang 推翻判定:录音清楚)</span>",
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
