//! Trainer actions: overrules, transcript corrections, re-grades and reviews. Each is one
//! line appended to the attempt's `audit.jsonl` (never rewritten), and a corrected
//! transcript or re-graded report is saved beside the original, which is kept.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use super::fsio::{self, io_err, write_json_atomic};
use super::{
    decisions, read_optional, AttemptId, AttemptSummary, AuditAction, AuditEntry, Store,
    StoreError, Timestamp, AUDIT, REPORT, REPORT_REGRADED, TRANSCRIPT_CORRECTED,
};
use crate::transcribe::Transcript;

impl Store {
    /// A trainer overrules one check (`original`, the verdict they saw, → `verdict`), with a
    /// note. The entry also records the check's machine verdict and the version of the
    /// machine report it was made on, so a later re-grade can tell whether it still applies.
    pub fn overrule(
        &self,
        id: &AttemptId,
        trainer: &str,
        check: &str,
        original: &str,
        verdict: &str,
        note: &str,
    ) -> Result<AttemptSummary, StoreError> {
        let dir = self.attempt_dir(id);
        let (audit, _) = read_audit(&dir)?;
        let current: Option<serde_json::Value> = match read_optional(&dir.join(REPORT_REGRADED))? {
            Some(r) => Some(r),
            None => read_optional(&dir.join(REPORT))?,
        };
        let action = AuditAction::Overrule {
            check: check.to_string(),
            original: original.to_string(),
            verdict: verdict.to_string(),
            graded: current
                .as_ref()
                .and_then(|r| decisions::graded_verdict(r, check)),
            report: Some(decisions::report_version(&audit)),
        };
        self.append_audit(id, trainer, action, note)
    }

    /// Saves a corrected transcript beside the original and logs the change.
    pub fn correct_transcript(
        &self,
        id: &AttemptId,
        trainer: &str,
        corrected: &Transcript,
        note: &str,
    ) -> Result<AttemptSummary, StoreError> {
        self.writable()?;
        let before = self.summary_from_files(id)?;
        check_trainer(trainer)?;
        let dir = self.attempt_dir(id);
        write_json_atomic(&dir.join(TRANSCRIPT_CORRECTED), corrected, self.opts.sync)?;
        let action = AuditAction::Correction {
            original_text: before.text,
            corrected_text: corrected.text.clone(),
        };
        self.append_audit(id, trainer, action, note)
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
        if !score.is_finite() {
            return Err(StoreError::Invalid(format!(
                "score {score} is not a number"
            )));
        }
        self.writable()?;
        let before = self.summary_from_files(id)?;
        check_trainer(trainer)?;
        write_json_atomic(
            &self.attempt_dir(id).join(REPORT_REGRADED),
            report,
            self.opts.sync,
        )?;
        let action = AuditAction::Regrade {
            original_score: before.score,
            original_passed: before.passed,
            score,
            passed,
        };
        self.append_audit(id, trainer, action, note)
    }

    pub fn mark_reviewed(
        &self,
        id: &AttemptId,
        trainer: &str,
        note: &str,
    ) -> Result<AttemptSummary, StoreError> {
        self.append_audit(id, trainer, AuditAction::Reviewed, note)
    }

    /// Takes a "reviewed" mark back (logged, like everything else).
    pub fn unmark_reviewed(
        &self,
        id: &AttemptId,
        trainer: &str,
        note: &str,
    ) -> Result<AttemptSummary, StoreError> {
        self.append_audit(id, trainer, AuditAction::Unreviewed, note)
    }

    fn append_audit(
        &self,
        id: &AttemptId,
        trainer: &str,
        action: AuditAction,
        note: &str,
    ) -> Result<AttemptSummary, StoreError> {
        self.writable()?;
        check_trainer(trainer)?;
        self.summary_from_files(id)?;
        let entry = AuditEntry {
            time: Timestamp::now(),
            trainer: trainer.to_string(),
            action,
            note: note.to_string(),
        };
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
