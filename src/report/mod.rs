//! Trainee reports from the store: [`gather`] reads one trainee's attempts (date range,
//! stable order) into a [`TraineeReport`], and the exporters write it as JSON (for
//! learning-management systems), CSV (one row per attempt, or one row per check) and a
//! single self-contained HTML page with inline SVG plots ([`html`]).
//!
//! Everything here is deterministic for the same store: attempts are sorted by start time
//! then id, categories by name, and nothing reads the clock — a "generated at" line appears
//! only when the caller passes one.
//!
//! Verdicts are the *effective* ones: a trainer's overrule (the latest for a check, from the
//! audit log) replaces the grader's verdict, and the original is kept beside it.

pub mod html;
pub mod strings;

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::grading::Report;
use crate::store::{
    Attempt, AttemptStatus, AttemptSummary, AuditAction, AuditEntry, Query, SortKey, Store,
    StoreError, Timestamp,
};

/// Version of the JSON export; bumped when a field changes meaning.
pub const JSON_FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no attempts by trainee {trainee:?} in this store; trainees with attempts: {known}")]
    UnknownTrainee { trainee: String, known: String },
    #[error("the store has no attempts yet: record some with `ringcoach practice` or `ringcoach grade --save`")]
    EmptyStore,
    #[error(
        "attempt {id}: its report cannot be read ({reason}); run `ringcoach store check --repair`"
    )]
    BadReport { id: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One check of one attempt, after overrules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckRow {
    pub id: String,
    pub category: String,
    /// The verdict that counts: the trainer's, if overruled, else the grader's.
    pub verdict: String,
    /// The grader's verdict.
    pub graded: String,
    pub critical: bool,
    /// Who overruled it and why, if anyone did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overruled_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overrule_note: Option<String>,
}

/// One attempt as a report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptRow {
    pub id: String,
    pub started: Timestamp,
    pub scenario: String,
    pub status: AttemptStatus,
    pub duration_ms: u64,
    pub score: Option<f64>,
    pub passed: Option<bool>,
    pub needs_review: bool,
    pub reviewed: bool,
    pub corrected: bool,
    pub regraded: bool,
    pub overrules: u32,
    pub transcript: String,
    pub checks: Vec<CheckRow>,
}

/// Pass rate of one category over the report's attempts (not-applicable checks left out).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryStat {
    pub category: String,
    pub pass: u32,
    pub fail: u32,
    pub uncertain: u32,
}

impl CategoryStat {
    pub fn total(&self) -> u32 {
        self.pass + self.fail + self.uncertain
    }
    /// Passed share, 0.0–1.0; uncertain checks count as not (yet) passed.
    pub fn pass_rate(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            n => f64::from(self.pass) / f64::from(n),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraineeReport {
    pub format: u32,
    pub trainee: String,
    pub from: Option<Timestamp>,
    /// Exclusive.
    pub to: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_at: Option<String>,
    pub attempts: Vec<AttemptRow>,
    /// By name.
    pub categories: Vec<CategoryStat>,
    /// Attempts left out because their files could not be read (id, why): one damaged
    /// attempt does not stop a trainee's report. `store check --repair` mends them.
    #[serde(skip)]
    pub skipped: Vec<(String, String)>,
}

impl TraineeReport {
    /// Finished attempts only (interrupted ones have no score).
    pub fn scored(&self) -> impl Iterator<Item = (&AttemptRow, f64)> {
        self.attempts.iter().filter_map(|a| a.score.map(|s| (a, s)))
    }

    /// Categories by pass rate, weakest first (ties by name).
    pub fn weakest(&self) -> Vec<&CategoryStat> {
        let mut v: Vec<&CategoryStat> = self.categories.iter().filter(|c| c.total() > 0).collect();
        v.sort_by(|a, b| {
            a.pass_rate()
                .total_cmp(&b.pass_rate())
                .then_with(|| a.category.cmp(&b.category))
        });
        v
    }

    pub fn mean_score(&self) -> Option<f64> {
        let (n, sum) = self
            .scored()
            .fold((0u32, 0.0), |(n, s), (_, x)| (n + 1, s + x));
        (n > 0).then(|| sum / f64::from(n))
    }
}

/// The latest overrule of each check, by check id.
pub fn overrules(audit: &[AuditEntry]) -> BTreeMap<&str, &AuditEntry> {
    let mut out = BTreeMap::new();
    for e in audit {
        if let AuditAction::Overrule { check, .. } = &e.action {
            out.insert(check.as_str(), e);
        }
    }
    out
}

/// The report that counts for an attempt: the re-graded one if any, else the original.
pub fn current_report(a: &Attempt) -> Result<Option<Report>, ReportError> {
    let Some(v) = a.regraded_report.as_ref().or(a.report.as_ref()) else {
        return Ok(None);
    };
    serde_json::from_value(v.clone())
        .map(Some)
        .map_err(|e| ReportError::BadReport {
            id: a.meta.id.to_string(),
            reason: e.to_string(),
        })
}

/// The checks of `report` with the overrules in `audit` applied.
pub fn effective_checks(report: &Report, audit: &[AuditEntry]) -> Vec<CheckRow> {
    let over = overrules(audit);
    report
        .checks
        .iter()
        .map(|c| {
            let graded = c.verdict.to_string();
            let o = over.get(c.id.as_str());
            let verdict = match o.map(|e| &e.action) {
                Some(AuditAction::Overrule { verdict, .. }) => verdict.clone(),
                _ => graded.clone(),
            };
            CheckRow {
                id: c.id.clone(),
                category: c.category.clone(),
                verdict,
                graded,
                critical: c.critical,
                overruled_by: o.map(|e| e.trainer.clone()),
                overrule_note: o.map(|e| e.note.clone()),
            }
        })
        .collect()
}

/// One attempt's row: its summary plus its report's checks (loaded from the files).
pub fn attempt_row(store: &Store, s: &AttemptSummary) -> Result<AttemptRow, ReportError> {
    let checks = match s.status {
        AttemptStatus::Interrupted | AttemptStatus::Ungraded => Vec::new(),
        AttemptStatus::Finished => {
            let a = store.load(&s.id)?;
            match current_report(&a)? {
                Some(r) => effective_checks(&r, &a.audit),
                None => Vec::new(),
            }
        }
    };
    Ok(AttemptRow {
        id: s.id.to_string(),
        started: s.started,
        scenario: s.scenario.clone(),
        status: s.status,
        duration_ms: s.duration_ms,
        score: s.score,
        passed: s.passed,
        needs_review: s.needs_review,
        reviewed: s.reviewed,
        corrected: s.corrected,
        regraded: s.regraded,
        overrules: s.overrules,
        transcript: s.text.clone(),
        checks,
    })
}

/// Pass/fail/uncertain counts per category over `attempts`, by category name.
pub fn category_stats(attempts: &[AttemptRow]) -> Vec<CategoryStat> {
    let mut by: BTreeMap<&str, CategoryStat> = BTreeMap::new();
    for c in attempts.iter().flat_map(|a| a.checks.iter()) {
        let e = by
            .entry(c.category.as_str())
            .or_insert_with(|| CategoryStat {
                category: c.category.clone(),
                pass: 0,
                fail: 0,
                uncertain: 0,
            });
        match c.verdict.as_str() {
            "pass" => e.pass += 1,
            "fail" => e.fail += 1,
            "uncertain" => e.uncertain += 1,
            _ => {}
        }
    }
    by.into_values().collect()
}

/// Every trainee with at least one attempt, sorted.
pub fn trainees(store: &Store) -> Result<Vec<String>, ReportError> {
    let mut names: Vec<String> = store
        .list(&Query::default())?
        .into_iter()
        .map(|s| s.trainee)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Reads `trainee`'s attempts started in `[from, to)` into a report, oldest first.
pub fn gather(
    store: &Store,
    trainee: &str,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> Result<TraineeReport, ReportError> {
    let q = Query {
        trainee: Some(trainee.to_string()),
        since: from,
        until: to,
        sort: SortKey::Started,
        descending: false,
        ..Query::default()
    };
    let mut list = store.list(&q)?;
    if list.is_empty() {
        let known = trainees(store)?;
        if known.is_empty() {
            return Err(ReportError::EmptyStore);
        }
        if !known.iter().any(|k| k == trainee) {
            return Err(ReportError::UnknownTrainee {
                trainee: trainee.to_string(),
                known: known.join(", "),
            });
        }
    }
    // The index sorts by start time; ids break ties so equal starts keep one order.
    list.sort_by(|a, b| a.started.cmp(&b.started).then_with(|| a.id.cmp(&b.id)));
    let mut attempts = Vec::with_capacity(list.len());
    let mut skipped = Vec::new();
    for s in &list {
        match attempt_row(store, s) {
            Ok(row) => attempts.push(row),
            Err(e) => skipped.push((s.id.to_string(), e.to_string())),
        }
    }
    Ok(TraineeReport {
        format: JSON_FORMAT,
        trainee: trainee.to_string(),
        from,
        to,
        generated_at: None,
        categories: category_stats(&attempts),
        attempts,
        skipped,
    })
}

/// `--to 2026-11-30` means "up to the end of that day"; a full time is taken as given.
pub fn parse_to(s: &str) -> Result<Timestamp, StoreError> {
    let t = Timestamp::parse(s)?;
    Ok(if s.trim().len() == 10 {
        Timestamp::from_unix_ms(t.unix_ms() + 86_400_000)
    } else {
        t
    })
}

pub fn write_json(r: &TraineeReport, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r)?;
    out.write_all(b"\n")
}

/// A CSV field, quoted when it must be (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn score_text(s: Option<f64>) -> String {
    s.map(|x| format!("{x:.0}")).unwrap_or_default()
}

fn row(out: &mut impl Write, cells: &[String]) -> io::Result<()> {
    let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
    out.write_all(line.join(",").as_bytes())?;
    out.write_all(b"\r\n")
}

/// One row per attempt; then one column per check id seen in any attempt (sorted), holding
/// that attempt's effective verdict (empty when the attempt had no such check).
pub fn write_csv(r: &TraineeReport, out: &mut impl Write) -> io::Result<()> {
    let mut ids: Vec<&str> = r
        .attempts
        .iter()
        .flat_map(|a| a.checks.iter().map(|c| c.id.as_str()))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut head: Vec<String> = [
        "attempt",
        "trainee",
        "started",
        "scenario",
        "status",
        "duration_ms",
        "score",
        "passed",
        "needs_review",
        "reviewed",
        "corrected",
        "regraded",
        "overrules",
        "transcript",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    head.extend(ids.iter().map(|i| format!("check:{i}")));
    row(out, &head)?;
    for a in &r.attempts {
        let mut cells = vec![
            a.id.clone(),
            r.trainee.clone(),
            a.started.to_rfc3339(),
            a.scenario.clone(),
            a.status.as_str().to_string(),
            a.duration_ms.to_string(),
            score_text(a.score),
            opt(a.passed),
            a.needs_review.to_string(),
            a.reviewed.to_string(),
            a.corrected.to_string(),
            a.regraded.to_string(),
            a.overrules.to_string(),
            a.transcript.clone(),
        ];
        for id in &ids {
            cells.push(
                a.checks
                    .iter()
                    .find(|c| c.id == *id)
                    .map(|c| c.verdict.clone())
                    .unwrap_or_default(),
            );
        }
        row(out, &cells)?;
    }
    Ok(())
}

/// Long format: one row per check of every attempt (`--checks`).
pub fn write_checks_csv(r: &TraineeReport, out: &mut impl Write) -> io::Result<()> {
    row(
        out,
        &[
            "attempt",
            "trainee",
            "started",
            "scenario",
            "check",
            "category",
            "verdict",
            "graded",
            "critical",
            "overruled_by",
            "overrule_note",
        ]
        .map(String::from),
    )?;
    for a in &r.attempts {
        for c in &a.checks {
            row(
                out,
                &[
                    a.id.clone(),
                    r.trainee.clone(),
                    a.started.to_rfc3339(),
                    a.scenario.clone(),
                    c.id.clone(),
                    c.category.clone(),
                    c.verdict.clone(),
                    c.graded.clone(),
                    c.critical.to_string(),
                    c.overruled_by.clone().unwrap_or_default(),
                    c.overrule_note.clone().unwrap_or_default(),
                ],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
