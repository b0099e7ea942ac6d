//! The review screens a trainer reads at 80×24, in Chinese and English: the real binary in
//! a real terminal (tmux) over a real store. Each test is one of the things a trainer
//! trips over otherwise: columns that run together, boxes that break after Chinese text,
//! times in UTC, an audit log that cannot be undone or scrolled, a progress chart that
//! drops categories, filters that need exact names, a search that does not hear
//! homophones, and flags nobody explains.

#[path = "review_fixture/mod.rs"]
mod fixture;
mod support;

use std::path::Path;
use std::time::Duration;

use fixture::{make, BIN};
use ringcoach::store::{AuditAction, Store};
use support::tmux::Tmux;
use unicode_width::UnicodeWidthStr;

const SCREEN: Duration = Duration::from_secs(20);

/// The review over `data` in language `lang`, local time in Shanghai (UTC+8). Each run
/// has its own tmux server (a directory per language), so one test can run both.
fn start(dir: &Path, data: &Path, lang: &str) -> Tmux {
    let dir = dir.join(lang);
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.as_path();
    let cmd = format!(
        "cd {dir} && TZ=CST-8 XDG_STATE_HOME='{dir}/state' XDG_CONFIG_HOME='{dir}/config' {BIN} review --data-dir '{data}' --trainer wang --output null --lang {lang}; echo EXITED=$?; sleep 60",
        dir = dir.display(),
        data = data.display(),
    );
    Tmux::start(dir, &cmd, 80, 24)
}

fn typed(t: &Tmux, text: &str) {
    t.keys(&["-l", text]);
}

/// Every box on the screen is whole: a line that starts with a border is exactly 80
/// columns wide and ends with one.
fn assert_boxes_whole(screen: &str) {
    for line in screen.lines() {
        let Some(first) = line.chars().next() else {
            continue;
        };
        if !matches!(first, '┌' | '│' | '└') {
            continue;
        }
        let last = line.chars().last().unwrap();
        assert!(
            UnicodeWidthStr::width(line) == 80 && matches!(last, '┐' | '│' | '┘'),
            "a box is broken on this line ({} columns):\n{line}\nscreen:\n{screen}",
            UnicodeWidthStr::width(line)
        );
    }
}

fn quit(t: &Tmux) {
    t.keys(&["C-c"]);
    let end = t.wait_for("EXITED=", SCREEN);
    assert!(end.contains("EXITED=0"), "{end}");
}

#[test]
fn the_attempt_screen_reads_at_80x24_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    make(&data);
    for (lang, names, ids) in [
        // 喂 was said: ten other families passed, folded into one row.
        (
            "en",
            ["organisation named", "banned phrases ×10", "greeting"],
            ["banned_phrase:", "organisation  "],
        ),
        (
            "zh",
            ["报单位", "服务忌语 ×10", "问好"],
            ["banned_phrase:", "organisation"],
        ),
    ] {
        let t = start(dir.path(), &data, lang);
        t.wait_for("li.na", SCREEN);
        // The oldest attempt (光力物业, 喂) is the last row.
        t.keys(&["End"]);
        t.keys(&["Up", "Up", "Up", "Down", "Down", "Down"]);
        t.keys(&["Enter"]);
        let s = t.wait_for("36/100", SCREEN);
        assert_boxes_whole(&s);
        for n in names {
            assert!(s.contains(n), "{lang}: {n} not on screen:\n{s}");
        }
        for id in ids {
            assert!(!s.contains(id), "{lang}: the id {id} is shown:\n{s}");
        }
        // The cursor starts on the uncertain check, and the manner checks are on screen
        // below the folded banned phrases.
        let cursor = s.lines().find(|l| l.contains('▸')).unwrap();
        assert!(cursor.contains('?'), "{lang}: cursor on {cursor}\n{s}");
        assert!(
            s.contains(if lang == "en" { "fillers" } else { "口头禅" }),
            "{s}"
        );
        // Times are local, with the zone: 09:00 UTC is 17:00 in Shanghai.
        assert!(s.contains("11-20 17:00 +08:00"), "{s}");
        // Enter on the folded row lists the families one by one.
        let row = s.lines().position(|l| l.contains(names[1])).unwrap();
        let cursor_row = s.lines().position(|l| l.contains('▸')).unwrap();
        for _ in 0..row.abs_diff(cursor_row) {
            t.keys(&[if row > cursor_row { "Down" } else { "Up" }]);
        }
        t.keys(&["Enter"]);
        let s = t.wait_for(
            if lang == "en" {
                "banned 「不知道」"
            } else {
                "忌语「不知道」"
            },
            SCREEN,
        );
        assert_boxes_whole(&s);
        quit(&t);
    }
}

#[test]
fn a_two_turn_call_shows_the_callers_lines_and_is_corrected_turn_by_turn() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = Store::open(&data).unwrap();
    let id = fixture::call_attempt(
        &store,
        "王芳",
        "end-call",
        &["请问您还有其他咨询事项吗?", "不客气,感谢您的来电,在见!"],
        "2026-11-25T09:00:00Z",
    );
    drop(store);
    let t = start(dir.path(), &data, "zh");
    t.wait_for("王芳", SCREEN);
    t.keys(&["Enter"]);
    let s = t.wait_for("来电: 好的,那就这样吧。", SCREEN);
    assert!(s.contains("学员1:") && s.contains("学员2:"), "{s}");
    assert!(s.contains("来电: 没有了,谢谢你。"), "{s}");
    assert_boxes_whole(&s);
    t.keys(&["e"]);
    t.wait_for("转写(第 1/2 轮):", SCREEN);
    t.keys(&["Tab"]);
    t.wait_for("转写(第 2/2 轮):不客气", SCREEN);
    t.keys(&["End", "BSpace", "BSpace", "BSpace"]);
    typed(&t, "再见!");
    t.keys(&["Enter"]);
    let s = t.wait_for("重新评分:100/100", SCREEN);
    assert!(s.contains("学员2: 不客气感谢您的来电再见"), "{s}");
    // The audit log shows the text before and after.
    assert!(s.contains("在见") && s.contains("→"), "{s}");
    assert_boxes_whole(&s);
    quit(&t);
    let a = Store::open(&data).unwrap().load(&id).unwrap();
    let r: ringcoach::grading::Report = serde_json::from_value(a.regraded_report.unwrap()).unwrap();
    assert_eq!(r.turns.len(), 2);
    assert!(r.turns.iter().all(|t| t.audio.is_some()));
}

#[test]
fn m_toggles_the_reviewed_mark_and_the_audit_log_scrolls_and_shows_corrections() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = make(&data);
    // li.na's 11-22 attempt, said 你好 for 您好: four decisions before the review opens.
    let store = Store::open(&data).unwrap();
    for (i, note) in ["first", "second", "third", "fourth"].iter().enumerate() {
        let (from, to) = if i % 2 == 0 {
            ("fail", "pass")
        } else {
            ("pass", "fail")
        };
        store
            .overrule(&ids[2], "li", "greeting", from, to, note)
            .unwrap();
    }
    drop(store);
    let t = start(dir.path(), &data, "en");
    t.wait_for("li.na", SCREEN);
    t.keys(&["Down", "Enter"]);
    let s = t.wait_for("Audit log (4)", SCREEN);
    // The newest three lines are shown, and the title says which.
    assert!(s.contains("lines 2–4 of 4"), "{s}");
    assert!(s.contains("fourth") && !s.contains("first"), "{s}");
    t.keys(&["PPage"]);
    let s = t.wait_for("lines 1–3 of 4", SCREEN);
    assert!(s.contains("first") && !s.contains("fourth"), "{s}");
    t.keys(&["NPage"]);
    t.wait_for("lines 2–4 of 4", SCREEN);

    t.keys(&["m"]);
    let s = t.wait_for("Audit log (5)", SCREEN);
    assert!(
        s.contains("· reviewed") && s.contains("marked reviewed"),
        "{s}"
    );
    t.keys(&["m"]);
    let s = t.wait_for("Audit log (6)", SCREEN);
    assert!(s.contains("took the reviewed mark back"), "{s}");
    assert!(!s.contains("· reviewed"), "{s}");
    assert_boxes_whole(&s);

    // A correction says what the text was and what it is now.
    t.keys(&["e", "Home", "Delete"]);
    typed(&t, "您");
    t.keys(&["Enter"]);
    let s = t.wait_for("corrected the transcript", SCREEN);
    assert!(
        s.contains("「你好,广利物业,请问有什么可以帮您?」 → 「您好,广利物业,请问有什么可以帮您?」"),
        "{s}"
    );
    assert_boxes_whole(&s);
    quit(&t);
    let store = Store::open(&data).unwrap();
    let a = store.load(&ids[2]).unwrap();
    let marks: Vec<&AuditAction> = a
        .audit
        .iter()
        .map(|e| &e.action)
        .filter(|a| matches!(a, AuditAction::Reviewed | AuditAction::Unreviewed))
        .collect();
    assert_eq!(marks, [&AuditAction::Reviewed, &AuditAction::Unreviewed]);
    assert!(!store.summary(&ids[2]).unwrap().unwrap().reviewed);
}

#[test]
fn progress_names_every_category_in_full_and_q_goes_back_to_the_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    make(&data);
    for lang in ["en", "zh"] {
        let t = start(dir.path(), &data, lang);
        t.wait_for("li.na", SCREEN);
        t.keys(&["Enter"]);
        t.wait_for("100/100", SCREEN);
        t.keys(&["g"]);
        let s = t.wait_for(
            if lang == "en" {
                "Pass rate per category"
            } else {
                "各类别通过率"
            },
            SCREEN,
        );
        assert_boxes_whole(&s);
        // greeting and politeness passed once in three: 33%; opening order never failed.
        let (name, other) = if lang == "en" {
            ("politeness words", "opening in order")
        } else {
            ("礼貌用语", "开场顺序")
        };
        let row = s
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{s}"));
        assert!(row.contains(" 33% (1/3)"), "{row}");
        assert!(s.contains(other), "names are not cut: {s}");
        // Every category is reachable: the title says how many are below, ↓ scrolls.
        let mut seen = String::new();
        for _ in 0..12 {
            seen.push_str(&t.screen());
            t.keys(&["Down"]);
        }
        seen.push_str(&t.screen());
        for cat in if lang == "en" {
            ["picked up in time", "banned phrases", "fillers"]
        } else {
            ["三声内接听", "服务忌语", "口头禅"]
        } {
            assert!(seen.contains(cat), "{cat} never shown");
        }
        t.keys(&["q"]);
        let s = t.wait_for("100/100", SCREEN);
        assert!(s.contains("li.na · "), "back on the attempt: {s}");
        quit(&t);
    }
}

#[test]
fn filters_match_the_start_of_names_in_any_case_and_search_by_sound() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    make(&data);
    let t = start(dir.path(), &data, "en");
    let s = t.wait_for("Review queue · 4 attempts", SCREEN);
    // The legend says what the flags mean.
    assert!(
        s.contains("? needs review · ✓ reviewed · ✎ overruled"),
        "{s}"
    );
    assert!(s.contains("times in UTC+08:00"), "{s}");
    t.keys(&["t"]);
    typed(&t, "LI");
    t.keys(&["Enter"]);
    let s = t.wait_for("3 attempts", SCREEN);
    assert!(!s.contains("zhang"), "{s}");
    t.keys(&["x", "s"]);
    typed(&t, "Answer");
    t.keys(&["Enter"]);
    t.wait_for("4 attempts", SCREEN);
    t.keys(&["x", "/"]);
    // Said 光力物业: the same sounds as 广利物业.
    typed(&t, "光力");
    t.keys(&["Enter"]);
    let s = t.wait_for("Review queue · 4 attempts", SCREEN);
    assert!(s.contains("text≈光力"), "{s}");
    t.keys(&["x", "/"]);
    typed(&t, "喂");
    t.keys(&["Enter"]);
    let s = t.wait_for("Review queue · 1 attempt ", SCREEN);
    assert!(s.contains("喂,你好,光力"), "{s}");
    // One date syntax: an age is accepted as everywhere else.
    t.keys(&["x", "d"]);
    typed(&t, "7d");
    t.keys(&["Enter"]);
    let s = t.wait_for("since=7d", SCREEN);
    assert!(!s.contains("not a time"), "{s}");
    t.keys(&["d", "BSpace", "BSpace"]);
    typed(&t, "2026-11-22");
    t.keys(&["Enter"]);
    // From local midnight of the 22nd: li.na's 11-22 and 11-24 attempts.
    t.wait_for("Review queue · 2 attempts", SCREEN);
    quit(&t);
}

#[test]
fn the_queue_in_chinese_keeps_its_columns_and_boxes_with_chinese_names() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = Store::open(&data).unwrap();
    fixture::attempt(
        &store,
        "欧阳娜娜",
        "answer-call",
        "您好,广利物业,请问有什么可以帮您?您好,广利物业,请问有什么可以帮您?",
        "2026-11-24T14:00:00Z",
        &fixture::tone(),
    );
    fixture::call_attempt(
        &store,
        "王芳",
        "end-call",
        &["请问您还有其他咨询事项吗?", "不客气,感谢您的来电,再见!"],
        "2026-11-25T09:00:00Z",
    );
    drop(store);
    let t = start(dir.path(), &data, "zh");
    let s = t.wait_for("共 2 次练习", SCREEN);
    assert_boxes_whole(&s);
    assert!(s.contains("? 需要复核 · ✓ 已复核 · ✎ 已推翻判定"), "{s}");
    // A long transcript and a two-turn one are cut to their column, and say so.
    let rows: Vec<&str> = s
        .lines()
        .filter(|l| l.starts_with("│▸") || l.starts_with("│ 1"))
        .collect();
    assert_eq!(rows.len(), 2, "{s}");
    assert!(rows.iter().all(|r| r.ends_with("…│")), "{s}");
    quit(&t);
}
