//! The review screens end to end, as a trainer meets them: the real binary in a real
//! terminal (tmux, 80×24) over a store made through the store's API with reports from the
//! real grader. The test types the keys a trainer would, reads the screen back, and checks
//! the result through the store's API afterwards. Most run in English (`--lang en`); one
//! runs in the default language, Chinese, and one takes English from a config file.

#[path = "review_fixture/mod.rs"]
mod fixture;
mod support;

use std::path::Path;
use std::time::Duration;

use fixture::{make, BIN};
use ringcoach::store::{AuditAction, Store};
use support::tmux::Tmux;

const SCREEN: Duration = Duration::from_secs(20);

/// The review over `data`, with `extra` flags. The config directory is the test's own, so
/// the language never comes from the config of whoever runs the tests.
fn command_with(dir: &Path, data: &Path, extra: &str) -> String {
    format!(
        "cd {dir} && XDG_STATE_HOME='{dir}/state' XDG_CONFIG_HOME='{dir}/config' {BIN} review --data-dir '{data}' --trainer wang --output null {extra}; echo EXITED=$?; sleep 60",
        dir = dir.display(),
        data = data.display(),
    )
}

fn command(dir: &Path, data: &Path) -> String {
    command_with(dir, data, "--lang en")
}

fn typed(t: &Tmux, text: &str) {
    t.keys(&["-l", text]);
}

#[test]
fn filter_open_overrule_with_a_note_mark_reviewed_and_quit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = make(&data);
    let t = Tmux::start(dir.path(), &command(dir.path(), &data), 80, 24);
    let s = t.wait_for("Review queue · 4 attempts", SCREEN);
    assert!(s.contains("zhang"), "{s}");

    // Only li.na's attempts, then only those a trainer should listen to.
    t.keys(&["t"]);
    typed(&t, "li.na");
    t.keys(&["Enter"]);
    let s = t.wait_for("3 attempts", SCREEN);
    assert!(s.contains("trainee=li.na") && !s.contains("zhang"), "{s}");
    t.keys(&["n"]);
    let s = t.wait_for("1 attempt ", SCREEN);
    assert!(
        s.contains("needs review") && s.contains("11-20 09:00"),
        "{s}"
    );

    t.keys(&["Enter"]);
    let s = t.wait_for("NOT PASSED 36/100", SCREEN);
    assert!(s.contains("? organisation named"), "{s}");
    assert!(s.contains("no trainer actions yet"), "{s}");
    // The cursor starts on the uncertain check.
    assert!(s.contains("▸? organisation named"), "{s}");
    t.wait_for("光力物业", SCREEN);
    t.keys(&["o"]);
    t.wait_for("overrule organisation named → pass, note:", SCREEN);
    t.keys(&["Enter"]);
    t.wait_for("An overrule needs a note", SCREEN);
    typed(&t, "clearly 广利物业 on the recording");
    t.keys(&["Enter"]);
    let s = t.wait_for("(was uncertain, overruled by wang)", SCREEN);
    assert!(s.contains("Audit log (1)"), "{s}");
    assert!(
        s.contains("wang overruled organisation named uncertain → pass: clearly"),
        "{s}"
    );
    // The overrule counts: the only uncertain check is settled, the score rises.
    assert!(s.contains("NOT PASSED 45/100"), "{s}");
    t.keys(&["m"]);
    let s = t.wait_for("Audit log (2)", SCREEN);
    assert!(s.contains("· reviewed"), "{s}");

    t.keys(&["q"]);
    t.wait_for("Review queue", SCREEN);
    t.keys(&["q"]);
    let end = t.wait_for("EXITED=", SCREEN);
    assert!(end.contains("EXITED=0"), "{end}");

    let store = Store::open(&data).unwrap();
    let a = store.load(&ids[0]).unwrap();
    assert_eq!(a.audit.len(), 2, "{:?}", a.audit);
    let o = &a.audit[0];
    assert_eq!(o.trainer, "wang");
    assert_eq!(o.note, "clearly 广利物业 on the recording");
    assert_eq!(
        o.action,
        AuditAction::Overrule {
            check: "organisation".into(),
            original: "uncertain".into(),
            verdict: "pass".into(),
            graded: Some("uncertain".into()),
            report: Some(0),
        }
    );
    assert_eq!(a.audit[1].action, AuditAction::Reviewed);
    let s = store.summary(&ids[0]).unwrap().unwrap();
    assert!(s.reviewed && s.overrules == 1, "{s:?}");
    // The grader's report is untouched.
    assert_eq!(a.regraded_report, None);
}

#[test]
fn correcting_the_transcript_regrades_and_keeps_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = make(&data);
    let t = Tmux::start(dir.path(), &command(dir.path(), &data), 80, 24);
    t.wait_for("Review queue · 4 attempts", SCREEN);
    // Newest first: 11-24 (li.na), 11-22 (li.na, said 你好 for 您好).
    t.keys(&["Down", "Enter"]);
    t.wait_for("NOT PASSED 69/100", SCREEN);
    t.keys(&["e"]);
    t.wait_for("transcript: 你好", SCREEN);
    t.keys(&["Home", "Delete"]);
    typed(&t, "您");
    t.keys(&["Enter"]);
    let s = t.wait_for("PASSED 100/100", SCREEN);
    assert!(!s.contains("NOT PASSED"), "{s}");
    assert!(s.contains("· corrected"), "{s}");
    assert!(s.contains("re-graded 69 → 100"), "{s}");
    t.keys(&["C-c"]);
    let end = t.wait_for("EXITED=", SCREEN);
    assert!(end.contains("EXITED=0"), "{end}");

    let store = Store::open(&data).unwrap();
    let a = store.load(&ids[2]).unwrap();
    assert_eq!(
        a.transcript.unwrap().text,
        "你好,广利物业,请问有什么可以帮您?"
    );
    assert_eq!(
        a.corrected_transcript.unwrap().text,
        "您好,广利物业,请问有什么可以帮您?"
    );
    assert_eq!(a.report.unwrap()["score"], 69);
    assert_eq!(a.regraded_report.unwrap()["score"], 100);
    let s = store.summary(&ids[2]).unwrap().unwrap();
    assert_eq!((s.score, s.passed), (Some(100.0), Some(true)));
}

#[test]
fn an_empty_store_shows_an_empty_queue_that_says_how_to_make_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    Store::open(&data).unwrap();
    // English from the user's config file, with no --lang.
    let config = dir.path().join("config/ringcoach");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), "lang = \"en\"\n").unwrap();
    let t = Tmux::start(dir.path(), &command_with(dir.path(), &data, ""), 80, 24);
    let s = t.wait_for("No attempts yet in", SCREEN);
    assert!(s.contains("ringcoach practice --trainee NAME"), "{s}");
    t.keys(&["Enter", "q"]);
    let end = t.wait_for("EXITED=", SCREEN);
    assert!(end.contains("EXITED=0"), "{end}");
}

#[test]
fn in_chinese_by_default_a_trainer_overrules_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = make(&data);
    let t = Tmux::start(dir.path(), &command_with(dir.path(), &data, ""), 80, 24);
    let s = t.wait_for("复核队列 · 共 4 次练习", SCREEN);
    assert!(s.contains("培训师 wang") && s.contains("排序: 最新"), "{s}");
    t.keys(&["n"]);
    let s = t.wait_for("共 1 次练习", SCREEN);
    assert!(s.contains("筛选: 需要复核"), "{s}");
    t.keys(&["Enter"]);
    let s = t.wait_for("未通过 36/100", SCREEN);
    assert!(s.contains("▸? 报单位") && s.contains("不确定"), "{s}");
    assert!(s.contains("培训师尚未操作"), "{s}");
    t.keys(&["o"]);
    t.wait_for("推翻判定 报单位 → 通过,备注:", SCREEN);
    t.keys(&["Enter"]);
    t.wait_for("推翻判定必须填写备注", SCREEN);
    typed(&t, "录音里是广利物业");
    t.keys(&["Enter"]);
    let s = t.wait_for("操作记录 (1)", SCREEN);
    assert!(s.contains("(原判不确定,wang 推翻判定)"), "{s}");
    assert!(s.contains("已记入操作记录"), "{s}");
    t.keys(&["q"]);
    t.wait_for("复核队列", SCREEN);
    t.keys(&["q"]);
    let end = t.wait_for("EXITED=", SCREEN);
    assert!(end.contains("EXITED=0"), "{end}");

    let a = Store::open(&data).unwrap().load(&ids[0]).unwrap();
    assert_eq!(a.audit.len(), 1, "{:?}", a.audit);
    assert_eq!(a.audit[0].note, "录音里是广利物业");
    // The stored verdicts are the same words whatever the screen's language.
    assert_eq!(
        a.audit[0].action,
        AuditAction::Overrule {
            check: "organisation".into(),
            original: "uncertain".into(),
            verdict: "pass".into(),
            graded: Some("uncertain".into()),
            report: Some(0),
        }
    );
}

#[test]
fn a_missing_data_dir_is_one_line_before_the_screen_opens() {
    let out = std::process::Command::new(BIN)
        .args([
            "review",
            "--data-dir",
            "/nonexistent/ringcoach",
            "--trainer",
            "wang",
            "--output",
            "null",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("/nonexistent/ringcoach") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn a_skipped_scenario_file_is_a_warning_left_on_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    Store::open(&data).unwrap();
    let prompts = dir.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    std::fs::write(prompts.join("broken.toml"), "id = \n").unwrap();
    let extra = format!("--lang en --prompts '{}'", prompts.display());
    let t = Tmux::start(dir.path(), &command_with(dir.path(), &data, &extra), 80, 24);
    t.wait_for("No attempts yet in", SCREEN);
    t.keys(&["q"]);
    // The screen is gone; what was said before it opened is still there.
    let end = t.wait_for("EXITED=", SCREEN);
    assert!(end.contains("EXITED=0"), "{end}");
    assert!(
        end.contains("warning") && end.contains("broken.toml:1:") && end.contains("skipped"),
        "{end}"
    );
}

/// The number after `label` on the screen's second line ("NOT PASSED 27/100" → 27).
fn score_on(screen: &str) -> u32 {
    let line = screen.lines().nth(1).unwrap_or_default();
    let before = line.split("/100").next().unwrap_or_default();
    before
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no score on {line}"))
}

#[test]
fn a_regrade_keeps_the_overrules_that_still_apply_and_asks_about_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = make(&data);
    let t = Tmux::start(dir.path(), &command(dir.path(), &data), 80, 24);
    t.wait_for("Review queue · 4 attempts", SCREEN);
    // 喂,你好,光力物业 — organisation uncertain, 喂 a critical fail.
    t.keys(&["n"]);
    t.wait_for("1 attempt ", SCREEN);
    t.keys(&["Enter"]);
    t.wait_for("NOT PASSED 36/100", SCREEN);

    // The trainer takes 光力物业 for a wrong name: the fail costs the uncertain credit.
    t.keys(&["o", "Tab"]);
    t.wait_for("overrule organisation named → fail, note:", SCREEN);
    typed(&t, "wrong name");
    t.keys(&["Enter"]);
    let s = t.wait_for("Audit log (1)", SCREEN);
    assert!(s.contains("NOT PASSED 27/100"), "{s}");
    assert!(
        s.lines()
            .any(|l| l
                .contains("organisation named     fail       (was uncertain, overruled by wang)")),
        "{s}"
    );
    // …and hears that the 喂 was the caller's: the critical failure is overruled.
    t.keys(&["Down", "Down", "Down"]);
    t.wait_for("▸✘ banned 「喂」", SCREEN);
    t.keys(&["o"]);
    t.wait_for("overrule banned 「喂」 → pass, note:", SCREEN);
    typed(&t, "the caller said it");
    t.keys(&["Enter"]);
    let s = t.wait_for("Audit log (2)", SCREEN);
    assert!(
        s.lines().any(|l| l
            .contains("banned 「喂」          pass       critical (was fail, overruled by wang)")),
        "{s}"
    );

    // Then corrects the transcript: 光力物业 → 广利物业, the 喂 left as heard.
    t.keys(&["e"]);
    t.wait_for("transcript: 喂,你好,光力物业", SCREEN);
    t.keys(&[
        "Home", "Right", "Right", "Right", "Right", "Right", "Delete", "Delete",
    ]);
    typed(&t, "广利");
    t.wait_for("transcript: 喂,你好,广利物业,有什么事?", SCREEN);
    t.keys(&["Enter"]);
    // The re-grade passes organisation: the old fail no longer matches, and the review asks
    // about it at once, on its row. The 喂 overrule still applies (the re-grade fails 喂 as
    // before) and says so.
    let s = t.wait_for("keep it?", SCREEN);
    // The question is read whole, over two rows at 80 columns, with its keys below it.
    let joined = s.lines().collect::<Vec<_>>().join(" ");
    assert!(
        joined.contains(
            "wang's overrule of organisation named (fail) no longer matches the re-graded pass: keep it?"
        ),
        "{s}"
    );
    assert!(
        s.contains("y keep the overrule · n drop it, take the re-grade · Esc decide later"),
        "{s}"
    );
    assert!(
        s.lines().any(|l| l.contains("▸✔ organisation named")
            && l.contains("(wang's fail no longer matches)")),
        "{s}"
    );
    assert!(
        s.lines().any(|l| l
            .contains("banned 「喂」          pass       critical (was fail, overruled by wang)")),
        "{s}"
    );
    assert!(s.contains("广利物业"), "{s}");
    // The re-grade's line in the audit log is in the screen's words only.
    assert!(
        s.lines().any(|l| l.contains("wang re-graded 27 → 45")
            && l.trim_end_matches('│').trim_end().ends_with("45")),
        "{s}"
    );
    let regraded = score_on(&s);
    assert!(regraded > 36, "the re-graded pass counts meanwhile: {s}");
    // The queue and store list mark it as needing review while the question is open.
    let listed = |id: &ringcoach::store::AttemptId| {
        let o = std::process::Command::new(BIN)
            .args(["store", "list", "--json", "--data-dir"])
            .arg(&data)
            .output()
            .unwrap();
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
        rows.into_iter().find(|r| r["id"] == id.as_str()).unwrap()
    };
    assert_eq!(listed(&ids[0])["needs_review"], true);

    // Drop it: the re-grade's pass is taken, logged as the trainer's; nothing is left open.
    t.keys(&["n"]);
    let s = t.wait_for("Audit log (5)", SCREEN);
    assert!(
        !s.contains("keep it?") && !s.contains("no longer matches"),
        "{s}"
    );
    assert!(
        s.lines()
            .any(|l| l.contains("▸✔ organisation named     pass       (confirmed by wang)")),
        "{s}"
    );
    assert!(
        s.contains("took the re-graded organisation named pass: overrule"),
        "{s}"
    );
    // The 喂 overrule still counts.
    assert!(
        s.lines().any(|l| l
            .contains("banned 「喂」          pass       critical (was fail, overruled by wang)")),
        "{s}"
    );
    assert_eq!(score_on(&s), regraded);
    let row = listed(&ids[0]);
    assert_eq!(row["needs_review"], false, "{row}");
    assert_eq!(row["score"].as_f64(), Some(f64::from(regraded)), "{row}");
    assert_eq!(row["passed"], false, "{row}");
    t.keys(&["C-c"]);
    let end = t.wait_for("EXITED=", SCREEN);
    assert!(end.contains("EXITED=0"), "{end}");
}
