//! Pure parts of the reports: overrules, category statistics, CSV quoting, date ranges.

use super::*;
use crate::grading::{Check, Message, Verdict};
use crate::store::{AuditAction, AuditEntry};

fn check(id: &str, category: &str, verdict: Verdict) -> Check {
    Check {
        id: id.into(),
        category: category.into(),
        verdict,
        weight: 1.0,
        critical: false,
        evidence: vec![],
        message: Message {
            zh: String::new(),
            en: String::new(),
        },
        name: None,
    }
}

fn report(checks: Vec<Check>) -> Report {
    Report {
        scenario: "answer-call".into(),
        org: "广利物业".into(),
        org_source: crate::grading::OrgSource::Given,
        transcript: String::new(),
        normalized: String::new(),
        score: 50,
        passed: false,
        pass_mark: Some(70.0),
        uncertain_credit: Some(0.5),
        rubric_sha256: String::new(),
        rings: Some(1),
        pickup_ms: None,
        checks,
        turns: vec![],
        readings: vec![],
    }
}

fn overrule(ms: i64, trainer: &str, check: &str, verdict: &str, note: &str) -> AuditEntry {
    AuditEntry {
        time: Timestamp::from_unix_ms(ms),
        trainer: trainer.into(),
        action: AuditAction::Overrule {
            check: check.into(),
            original: "fail".into(),
            verdict: verdict.into(),
            graded: Some("fail".into()),
            report: Some(0),
        },
        note: note.into(),
    }
}

#[test]
fn the_latest_overrule_of_a_check_counts_and_the_grader_verdict_is_kept() {
    let r = report(vec![
        check("greeting", "opening", Verdict::Fail),
        check("org_name", "opening", Verdict::Uncertain),
    ]);
    let audit = vec![
        overrule(1, "li", "greeting", "uncertain", "first look"),
        overrule(2, "wang", "greeting", "pass", "heard 您好 clearly"),
    ];
    let rows = effective_checks(&r, &audit);
    assert_eq!(rows[0].verdict, "pass");
    assert_eq!(rows[0].graded, "fail");
    assert_eq!(rows[0].overruled_by.as_deref(), Some("wang"));
    assert_eq!(rows[0].overrule_note.as_deref(), Some("heard 您好 clearly"));
    assert_eq!(rows[1].verdict, "uncertain");
    assert_eq!(rows[1].overruled_by, None);
}

fn row(checks: Vec<(&str, &str)>) -> AttemptRow {
    AttemptRow {
        id: "x".into(),
        started: Timestamp::from_unix_ms(0),
        scenario: "answer-call".into(),
        status: AttemptStatus::Finished,
        duration_ms: 0,
        score: Some(50.0),
        passed: Some(false),
        needs_review: false,
        reviewed: false,
        reviewed_by: None,
        reviewed_at: None,
        corrected: false,
        regraded: false,
        overrules: 0,
        org: String::new(),
        rings: None,
        pickup_ms: None,
        first_words_ms: None,
        speech_rate_cpm: None,
        transcript: String::new(),
        turns: vec![],
        checks: checks
            .into_iter()
            .map(|(cat, v)| CheckRow {
                id: cat.into(),
                category: cat.into(),
                verdict: v.into(),
                graded: v.into(),
                critical: false,
                weight: 1.0,
                name: Message {
                    zh: cat.into(),
                    en: cat.into(),
                },
                message: Message {
                    zh: String::new(),
                    en: String::new(),
                },
                overruled_by: None,
                overrule_note: None,
                no_longer_matches: None,
            })
            .collect(),
    }
}

#[test]
fn categories_count_verdicts_leave_out_not_applicable_and_sort_weakest_first() {
    let attempts = vec![
        row(vec![
            ("opening", "pass"),
            ("closing", "fail"),
            ("manner", "not_applicable"),
        ]),
        row(vec![
            ("opening", "pass"),
            ("closing", "uncertain"),
            ("manner", "pass"),
        ]),
        row(vec![("opening", "fail"), ("closing", "pass")]),
    ];
    let stats = category_stats(&attempts);
    let names: Vec<&str> = stats.iter().map(|c| c.category.as_str()).collect();
    assert_eq!(names, ["closing", "manner", "opening"]);
    assert_eq!(
        (stats[0].pass, stats[0].fail, stats[0].uncertain),
        (1, 1, 1)
    );
    assert_eq!(stats[1].total(), 1);
    let r = TraineeReport {
        format: JSON_FORMAT,
        trainee: "t".into(),
        from: None,
        to: None,
        generated_at: None,
        attempts,
        categories: stats,
        model_answers: Default::default(),
        scenario_titles: Default::default(),
        skipped: Vec::new(),
    };
    let weakest: Vec<&str> = r.weakest().iter().map(|c| c.category.as_str()).collect();
    assert_eq!(weakest, ["closing", "opening", "manner"]);
    assert_eq!(r.mean_score(), Some(50.0));
}

#[test]
fn csv_fields_are_quoted_only_when_needed() {
    assert_eq!(field("您好广利物业"), "您好广利物业");
    assert_eq!(field("您好,广利物业"), "\"您好,广利物业\"");
    assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(field("two\nlines"), "\"two\nlines\"");
}

#[test]
fn a_bare_to_date_includes_that_whole_day() {
    let utc = jiff::tz::TimeZone::UTC;
    let now = Timestamp::now();
    let to = when::parse_until("2026-11-30", now, &utc).unwrap();
    assert_eq!(to, Timestamp::parse("2026-12-01").unwrap());
    let exact = when::parse_until("2026-11-30T12:00:00Z", now, &utc).unwrap();
    assert_eq!(exact, Timestamp::parse("2026-11-30T12:00:00Z").unwrap());
    assert!(when::parse_until("yesterday", now, &utc).is_err());
}

#[test]
fn a_decision_that_is_the_graders_verdict_reads_as_confirmed_not_overruled() {
    // After a re-grade the trainer drops an overrule that no longer matches: the decision
    // logged takes the re-graded verdict, so "was pass, overruled" would be false.
    let mut a = row(vec![("greeting", "pass"), ("org_name", "fail")]);
    a.checks[0].overruled_by = Some("wang".into());
    a.checks[0].overrule_note = Some("dropped".into());
    a.checks[1].graded = "pass".into();
    a.checks[1].overruled_by = Some("wang".into());
    a.checks[1].overrule_note = Some("wrong name".into());
    let en = crate::config::Lang::En;
    let html = super::html::checks_table(&a, strings::strings(en), en);
    assert!(html.contains("(confirmed by wang: dropped)"), "{html}");
    assert!(
        html.contains("(was pass, overruled by wang: wrong name)"),
        "{html}"
    );
    assert!(
        !html.contains("was pass, overruled by wang: dropped"),
        "{html}"
    );
}
