//! The certificate's result, recomputed from what the certificate holds: pure, no I/O.
//!
//! Per call the score is the grader's (from the final verdicts, as graded); this module applies
//! the suite's pass rules to those scores and to the final verdicts of critical checks, and
//! checks that the record explains itself: each final verdict is the machine verdict, or the
//! latest recorded overrule of that check (the grader's rule, `grading::settle`), nothing is
//! left uncertain, every call was taken once.
//! The issuer runs it before signing; a verifier runs it to refuse a certificate whose stated
//! result disagrees.

use serde::Serialize;

use super::credential::{CallRecord, PassRules, ResultStatus, StatedResult};
use crate::grading::Verdict;

/// One call, recomputed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallOutcome {
    pub index: u32,
    /// False for a call of the suite the sitting never reached.
    pub taken: bool,
    pub score: u32,
    pub passed: bool,
    /// Critical checks whose final verdict is fail.
    pub critical_failures: Vec<String>,
}

/// The recomputed result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Every call of the suite, taken or not.
    pub calls: Vec<CallOutcome>,
    /// Mean of the call scores, rounded half up.
    pub score: u32,
    pub calls_passed: u32,
    pub passed: bool,
    /// Why the certificate failed, for people (empty when it passed).
    pub reasons: Vec<String>,
    /// What makes the record unfit to certify (uncertain verdicts, unexplained final
    /// verdicts, repeated attempts, a broken call order). Empty for a sound record.
    pub problems: Vec<String>,
}

impl Outcome {
    pub fn status(&self) -> ResultStatus {
        if self.passed {
            ResultStatus::Passed
        } else {
            ResultStatus::Failed
        }
    }

    /// The result as a certificate states it.
    pub fn stated(&self) -> StatedResult {
        StatedResult {
            score: self.score,
            calls_passed: self.calls_passed,
            status: self.status(),
        }
    }

    /// Where a stated result (overall and per call) disagrees with this recomputation.
    pub fn disagreements(&self, stated: &StatedResult, calls: &[CallRecord]) -> Vec<String> {
        let mut out = Vec::new();
        if stated.score != self.score {
            out.push(format!(
                "the certificate states an overall score of {}, the calls give {}",
                stated.score, self.score
            ));
        }
        if stated.calls_passed != self.calls_passed {
            out.push(format!(
                "the certificate states {} calls passed, the calls give {}",
                stated.calls_passed, self.calls_passed
            ));
        }
        if stated.status != self.status() {
            out.push(format!(
                "the certificate states {:?}, the rules give {:?}",
                stated.status,
                self.status()
            ));
        }
        for (call, got) in calls.iter().zip(&self.calls) {
            if call.passed != got.passed {
                out.push(format!(
                    "call {} is stated {}, the rules give {}",
                    call.index,
                    if call.passed { "passed" } else { "failed" },
                    if got.passed { "passed" } else { "failed" }
                ));
            }
        }
        out
    }
}

fn verdict_name(v: Verdict) -> String {
    v.to_string()
}

/// Applies `rules` to `calls` (the certificate's calls, in order).
pub fn evaluate(rules: &PassRules, calls: &[CallRecord]) -> Outcome {
    let mut problems = rules.problems();
    if calls.len() > rules.total_calls as usize {
        problems.push(format!(
            "{} calls recorded for a suite of {}",
            calls.len(),
            rules.total_calls
        ));
    }
    let mut outcomes = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let n = call.index;
        if n as usize != i + 1 {
            problems.push(format!("call {} is recorded in position {}", n, i + 1));
        }
        if call.attempts != 1 {
            problems.push(format!(
                "call {n} records {} attempts; a certification call is taken once",
                call.attempts
            ));
        }
        if call.score > 100 {
            problems.push(format!(
                "call {n} has a score of {} (above 100)",
                call.score
            ));
        }
        problems.extend(check_verdicts(call));
        let critical_failures: Vec<String> = call
            .checks
            .iter()
            .filter(|c| c.final_verdict == Verdict::Fail && rules.is_critical(c))
            .map(|c| c.id.clone())
            .collect();
        outcomes.push(CallOutcome {
            index: n,
            taken: true,
            score: call.score.min(100),
            passed: call.score >= rules.call_mark && critical_failures.is_empty(),
            critical_failures,
        });
    }
    for n in calls.len() as u32 + 1..=rules.total_calls {
        outcomes.push(CallOutcome {
            index: n,
            taken: false,
            score: 0,
            passed: false,
            critical_failures: Vec::new(),
        });
    }

    let total = u64::from(rules.total_calls.max(1));
    let sum: u64 = outcomes.iter().map(|c| u64::from(c.score)).sum();
    let score = ((2 * sum + total) / (2 * total)) as u32;
    let calls_passed = outcomes.iter().filter(|c| c.passed).count() as u32;

    let mut reasons = Vec::new();
    let not_taken: Vec<String> = outcomes
        .iter()
        .filter(|c| !c.taken)
        .map(|c| c.index.to_string())
        .collect();
    if !not_taken.is_empty() {
        reasons.push(format!(
            "call(s) {} not taken: the sitting ended early",
            not_taken.join(", ")
        ));
    }
    for c in outcomes.iter().filter(|c| !c.critical_failures.is_empty()) {
        reasons.push(format!(
            "call {}: critical check(s) failed: {}",
            c.index,
            c.critical_failures.join(", ")
        ));
    }
    if calls_passed < rules.calls_required {
        reasons.push(format!(
            "{calls_passed} of {} calls passed, {} required",
            rules.total_calls, rules.calls_required
        ));
    }
    if score < rules.overall_mark {
        reasons.push(format!(
            "overall score {score} is below the mark of {}",
            rules.overall_mark
        ));
    }
    Outcome {
        calls: outcomes,
        score,
        calls_passed,
        passed: reasons.is_empty(),
        reasons,
        problems,
    }
}

/// Each final verdict must be what the grader's rule for trainers' decisions gives
/// (`grading::settle`): the latest overrule of a check decides it, every overrule is of the
/// check's machine verdict, and nothing may be left uncertain.
fn check_verdicts(call: &CallRecord) -> Vec<String> {
    let n = call.index;
    let mut out = Vec::new();
    let mut current: Vec<(&str, Verdict, Verdict)> = Vec::new();
    for c in &call.checks {
        if current.iter().any(|(id, _, _)| *id == c.id) {
            out.push(format!("call {n}: check {} is recorded twice", c.id));
        } else {
            current.push((&c.id, c.machine, c.machine));
        }
    }
    for o in &call.overrules {
        match current.iter_mut().find(|(id, _, _)| *id == o.item) {
            None => out.push(format!(
                "call {n}: an overrule by {} names {}, which is not a check of the call",
                o.trainer, o.item
            )),
            Some((_, machine, settled)) => {
                if *machine != o.from {
                    out.push(format!(
                        "call {n}: {}'s overrule of {} is from {}, but the machine verdict is {}",
                        o.trainer,
                        o.item,
                        verdict_name(o.from),
                        verdict_name(*machine)
                    ));
                }
                *settled = o.to;
            }
        }
    }
    for c in &call.checks {
        let Some((_, _, settled)) = current.iter().find(|(id, _, _)| *id == c.id) else {
            continue;
        };
        if c.final_verdict == Verdict::Uncertain {
            out.push(format!(
                "call {n}: check {} is still uncertain; a trainer must settle it",
                c.id
            ));
        } else if *settled != c.final_verdict {
            out.push(format!(
                "call {n}: check {} is final {}, but the machine verdict {} and the overrules give {}",
                c.id,
                verdict_name(c.final_verdict),
                verdict_name(c.machine),
                verdict_name(*settled)
            ));
        }
    }
    out
}
