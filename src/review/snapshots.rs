//! Every review screen rendered at a fixed 80×24 with ratatui's TestBackend and compared
//! with a stored snapshot.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::tests::{summary, view};
use super::*;

fn render(r: &Review) -> String {
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| views::render(r, f)).unwrap();
    format!("{}", t.backend())
}

fn queue() -> Review {
    let mut r = Review::new("wang", "/home/wang/.local/share/ringcoach");
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
    insta::assert_snapshot!(render(&Review::new("wang", "/tmp/empty-store")));
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
    r.update(Msg::Opened(Box::new(view())));
    r.update(Msg::Key(Key::Down));
    r.update(Msg::Playing { from_ms: 1200 });
    r.update(Msg::PlayAt(1900));
    insta::assert_snapshot!(render(&r));
}

#[test]
fn attempt_overruled_with_audit_log() {
    let mut r = queue();
    let mut v = view();
    v.checks[1].verdict = "pass".into();
    v.checks[1].overruled_by = Some("wang".into());
    v.reviewed = true;
    v.audit = vec![
        "2026-11-27 09:12 wang overruled org_name uncertain → pass: 说的是广利物业".into(),
        "2026-11-27 09:13 wang marked reviewed".into(),
    ];
    r.update(Msg::Opened(Box::new(v)));
    r.update(Msg::Done(
        "org_name: uncertain → pass, saved to the audit log".into(),
    ));
    insta::assert_snapshot!(render(&r));
}

#[test]
fn attempt_writing_an_overrule_note() {
    let mut r = queue();
    r.update(Msg::Opened(Box::new(view())));
    r.update(Msg::Key(Key::Char('o')));
    for c in "确实说了喂".chars() {
        r.update(Msg::Key(Key::Char(c)));
    }
    insta::assert_snapshot!(render(&r));
}

#[test]
fn attempt_correcting_the_transcript() {
    let mut r = queue();
    r.update(Msg::Opened(Box::new(view())));
    r.update(Msg::Key(Key::Char('e')));
    r.update(Msg::Key(Key::Home));
    insta::assert_snapshot!(render(&r));
}

#[test]
fn progress_chart() {
    let mut r = queue();
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
    insta::assert_snapshot!(render(&r));
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
