//! The score and the pass: what the checks add up to.

use super::report::{Check, Verdict};

/// 0–100: each applicable check earns its weight times its credit (pass 1, uncertain
/// `uncertain_credit`, fail 0), over the weight of the applicable checks; 0 when none applies.
pub fn score(checks: &[Check], uncertain_credit: f64) -> u32 {
    let (mut num, mut den) = (0.0, 0.0);
    for c in checks {
        let credit = match c.verdict {
            Verdict::Pass => 1.0,
            Verdict::Uncertain => uncertain_credit,
            Verdict::Fail => 0.0,
            Verdict::NotApplicable => continue,
        };
        num += c.weight * credit;
        den += c.weight;
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
    !critical_fail && f64::from(score) >= pass_mark
}
