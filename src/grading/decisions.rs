//! The effective result of a graded call: the machine's [`Report`] with the trainers'
//! decisions applied. [`settle`] is the one place that says what an attempt's score, pass,
//! critical failures and need for review are once a trainer has overruled a check or
//! corrected the transcript (which re-grades it): review, `store list` (the index), reports,
//! exports and certification all ask it, so they cannot disagree.
//!
//! The rules:
//! - a check's verdict is the machine's unless a trainer overruled it; the latest overrule
//!   of a check is the one that counts;
//! - an overrule is bound to the version of the machine report it was made on (0 as graded,
//!   n after the n-th re-grade). After a re-grade it still counts if the check still has the
//!   machine verdict it overruled. If the re-grade came to the trainer's verdict by itself,
//!   there is nothing left to decide ([`Decision::Confirmed`]). Otherwise it no longer
//!   matches ([`Decision::NoLongerMatches`]): the re-graded verdict counts and a trainer is
//!   asked to keep the overrule (overrule again) or drop it;
//! - the score is the grader's sum ([`super::score`]) over the settled verdicts, with the
//!   weights, critical flags, pass mark and uncertain credit the report carries; passed is
//!   "no critical check failed and the score reaches the pass mark";
//! - an attempt needs review while any check is uncertain or any overrule no longer matches.
//!
//! Pure: no store, no clock. Reports saved before they carried their pass mark and uncertain
//! credit keep their graded score and pass while no decision changes a verdict; once one
//! does, they are re-scored with the phrase book's defaults of that time ([`LEGACY_PASS_MARK`],
//! [`LEGACY_UNCERTAIN_CREDIT`]).

use super::report::{Report, Verdict};
use super::score;

/// The pass mark of reports saved before reports carried theirs.
pub const LEGACY_PASS_MARK: f64 = 70.0;
/// The uncertain credit of reports saved before reports carried theirs.
pub const LEGACY_UNCERTAIN_CREDIT: f64 = 0.5;

/// A trainer's overrule of one check, as the grader needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Overrule {
    /// The check id.
    pub check: String,
    /// What the trainer decided.
    pub verdict: Verdict,
    /// The machine verdict it overruled: the check's verdict in the report it was made on.
    pub graded: Verdict,
    /// The version of the machine report it was made on: 0 as graded, n after the n-th
    /// re-grade.
    pub report: u32,
}

/// What decides a check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No trainer has decided it: the machine's verdict counts.
    Machine,
    /// This overrule (an index into the overrules given to [`settle`]) counts.
    Overruled(usize),
    /// This overrule was made on an earlier report, and the re-grade came to the same
    /// verdict by itself: the verdict is the machine's and the trainer's alike.
    Confirmed(usize),
    /// This overrule was made on an earlier report, and the re-grade changed the verdict it
    /// overruled: it does not count until a trainer keeps it; the re-graded verdict counts.
    NoLongerMatches(usize),
}

impl Decision {
    /// The overrule behind this decision, if any.
    pub fn overrule(self) -> Option<usize> {
        match self {
            Decision::Machine => None,
            Decision::Overruled(i) | Decision::Confirmed(i) | Decision::NoLongerMatches(i) => {
                Some(i)
            }
        }
    }
}

/// One check, settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettledCheck {
    /// What the grader said (in the current machine report).
    pub machine: Verdict,
    /// The verdict that counts.
    pub verdict: Verdict,
    pub decision: Decision,
}

/// The effective result of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    /// 0–100 over the settled verdicts.
    pub score: u32,
    pub passed: bool,
    /// Critical checks whose settled verdict is fail, by id, in report order.
    pub critical_failures: Vec<String>,
    /// Some check is uncertain, or some overrule no longer matches: a trainer should look.
    pub needs_review: bool,
    /// One per check of the report, in its order.
    pub checks: Vec<SettledCheck>,
    /// Overrules (indices) naming a check the report does not have.
    pub unknown: Vec<usize>,
}

impl Settled {
    /// Checks (indices into the report's checks) whose overrule no longer matches.
    pub fn no_longer_matching(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.checks
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match c.decision {
                Decision::NoLongerMatches(o) => Some((i, o)),
                _ => None,
            })
    }
}

/// Applies `overrules` (in the order they were made) to `report`, which is version
/// `version` of the attempt's machine report, and scores the result.
pub fn settle(report: &Report, version: u32, overrules: &[Overrule]) -> Settled {
    let mut unknown = Vec::new();
    let mut latest: Vec<Option<usize>> = vec![None; report.checks.len()];
    for (i, o) in overrules.iter().enumerate() {
        match report.checks.iter().position(|c| c.id == o.check) {
            Some(k) => latest[k] = Some(i),
            None => unknown.push(i),
        }
    }
    let checks: Vec<SettledCheck> = report
        .checks
        .iter()
        .zip(&latest)
        .map(|(c, latest)| {
            let machine = c.verdict;
            let Some(i) = *latest else {
                return SettledCheck {
                    machine,
                    verdict: machine,
                    decision: Decision::Machine,
                };
            };
            let o = &overrules[i];
            let (verdict, decision) = if o.report == version || o.graded == machine {
                (o.verdict, Decision::Overruled(i))
            } else if o.verdict == machine {
                (machine, Decision::Confirmed(i))
            } else {
                (machine, Decision::NoLongerMatches(i))
            };
            SettledCheck {
                machine,
                verdict,
                decision,
            }
        })
        .collect();
    let changed = checks.iter().any(|c| c.verdict != c.machine);
    let critical_failures: Vec<String> = report
        .checks
        .iter()
        .zip(&checks)
        .filter(|(c, s)| c.critical && s.verdict == Verdict::Fail)
        .map(|(c, _)| c.id.clone())
        .collect();
    let (score, passed) = match (report.pass_mark, report.uncertain_credit) {
        // A report from before the rules travelled with it, and nothing changed: as graded.
        (None, _) | (_, None) if !changed => (report.score, report.passed),
        (mark, credit) => {
            let credit = credit.unwrap_or(LEGACY_UNCERTAIN_CREDIT);
            let score = score::score_of(
                report
                    .checks
                    .iter()
                    .zip(&checks)
                    .map(|(c, s)| (c.weight, s.verdict)),
                credit,
            );
            let mark = mark.unwrap_or(LEGACY_PASS_MARK);
            (
                score,
                score::passes(!critical_failures.is_empty(), score, mark),
            )
        }
    };
    let needs_review = checks.iter().any(|c| {
        c.verdict == Verdict::Uncertain || matches!(c.decision, Decision::NoLongerMatches(_))
    });
    Settled {
        score,
        passed,
        critical_failures,
        needs_review,
        checks,
        unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::{Call, Heard, Org, Pickup};
    use crate::scenario::Catalog;

    fn graded(text: &str) -> Report {
        let c = Catalog::builtin().unwrap();
        let call = Call {
            turns: vec![Heard::text(text)],
            pickup: Pickup::Rings(1),
            org: Org::given("广利物业"),
        };
        call.grade(c.get("answer-call").unwrap(), &c.phrasebook)
    }

    fn overrule(check: &str, graded: Verdict, verdict: Verdict, report: u32) -> Overrule {
        Overrule {
            check: check.into(),
            verdict,
            graded,
            report,
        }
    }

    fn verdict(r: &Report, s: &Settled, id: &str) -> (Verdict, Decision) {
        let k = r.checks.iter().position(|c| c.id == id).unwrap();
        (s.checks[k].verdict, s.checks[k].decision)
    }

    #[test]
    fn without_decisions_the_result_is_the_graders() {
        for text in [
            "您好,广利物业,请问有什么可以帮您?",
            "喂,你好,光力物业,有什么事?",
            "",
        ] {
            let r = graded(text);
            let s = settle(&r, 0, &[]);
            assert_eq!((s.score, s.passed), (r.score, r.passed), "{text}");
            assert_eq!(
                s.needs_review,
                r.checks.iter().any(|c| c.verdict == Verdict::Uncertain)
            );
            assert!(s.checks.iter().all(|c| c.decision == Decision::Machine));
        }
    }

    #[test]
    fn overruling_a_critical_check_to_fail_fails_the_attempt() {
        // Said 您好 and the organisation: passes as graded.
        let r = graded("您好,广利物业,请问有什么可以帮您?");
        assert!(r.passed);
        let critical = r.checks.iter().find(|c| c.critical).unwrap();
        assert_eq!(critical.verdict, Verdict::Pass);
        let s = settle(
            &r,
            0,
            &[overrule(&critical.id, Verdict::Pass, Verdict::Fail, 0)],
        );
        assert!(!s.passed, "a failed critical check fails the attempt");
        assert_eq!(s.critical_failures, vec![critical.id.clone()]);
        // Banned phrases weigh nothing in the score: they fail the attempt outright.
        assert_eq!(s.score, r.score);
    }

    #[test]
    fn overruling_an_uncertain_check_to_pass_raises_the_score_and_clears_review() {
        let r = graded("您好,光力物业,请问有什么可以帮您?");
        let (v, _) = verdict(&r, &settle(&r, 0, &[]), "organisation");
        assert_eq!(v, Verdict::Uncertain);
        let before = settle(&r, 0, &[]);
        assert!(before.needs_review);
        let s = settle(
            &r,
            0,
            &[overrule(
                "organisation",
                Verdict::Uncertain,
                Verdict::Pass,
                0,
            )],
        );
        assert!(s.score > before.score, "{} !> {}", s.score, before.score);
        assert!(!s.needs_review, "no uncertain check remains");
        assert_eq!(
            verdict(&r, &s, "organisation"),
            (Verdict::Pass, Decision::Overruled(0))
        );
    }

    #[test]
    fn the_latest_overrule_of_a_check_counts() {
        let r = graded("您好,光力物业,请问有什么可以帮您?");
        let s = settle(
            &r,
            0,
            &[
                overrule("organisation", Verdict::Uncertain, Verdict::Pass, 0),
                overrule("organisation", Verdict::Uncertain, Verdict::Fail, 0),
            ],
        );
        assert_eq!(
            verdict(&r, &s, "organisation"),
            (Verdict::Fail, Decision::Overruled(1))
        );
    }

    #[test]
    fn after_a_regrade_an_overrule_counts_only_while_its_check_keeps_the_verdict_it_overruled() {
        // Version 0: 光力物业 heard, organisation uncertain; greeting passes.
        // The trainer overrules organisation to fail and greeting to fail.
        let overrules = [
            overrule("organisation", Verdict::Uncertain, Verdict::Fail, 0),
            overrule("greeting", Verdict::Pass, Verdict::Fail, 0),
        ];
        // Version 1, after a correction to 广利物业: organisation passes now, greeting still
        // passes as before.
        let r1 = graded("您好,广利物业,请问有什么可以帮您?");
        let s = settle(&r1, 1, &overrules);
        assert_eq!(
            verdict(&r1, &s, "organisation"),
            (Verdict::Pass, Decision::NoLongerMatches(0)),
            "the re-graded pass counts until the trainer keeps the old fail"
        );
        assert_eq!(
            verdict(&r1, &s, "greeting"),
            (Verdict::Fail, Decision::Overruled(1)),
            "greeting still has the verdict it overruled"
        );
        assert!(s.needs_review, "a trainer is asked about organisation");
        assert_eq!(s.no_longer_matching().count(), 1);

        // Kept: overruled again on version 1.
        let mut kept = overrules.to_vec();
        kept.push(overrule("organisation", Verdict::Pass, Verdict::Fail, 1));
        let s = settle(&r1, 1, &kept);
        assert_eq!(
            verdict(&r1, &s, "organisation"),
            (Verdict::Fail, Decision::Overruled(2))
        );
        // Dropped: the trainer takes the re-graded verdict (an overrule to what it is).
        let mut dropped = overrules.to_vec();
        dropped.push(overrule("organisation", Verdict::Pass, Verdict::Pass, 1));
        let s = settle(&r1, 1, &dropped);
        assert_eq!(
            verdict(&r1, &s, "organisation"),
            (Verdict::Pass, Decision::Overruled(2))
        );
        assert_eq!(s.no_longer_matching().count(), 0);
    }

    #[test]
    fn a_regrade_that_agrees_with_the_trainer_leaves_nothing_to_decide() {
        let r1 = graded("您好,广利物业,请问有什么可以帮您?");
        let s = settle(
            &r1,
            1,
            &[overrule(
                "organisation",
                Verdict::Uncertain,
                Verdict::Pass,
                0,
            )],
        );
        assert_eq!(
            verdict(&r1, &s, "organisation"),
            (Verdict::Pass, Decision::Confirmed(0))
        );
        assert!(!s.needs_review);
        assert_eq!((s.score, s.passed), (r1.score, r1.passed));
    }

    #[test]
    fn an_overrule_of_a_check_the_report_lacks_is_set_aside() {
        let r = graded("您好,广利物业,请问有什么可以帮您?");
        let s = settle(
            &r,
            0,
            &[overrule("no_such_check", Verdict::Pass, Verdict::Fail, 0)],
        );
        assert_eq!(s.unknown, vec![0]);
        assert_eq!((s.score, s.passed), (r.score, r.passed));
    }

    #[test]
    fn a_report_from_before_the_rules_travelled_is_rescored_with_the_old_defaults() {
        let mut r = graded("您好,光力物业,请问有什么可以帮您?");
        assert_eq!(r.pass_mark, Some(LEGACY_PASS_MARK));
        assert_eq!(r.uncertain_credit, Some(LEGACY_UNCERTAIN_CREDIT));
        let with_rules = settle(
            &r,
            0,
            &[overrule(
                "organisation",
                Verdict::Uncertain,
                Verdict::Pass,
                0,
            )],
        );
        r.pass_mark = None;
        r.uncertain_credit = None;
        let json = serde_json::to_value(&r).unwrap();
        assert!(json.get("pass_mark").is_none());
        let old: Report = serde_json::from_value(json).unwrap();
        let s = settle(&old, 0, &[]);
        assert_eq!((s.score, s.passed), (r.score, r.passed));
        let s = settle(
            &old,
            0,
            &[overrule(
                "organisation",
                Verdict::Uncertain,
                Verdict::Pass,
                0,
            )],
        );
        assert_eq!((s.score, s.passed), (with_rules.score, with_rules.passed));
    }

    #[test]
    fn the_pass_mark_and_credit_come_from_the_report_not_the_catalog() {
        let mut r = graded("您好,光力物业,请问有什么可以帮您?");
        let base = settle(&r, 0, &[]);
        r.pass_mark = Some(100.0);
        r.uncertain_credit = Some(0.0);
        let s = settle(
            &r,
            0,
            &[overrule("greeting", Verdict::Pass, Verdict::Pass, 0)],
        );
        assert!(s.score < base.score && !s.passed, "{s:?}");
    }
}
