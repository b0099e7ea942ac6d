//! The trainers' decisions in the grader's terms: the audit log's overrules as
//! [`Overrule`]s bound to the version of the machine report they were made on, and an
//! attempt's effective result ([`settle_audit`]), which the index lists and the reports and
//! review screens show. The rules themselves are the grader's ([`crate::grading::settle`]);
//! this only reads the log.

use super::{AuditAction, AuditEntry};
use crate::grading::{settle, Overrule, Report, Settled, Verdict};

/// The trainers' overrules of one attempt, ready for [`settle`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decisions {
    /// The version of the current machine report: how many times it was re-graded.
    pub version: u32,
    pub overrules: Vec<Overrule>,
    /// For each overrule, its entry's index in the audit log (who, when, why).
    pub entries: Vec<usize>,
}

/// The version of the current machine report: 0 as graded, n after the n-th re-grade.
pub fn report_version(audit: &[AuditEntry]) -> u32 {
    audit
        .iter()
        .filter(|e| matches!(e.action, AuditAction::Regrade { .. }))
        .count() as u32
}

fn verdict(s: &str) -> Option<Verdict> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

/// The overrules in the audit log, in the order they were made. An entry written before
/// overrules recorded their report version and machine verdict is taken to be made on the
/// report current at its place in the log, against the verdict the trainer saw.
pub fn decisions(audit: &[AuditEntry]) -> Decisions {
    let mut d = Decisions::default();
    for (i, e) in audit.iter().enumerate() {
        match &e.action {
            AuditAction::Regrade { .. } => d.version += 1,
            AuditAction::Overrule {
                check,
                original,
                verdict: to,
                graded,
                report,
            } => {
                let (Some(to), Some(from)) =
                    (verdict(to), verdict(graded.as_deref().unwrap_or(original)))
                else {
                    continue;
                };
                d.overrules.push(Overrule {
                    check: check.clone(),
                    verdict: to,
                    graded: from,
                    report: report.unwrap_or(d.version),
                });
                d.entries.push(i);
            }
            _ => {}
        }
    }
    d
}

/// The effective result of `report` (the attempt's current machine report) under the
/// decisions in `audit`.
pub fn settle_audit(report: &Report, audit: &[AuditEntry]) -> (Settled, Decisions) {
    let d = decisions(audit);
    (settle(report, d.version, &d.overrules), d)
}

/// Whether a trainer's "reviewed" mark stands: the latest mark or unmark decides.
pub fn reviewed(audit: &[AuditEntry]) -> bool {
    audit
        .iter()
        .rev()
        .find_map(|e| match e.action {
            AuditAction::Reviewed => Some(true),
            AuditAction::Unreviewed => Some(false),
            _ => None,
        })
        .unwrap_or(false)
}

/// The machine verdict of `check` in a report stored as JSON, as stored ("pass", …).
pub(super) fn graded_verdict(report: &serde_json::Value, check: &str) -> Option<String> {
    report
        .get("checks")?
        .as_array()?
        .iter()
        .find(|c| c.get("id").and_then(|i| i.as_str()) == Some(check))?
        .get("verdict")?
        .as_str()
        .map(str::to_string)
}
