//! Trainer actions: overrules, transcript corrections, re-grades and reviews. Each is one
//! line appended to the attempt's `audit.jsonl` (never rewritten), and a corrected
//! transcript or re-graded report is saved beside the original, which is kept. The entry
//! itself is made by [`audit_entry`], which the shared store's decisions use too.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use super::fsio::{self, io_err, write_json_atomic};
use super::{
    decisions, read_optional, AttemptId, AttemptSummary, AuditAction, AuditEntry, Store,
    StoreError, Timestamp, AUDIT, REPORT, REPORT_REGRADED, TRANSCRIPT_CORRECTED,
};
use crate::transcribe::Transcript;

/// What a trainer decides, before it is an audit entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Check `check`, seen as `original`, is `verdict` now.
    Overrule {
        check: String,
        original: String,
        verdict: String,
    },
    /// The transcript is `corrected_text` now.
    Correction {
        corrected_text: String,
    },
    /// The (corrected) attempt graded again.
    Regrade {
        score: f64,
        passed: bool,
    },
    Reviewed,
    Unreviewed,
}

/// The attempt a decision is made on, as it stands before it.
#[derive(Debug, Clone, Copy)]
pub struct DecidedOn<'a> {
    /// Its row (the effective text, score and verdict).
    pub summary: &'a AttemptSummary,
    /// The decisions so far, in order.
    pub audit: &'a [AuditEntry],
    /// The current machine report: the latest re-grade's, else the original.
    pub report: Option<&'a serde_json::Value>,
}

/// The one place a trainer's decision becomes an audit entry, for the desk's store and the
/// shared one alike. An overrule records the check's machine verdict and the version of
/// the machine report it was made on, so a later re-grade can tell whether it still
/// applies; a correction the text it replaces; a re-grade the score and verdict before it.
pub fn audit_entry(
    on: DecidedOn<'_>,
    trainer: &str,
    decision: Decision,
    note: &str,
) -> Result<AuditEntry, StoreError> {
    check_trainer(trainer)?;
    let action = match decision {
        Decision::Overrule {
            check,
            original,
            verdict,
        } => AuditAction::Overrule {
            graded: on.report.and_then(|r| decisions::graded_verdict(r, &check)),
            report: Some(decisions::report_version(on.audit)),
            check,
            original,
            verdict,
        },
        Decision::Correction { corrected_text } => AuditAction::Correction {
            original_text: on.summary.text.clone(),
            corrected_text,
        },
        Decision::Regrade { score, passed } => {
            if !score.is_finite() {
                return Err(StoreError::Invalid(format!(
                    "score {score} is not a number"
                )));
            }
            AuditAction::Regrade {
                original_score: on.summary.score,
                original_passed: on.summary.passed,
                score,
                passed,
            }
        }
        Decision::Reviewed => AuditAction::Reviewed,
        Decision::Unreviewed => AuditAction::Unreviewed,
    };
    // Strictly after the decisions it was made on, even within one millisecond or with a
    // clock that stepped back: the shared store orders decisions by time, and must order
    // them as the desk's log does.
    let now = Timestamp::now();
    let time = match on.audit.iter().map(|e| e.time).max() {
        Some(last) if last >= now => Timestamp::from_unix_ms(last.unix_ms() + 1),
        _ => now,
    };
    Ok(AuditEntry {
        time,
        trainer: trainer.to_string(),
        action,
        note: note.to_string(),
    })
}

impl Store {
    /// A trainer overrules one check (`original`, the verdict they saw, → `verdict`), with a
    /// note (see [`audit_entry`]).
    pub fn overrule(
        &self,
        id: &AttemptId,
        trainer: &str,
        check: &str,
        original: &str,
        verdict: &str,
        note: &str,
    ) -> Result<AttemptSummary, StoreError> {
        let decision = Decision::Overrule {
            check: check.to_string(),
            original: original.to_string(),
            verdict: verdict.to_string(),
        };
        let entry = self.decide(id, trainer, decision, note)?;
        self.append_audit(id, entry)
    }

    /// Saves a corrected transcript beside the original and logs the change.
    pub fn correct_transcript(
        &self,
        id: &AttemptId,
        trainer: &str,
        corrected: &Transcript,
        note: &str,
    ) -> Result<AttemptSummary, StoreError> {
        let decision = Decision::Correction {
            corrected_text: corrected.text.clone(),
        };
        let entry = self.decide(id, trainer, decision, note)?;
        let dir = self.attempt_dir(id);
        write_json_atomic(&dir.join(TRANSCRIPT_CORRECTED), corrected, self.opts.sync)?;
        self.append_audit(id, entry)
    }

    /// Saves a re-graded report beside the original and logs old and new score.
    pub fn regrade(
        &self,
        id: &AttemptId,
        trainer: &str,
        report: &serde_json::Value,
        score: f64,
        passed: bool,
        note: &str,
    ) -> Result<AttemptSummary, StoreError> {
        let entry = self.decide(id, trainer, Decision::Regrade { score, passed }, note)?;
        write_json_atomic(
            &self.attempt_dir(id).join(REPORT_REGRADED),
            report,
            self.opts.sync,
        )?;
        self.append_audit(id, entry)
    }

    pub fn mark_reviewed(
        &self,
        id: &AttemptId,
        trainer: &str,
        note: &str,
    ) -> Result<AttemptSummary, StoreError> {
        let entry = self.decide(id, trainer, Decision::Reviewed, note)?;
        self.append_audit(id, entry)
    }

    /// Takes a "reviewed" mark back (logged, like everything else).
    pub fn unmark_reviewed(
        &self,
        id: &AttemptId,
        trainer: &str,
        note: &str,
    ) -> Result<AttemptSummary, StoreError> {
        let entry = self.decide(id, trainer, Decision::Unreviewed, note)?;
        self.append_audit(id, entry)
    }

    /// The audit entry of `decision` on the attempt as its files stand now.
    fn decide(
        &self,
        id: &AttemptId,
        trainer: &str,
        decision: Decision,
        note: &str,
    ) -> Result<AuditEntry, StoreError> {
        // A read-only store says so before anything is decided.
        self.writable()?;
        check_trainer(trainer)?;
        let summary = self.summary_from_files(id)?;
        let dir = self.attempt_dir(id);
        let (audit, _) = read_audit(&dir)?;
        let report: Option<serde_json::Value> = match read_optional(&dir.join(REPORT_REGRADED))? {
            Some(r) => Some(r),
            None => read_optional(&dir.join(REPORT))?,
        };
        let on = DecidedOn {
            summary: &summary,
            audit: &audit,
            report: report.as_ref(),
        };
        audit_entry(on, trainer, decision, note)
    }

    fn append_audit(
        &self,
        id: &AttemptId,
        entry: AuditEntry,
    ) -> Result<AttemptSummary, StoreError> {
        let path = self.attempt_dir(id).join(AUDIT);
        let mut line =
            serde_json::to_string(&entry).map_err(|e| StoreError::Invalid(e.to_string()))?;
        line.push('\n');
        // A crash mid-append can leave a torn last line; start on a fresh line so that
        // fragment stays one unreadable line instead of swallowing this entry.
        if let Ok(existing) = fs::read(&path) {
            if existing.last().is_some_and(|&b| b != b'\n') {
                line.insert(0, '\n');
            }
        }
        let created = !path.exists();
        let mut f = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err("open", &path))?;
        // One write: O_APPEND keeps concurrent trainers' lines whole.
        f.write_all(line.as_bytes())
            .map_err(io_err("append to", &path))?;
        if self.opts.sync {
            f.sync_data().map_err(io_err("sync", &path))?;
            if created {
                fsio::sync_parent(&path)?;
            }
        }
        let summary = self.summary_from_files(id)?;
        self.index.upsert(&summary)?;
        Ok(summary)
    }
}

fn check_trainer(trainer: &str) -> Result<(), StoreError> {
    if trainer.trim().is_empty() {
        return Err(StoreError::Invalid(
            "the audit log needs the trainer's name; pass --trainer".into(),
        ));
    }
    Ok(())
}

/// Audit entries in order, and how many lines could not be read.
pub(super) fn read_audit(dir: &Path) -> Result<(Vec<AuditEntry>, usize), StoreError> {
    let path = dir.join(AUDIT);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(io_err("read", &path)(e)),
    };
    Ok(parse_audit(&bytes))
}

/// The entries of an `audit.jsonl` in order, and how many lines could not be read (a torn
/// last line after a crash, or damage). Never panics, whatever the bytes.
pub fn parse_audit(bytes: &[u8]) -> (Vec<AuditEntry>, usize) {
    let mut entries = Vec::new();
    let mut bad = 0;
    for line in bytes.split(|&b| b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice(line) {
            Ok(e) => entries.push(e),
            Err(_) => bad += 1,
        }
    }
    (entries, bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AttemptStatus, Timestamp};

    fn row() -> AttemptSummary {
        AttemptSummary {
            id: AttemptId::parse("20261127T085245.123456Z-1a2b3c4d").unwrap(),
            status: AttemptStatus::Finished,
            scenario: "answer-call".into(),
            rubric_sha256: String::new(),
            model: String::new(),
            trainee: "li.na".into(),
            device: String::new(),
            org: String::new(),
            started: Timestamp::from_unix_ms(0),
            finished: None,
            duration_ms: 0,
            score: Some(36.0),
            passed: Some(false),
            needs_review: true,
            reviewed: false,
            overrules: 0,
            corrected: false,
            regraded: false,
            text: "喂,你好".into(),
        }
    }

    #[test]
    fn an_entry_records_what_it_was_made_on_and_comes_after_it() {
        let summary = row();
        let report =
            serde_json::json!({"checks": [{"id": "organisation", "verdict": "uncertain"}]});
        // Made by a machine whose clock is ahead: this one still sorts after it.
        let ahead = Timestamp::from_unix_ms(Timestamp::now().unix_ms() + 60_000);
        let regrade = AuditEntry {
            time: ahead,
            trainer: "zhao".into(),
            action: AuditAction::Regrade {
                original_score: None,
                original_passed: None,
                score: 1.0,
                passed: false,
            },
            note: String::new(),
        };
        let audit = [regrade];
        let on = DecidedOn {
            summary: &summary,
            audit: &audit,
            report: Some(&report),
        };
        let overrule = Decision::Overrule {
            check: "organisation".into(),
            original: "uncertain".into(),
            verdict: "pass".into(),
        };
        let e = audit_entry(on, "wang", overrule, "heard 广利").unwrap();
        assert_eq!(e.time, Timestamp::from_unix_ms(ahead.unix_ms() + 1));
        assert_eq!(
            e.action,
            AuditAction::Overrule {
                check: "organisation".into(),
                original: "uncertain".into(),
                verdict: "pass".into(),
                graded: Some("uncertain".into()),
                report: Some(1),
            }
        );
        let fix = Decision::Correction {
            corrected_text: "您好".into(),
        };
        let AuditAction::Correction { original_text, .. } =
            audit_entry(on, "wang", fix, "").unwrap().action
        else {
            panic!()
        };
        assert_eq!(original_text, "喂,你好");
        let nan = Decision::Regrade {
            score: f64::NAN,
            passed: true,
        };
        assert!(audit_entry(on, "wang", nan, "").is_err());
        assert!(audit_entry(on, " ", Decision::Reviewed, "").is_err());
    }
}
