//! Every review screen rendered at a fixed 80×24 with ratatui's TestBackend and compared
//! with a stored snapshot: all of them in English, the main ones (queue, attempt, overrule
//! note, progress, help) also in Chinese, where every character takes two columns.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::tests::{summary, view};
use super::*;
use crate::config::Lang;
use crate::store::{AuditAction, AuditEntry};

fn render(r: &Review) -> String {
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| views::render(r, f)).unwrap();
    format!("{}", t.backend())
}

fn queue() -> Review {
    queue_in(Lang::En)
}

/// A review showing times in UTC, whatever the machine's zone.
fn new_review(trainer: &str, dir: &str, lang: Lang) -> Review {
    let mut r = Review::new(trainer, dir, lang);
    r.tz = jiff::tz::TimeZone::UTC;
    r
}

fn queue_in(lang: Lang) -> Review {
    let mut r = new_review("wang", "/home/wang/.local/share/ringcoach", lang);
    r.update(Msg::Listed(vec![
        summary(3, "li.na", None),
        summary(2, "zhang", Some(true)),
        summary(1, "li.na", Some(false)),
    ]));
    r
}

#[test]
fn queue_with_attempts() {
    insta::assert_snapshot!(render(&queue()));
}

#[test]
fn queue_filtered_while_searching() {
    let mut r = queue();
    r.update(Msg::Key(Key::Char('n')));
    r.update(Msg::Listed(vec![summary(2, "zhang", Some(true))]));
    r.update(Msg::Key(Key::Char('/')));
    for c in "物业".chars() {
        r.update(Msg::Key(Key::Char(c)));
    }
    insta::assert_snapshot!(render(&r));
}

#[test]
fn queue_empty_store_says_how_to_make_attempts() {
    insta::assert_snapshot!(render(&new_review("wang", "/tmp/empty-store", Lang::En)));
}

#[test]
fn queue_empty_after_filtering() {
    let mut r = queue();
    r.update(Msg::Key(Key::Char('v')));
    r.update(Msg::Listed(vec![]));
    insta::assert_snapshot!(render(&r));
}

#[test]
fn queue_help() {
    let mut r = queue();
    r.update(Msg::Key(Key::Char('?')));
    insta::assert_snapshot!(render(&r));
}

#[test]
fn attempt_selected_uncertain_check_playing() {
    let mut r = queue();
    // It opens on the uncertain check.
    r.update(Msg::Opened(Box::new(view())));
    r.update(Msg::Playing { from_ms: 1200 });
    r.update(Msg::PlayAt(1900));
    insta::assert_snapshot!(render(&r));
}

fn overruled(lang: Lang) -> Review {
    let mut r = queue_in(lang);
    let mut v = view();
    v.checks[1].verdict = "pass".into();
    v.checks[1].overruled_by = Some("wang".into());
    v.reviewed = true;
    let at = |t: &str| Timestamp::parse(t).unwrap();
    v.audit = vec![
        AuditEntry {
            time: at("2026-11-27T09:12:00Z"),
            trainer: "wang".into(),
            action: AuditAction::Overrule {
                check: "org_name".into(),
                original: "uncertain".into(),
                verdict: "pass".into(),
                graded: Some("uncertain".into()),
                report: Some(0),
            },
            note: "说的是广利物业".into(),
        },
        AuditEntry {
            time: at("2026-11-27T09:13:00Z"),
            trainer: "wang".into(),
            action: AuditAction::Reviewed,
            note: String::new(),
        },
    ];
    r.update(Msg::Opened(Box::new(v)));
    r.update(Msg::Done(Done::Overruled {
        check: "org_name".into(),
        original: "uncertain".into(),
        verdict: "pass".into(),
    }));
    r
}

#[test]
fn attempt_overruled_with_audit_log() {
    insta::assert_snapshot!(render(&overruled(Lang::En)));
}

#[test]
fn attempt_overruled_with_audit_log_zh() {
    insta::assert_snapshot!(render(&overruled(Lang::Zh)));
}

fn writing_a_note(lang: Lang) -> Review {
    let mut r = queue_in(lang);
    r.update(Msg::Opened(Box::new(view())));
    r.update(Msg::Key(Key::Char('o')));
    for c in "确实说了喂".chars() {
        r.update(Msg::Key(Key::Char(c)));
    }
    r
}

#[test]
fn attempt_writing_an_overrule_note() {
    insta::assert_snapshot!(render(&writing_a_note(Lang::En)));
}

#[test]
fn attempt_writing_an_overrule_note_zh() {
    insta::assert_snapshot!(render(&writing_a_note(Lang::Zh)));
}

#[test]
fn attempt_correcting_the_transcript() {
    let mut r = queue();
    r.update(Msg::Opened(Box::new(view())));
    r.update(Msg::Key(Key::Char('e')));
    r.update(Msg::Key(Key::Home));
    insta::assert_snapshot!(render(&r));
}

fn progress(lang: Lang) -> Review {
    let mut r = queue_in(lang);
    let p = ProgressView {
        trainee: "li.na".into(),
        scores: [35.0, 50.0, 45.0, 70.0, 85.0, 90.0]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                (
                    Timestamp::parse(&format!("2026-11-2{i}T09:00:00Z")).unwrap(),
                    *s,
                )
            })
            .collect(),
        attempts: 7,
        passed: 3,
        categories: vec![
            ("closing".into(), 0.25, 4),
            ("opening".into(), 0.5, 12),
            ("politeness".into(), 0.8, 10),
            ("rings".into(), 1.0, 6),
        ],
    };
    r.update(Msg::Progress(Box::new(p)));
    r
}

#[test]
fn progress_chart() {
    insta::assert_snapshot!(render(&progress(Lang::En)));
}

#[test]
fn progress_chart_zh() {
    insta::assert_snapshot!(render(&progress(Lang::Zh)));
}

#[test]
fn queue_with_attempts_zh() {
    insta::assert_snapshot!(render(&queue_in(Lang::Zh)));
}

#[test]
fn queue_filtered_while_searching_zh() {
    let mut r = queue_in(Lang::Zh);
    r.update(Msg::Key(Key::Char('n')));
    r.update(Msg::Key(Key::Char('o')));
    r.update(Msg::Listed(vec![summary(2, "王芳", Some(true))]));
    r.update(Msg::Key(Key::Char('/')));
    for c in "物业".chars() {
        r.update(Msg::Key(Key::Char(c)));
    }
    insta::assert_snapshot!(render(&r));
}

#[test]
fn queue_empty_store_zh() {
    insta::assert_snapshot!(render(&new_review("wang", "/tmp/empty-store", Lang::Zh)));
}

#[test]
fn queue_help_zh() {
    let mut r = queue_in(Lang::Zh);
    r.update(Msg::Key(Key::Char('?')));
    insta::assert_snapshot!(render(&r));
}

#[test]
fn attempt_selected_uncertain_check_playing_zh() {
    let mut r = queue_in(Lang::Zh);
    // It opens on the uncertain check.
    r.update(Msg::Opened(Box::new(view())));
    r.update(Msg::Playing { from_ms: 1200 });
    r.update(Msg::PlayAt(1900));
    insta::assert_snapshot!(render(&r));
}

#[test]
fn too_small_zh() {
    let mut t = Terminal::new(TestBackend::new(60, 20)).unwrap();
    t.draw(|f| views::render(&queue_in(Lang::Zh), f)).unwrap();
    insta::assert_snapshot!(format!("{}", t.backend()));
}

#[test]
fn too_small() {
    let mut t = Terminal::new(TestBackend::new(60, 20)).unwrap();
    t.draw(|f| views::render(&queue(), f)).unwrap();
    insta::assert_snapshot!(format!("{}", t.backend()));
}

#[test]
fn attempt_interrupted_has_no_grade_but_can_be_played() {
    let mut r = queue();
    let mut v = view();
    v.status = crate::store::AttemptStatus::Interrupted;
    v.score = None;
    v.passed = None;
    v.normalized = String::new();
    v.transcript = String::new();
    v.checks = vec![];
    r.update(Msg::Opened(Box::new(v)));
    r.update(Msg::Key(Key::Char('e')));
    insta::assert_snapshot!(render(&r));
}

#[test]
fn a_decision_too_long_for_its_row_is_cut_visibly_and_the_box_stays_whole() {
    for lang in [Lang::En, Lang::Zh] {
        let mut r = queue_in(lang);
        let mut v = view();
        // The critical 喂 with its time, overruled by a trainer with a long name.
        v.checks[0].verdict = "pass".into();
        v.checks[0].overruled_by = Some("wang.xiaoming.senior-trainer".into());
        r.update(Msg::Opened(Box::new(v)));
        let screen = render(&r);
        let row = screen
            .lines()
            .find(|l| l.contains("wang.x"))
            .unwrap_or_else(|| panic!("{screen}"));
        assert!(row.contains("…│"), "{lang:?}: {row}");
        assert!(!row.contains("▶0:00.3"), "the time gives way first: {row}");
    }
}

#[test]
fn a_category_never_passed_has_its_bar_labelled_zero_percent() {
    let mut r = progress(Lang::En);
    if let Screen::Progress(p) = &mut r.screen {
        p.categories.insert(0, ("speech_rate".into(), 0.0, 3));
    }
    let screen = render(&r);
    let row = screen
        .lines()
        .find(|l| l.contains("speech rate"))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(row.contains("  0% (0/3)"), "{row}");
}

#[test]
fn a_long_status_line_wraps_and_keeps_its_cause() {
    let mut r = queue();
    let msg = "cannot save the overrule: the store at /home/wang/.local/share/ringcoach is read-only (no write permission); ask for write access to the data directory, or review a copy of it";
    r.update(Msg::Failed(msg.into()));
    let screen = render(&r);
    // Before, the line was cut at the 80th column and the advice was lost.
    let joined: String = screen
        .lines()
        .map(|l| l.trim_matches('"').trim_end())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(joined.contains("no write permission"), "{screen}");
    assert!(joined.contains("review a copy of it"), "{screen}");
}
