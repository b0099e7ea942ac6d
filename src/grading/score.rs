//! The score and the pass: what the checks add up to.

use super::report::{Check, Verdict};

/// 0–100: each applicable check earns its weight times its credit (pass 1, uncertain
/// `uncertain_credit`, fail 0), over the weight of the applicable checks; 0 when none applies.
pub fn score(checks: &[Check], uncertain_credit: f64) -> u32 {
    score_of(
        checks.iter().map(|c| (c.weight, c.verdict)),
        uncertain_credit,
    )
}

/// [`score`] over (weight, verdict) pairs: the same sum whether the verdicts are the
/// grader's or the ones a trainer settled ([`super::decisions`]).
pub fn score_of(checks: impl IntoIterator<Item = (f64, Verdict)>, uncertain_credit: f64) -> u32 {
    let (mut num, mut den) = (0.0, 0.0);
    for (weight, verdict) in checks {
        let credit = match verdict {
            Verdict::Pass => 1.0,
            Verdict::Uncertain => uncertain_credit,
            Verdict::Fail => 0.0,
            Verdict::NotApplicable => continue,
        };
        num += weight * credit;
        den += weight;
    }
    if den > 0.0 {
        (100.0 * num / den).round().clamp(0.0, 100.0) as u32
    } else {
        0
    }
}

/// Passed: no critical check failed, and the score reaches the pass mark.
pub fn passed(checks: &[Check], score: u32, pass_mark: f64) -> bool {
    let critical_fail = checks
        .iter()
        .any(|c| c.critical && c.verdict == Verdict::Fail);
    passes(critical_fail, score, pass_mark)
}

/// The pass rule itself: no critical check failed, and the score reaches the pass mark.
pub fn passes(critical_fail: bool, score: u32, pass_mark: f64) -> bool {
    !critical_fail && f64::from(score) >= pass_mark
}
