//! The certificate's result recomputed from its calls: pass rules of the kind contact-centre
//! certifications use (five calls, at least 85 on a call, four of five passed, an overall
//! mark, critical items that fail everything), and the record explaining itself.

use ringcoach::cert::{evaluate, CallRecord, CheckRecord, Overrule, PassRules, ResultStatus};
use ringcoach::grading::Verdict;
use ringcoach::store::Timestamp;

fn rules() -> PassRules {
    PassRules {
        total_calls: 5,
        call_mark: 85,
        overall_mark: 85,
        calls_required: 4,
        critical: vec!["banned_phrase:*".into(), "closing:goodbye".into()],
    }
}

fn check(id: &str, v: Verdict) -> CheckRecord {
    CheckRecord {
        id: id.into(),
        category: id.split(':').next().unwrap().into(),
        critical: false,
        weight: 1.0,
        machine: v,
        final_verdict: v,
    }
}

fn call(index: u32, score: u32) -> CallRecord {
    CallRecord {
        index,
        scenario: "answer-call".into(),
        organisation: "广利物业".into(),
        rings: Some(1),
        pickup_ms: None,
        turns: Vec::new(),
        checks: vec![
            check("opening:greeting", Verdict::Pass),
            check("banned_phrase:wei", Verdict::Pass),
            check("closing:goodbye", Verdict::Pass),
        ],
        overrules: Vec::new(),
        score,
        passed: score >= 85,
        attempts: 1,
    }
}

fn calls(scores: &[u32]) -> Vec<CallRecord> {
    scores
        .iter()
        .enumerate()
        .map(|(i, s)| call(i as u32 + 1, *s))
        .collect()
}

#[test]
fn four_of_five_at_85_with_an_overall_mark() {
    let o = evaluate(&rules(), &calls(&[96, 90, 88, 80, 100]));
    assert!(o.passed, "{:?}", o.reasons);
    assert_eq!((o.score, o.calls_passed), (91, 4));
    assert_eq!(o.status(), ResultStatus::Passed);
    assert!(o.problems.is_empty());
    assert!(!o.calls[3].passed);

    let o = evaluate(&rules(), &calls(&[96, 84, 88, 80, 100]));
    assert!(!o.passed);
    assert_eq!(o.reasons, vec!["3 of 5 calls passed, 4 required"]);

    let o = evaluate(&rules(), &calls(&[85, 85, 85, 85, 40]));
    assert!(!o.passed);
    assert_eq!(o.calls_passed, 4);
    assert_eq!(o.reasons, vec!["overall score 76 is below the mark of 85"]);
}

#[test]
fn the_overall_score_is_the_mean_rounded_half_up() {
    assert_eq!(evaluate(&rules(), &calls(&[85, 86, 85, 86, 85])).score, 85); // 85.4
    assert_eq!(evaluate(&rules(), &calls(&[85, 86, 86, 86, 86])).score, 86); // 85.8
    let two = PassRules {
        total_calls: 2,
        calls_required: 2,
        ..rules()
    };
    assert_eq!(evaluate(&two, &calls(&[85, 86])).score, 86); // 85.5
    assert_eq!(evaluate(&two, &calls(&[84, 85])).score, 85); // 84.5
}

#[test]
fn a_failed_critical_check_fails_the_call_and_the_certificate() {
    // By the suite's pattern (any banned phrase) …
    let mut cs = calls(&[100, 100, 100, 100, 100]);
    cs[2].checks[1] = check("banned_phrase:wei", Verdict::Fail);
    cs[2].passed = false;
    let o = evaluate(&rules(), &cs);
    assert!(!o.passed);
    assert_eq!(o.calls_passed, 4);
    assert_eq!(o.calls[2].critical_failures, vec!["banned_phrase:wei"]);
    assert_eq!(
        o.reasons,
        vec!["call 3: critical check(s) failed: banned_phrase:wei"]
    );
    // … by exact id …
    let mut cs = calls(&[100, 100, 100, 100, 100]);
    cs[0].checks[2] = check("closing:goodbye", Verdict::Fail);
    assert!(!evaluate(&rules(), &cs).passed);
    // … or because the rubric marked the check critical.
    let mut cs = calls(&[100, 100, 100, 100, 100]);
    cs[4].checks[0] = CheckRecord {
        critical: true,
        ..check("opening:greeting", Verdict::Fail)
    };
    let o = evaluate(&rules(), &cs);
    assert!(!o.passed);
    assert_eq!(o.calls[4].critical_failures, vec!["opening:greeting"]);
    // A non-critical failure is just points.
    let mut cs = calls(&[100, 100, 100, 100, 100]);
    cs[0].checks[0] = check("opening:greeting", Verdict::Fail);
    assert!(evaluate(&rules(), &cs).passed);
}

#[test]
fn an_incomplete_sitting_fails_with_the_missing_calls_at_zero() {
    let o = evaluate(&rules(), &calls(&[100, 100, 100]));
    assert!(!o.passed);
    assert_eq!(o.calls.len(), 5);
    assert!(!o.calls[3].taken && !o.calls[4].taken);
    assert_eq!(o.score, 60);
    assert_eq!(
        o.reasons[0],
        "call(s) 4, 5 not taken: the sitting ended early"
    );
    assert!(
        o.problems.is_empty(),
        "ending early is a result, not a defect"
    );
}

#[test]
fn final_verdicts_must_be_the_machine_verdicts_plus_the_overrules() {
    let overrule = |item: &str, from, to| Overrule {
        item: item.into(),
        from,
        to,
        trainer: "王老师".into(),
        time: Timestamp::from_unix_ms(0),
        note: "听录音".into(),
    };
    // Settled properly: uncertain → pass by a trainer.
    let mut cs = calls(&[100, 100, 100, 100, 100]);
    cs[1].checks[0].machine = Verdict::Uncertain;
    cs[1].overrules = vec![overrule(
        "opening:greeting",
        Verdict::Uncertain,
        Verdict::Pass,
    )];
    assert!(evaluate(&rules(), &cs).problems.is_empty());

    // A trainer who changes their mind: the latest overrule of a check decides, and each
    // is of the machine verdict (the grader's rule for decisions).
    cs[1].overrules = vec![
        overrule("opening:greeting", Verdict::Uncertain, Verdict::Fail),
        overrule("opening:greeting", Verdict::Uncertain, Verdict::Pass),
    ];
    assert!(evaluate(&rules(), &cs).problems.is_empty());

    // An overrule whose `from` is not the machine verdict.
    cs[1].overrules = vec![overrule("opening:greeting", Verdict::Fail, Verdict::Pass)];
    let p = evaluate(&rules(), &cs).problems;
    assert_eq!(
        p,
        vec!["call 2: 王老师's overrule of opening:greeting is from fail, but the machine verdict is uncertain"]
    );

    // A final verdict no overrule explains.
    cs[1].overrules.clear();
    let p = evaluate(&rules(), &cs).problems;
    assert_eq!(
        p,
        vec!["call 2: check opening:greeting is final pass, but the machine verdict uncertain and the overrules give uncertain"]
    );

    // Left uncertain: cannot be certified.
    cs[1].checks[0].final_verdict = Verdict::Uncertain;
    let p = evaluate(&rules(), &cs).problems;
    assert_eq!(
        p,
        vec!["call 2: check opening:greeting is still uncertain; a trainer must settle it"]
    );

    // An overrule of a check the call does not have.
    let mut cs = calls(&[100, 100, 100, 100, 100]);
    cs[0].overrules = vec![overrule("opening:nonsense", Verdict::Pass, Verdict::Fail)];
    assert_eq!(evaluate(&rules(), &cs).problems.len(), 1);
}

#[test]
fn a_record_that_is_not_one_sitting_of_the_suite_is_a_problem() {
    let mut cs = calls(&[100, 100, 100, 100, 100]);
    cs[3].attempts = 2;
    cs.swap(0, 1);
    cs.push(call(6, 100));
    let p = evaluate(&rules(), &cs).problems;
    assert!(
        p.iter().any(|m| m == "6 calls recorded for a suite of 5"),
        "{p:?}"
    );
    assert!(p.iter().any(|m| m.contains("records 2 attempts")), "{p:?}");
    assert!(
        p.iter().any(|m| m == "call 2 is recorded in position 1"),
        "{p:?}"
    );

    let impossible = PassRules {
        calls_required: 6,
        call_mark: 101,
        ..rules()
    };
    assert_eq!(impossible.problems().len(), 2);
}

#[test]
fn disagreements_name_what_the_certificate_states_wrongly() {
    let cs = calls(&[96, 90, 88, 80, 100]);
    let o = evaluate(&rules(), &cs);
    assert!(o.disagreements(&o.stated(), &cs).is_empty());
    let mut stated = o.stated();
    stated.score = 95;
    stated.status = ResultStatus::Failed;
    let mut wrong = cs.clone();
    wrong[3].passed = true;
    let d = o.disagreements(&stated, &wrong);
    assert_eq!(
        d,
        vec![
            "the certificate states an overall score of 95, the calls give 91",
            "the certificate states Failed, the rules give Passed",
            "call 4 is stated passed, the rules give failed",
        ]
    );
}
