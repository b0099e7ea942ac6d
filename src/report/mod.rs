//! Trainee reports from the store: [`gather`] reads one trainee's attempts (date range,
//! stable order) into a [`TraineeReport`], and the exporters write it as JSON (for
//! learning-management systems), CSV (one row per attempt, or one row per check) and a
//! single self-contained HTML page with inline SVG plots ([`html`]).
//!
//! Everything here is deterministic for the same store: attempts are sorted by start time
//! then id, categories by name, and nothing reads the clock — a "generated at" line appears
//! only when the caller passes one.
//!
//! Verdicts, scores and passes are the *effective* ones ([`Effective`]): the current machine
//! report with the trainers' decisions applied by [`crate::grading::settle`]; the grader's
//! verdict is kept beside each.

pub mod html;
pub mod strings;
pub mod when;

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::grading::{Decision, Message, Report, Settled};
use crate::store::decisions::{settle_audit, Decisions};
use crate::store::{
    Attempt, AttemptStatus, AttemptSummary, AuditAction, AuditEntry, Query, SortKey, StoreError,
    Timestamp,
};

/// Version of the JSON export; bumped when a field changes meaning. 2: score, passed and
/// needs_review are the settled ones (the trainers' decisions applied); checks carry their
/// names and messages; attempts their pickup, first words, speech rate and reviewer.
pub const JSON_FORMAT: u32 = 2;

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
    /// Reading the desk's store or a training room's shared one.
    #[error(transparent)]
    Source(#[from] crate::db::SourceError),
}

/// One check of one attempt, after the trainers' decisions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckRow {
    pub id: String,
    pub category: String,
    /// The verdict that counts: the trainer's, if an overrule counts, else the grader's.
    pub verdict: String,
    /// The grader's verdict (in the current, perhaps re-graded, report).
    pub graded: String,
    pub critical: bool,
    pub weight: f64,
    /// What the check is called, in both languages.
    pub name: Message,
    /// What the grader found: the reason for a failure, in both languages.
    pub message: Message,
    /// Who overruled it and why, if an overrule counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overruled_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overrule_note: Option<String>,
    /// An overrule made before a re-grade that changed this check's verdict: it does not
    /// count until a trainer keeps it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_longer_matches: Option<StaleOverrule>,
}

/// An overrule that no longer matches the re-graded report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaleOverrule {
    /// What the trainer had decided.
    pub verdict: String,
    /// The machine verdict it overruled then.
    pub graded: String,
    pub trainer: String,
    pub note: String,
}

/// One attempt as a report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptRow {
    pub id: String,
    pub started: Timestamp,
    pub scenario: String,
    pub status: AttemptStatus,
    pub duration_ms: u64,
    /// The settled score and pass: the machine's report with the trainers' decisions.
    pub score: Option<f64>,
    pub passed: Option<bool>,
    pub needs_review: bool,
    pub reviewed: bool,
    /// The trainer whose "reviewed" mark stands, and when it was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewed_at: Option<Timestamp>,
    pub corrected: bool,
    pub regraded: bool,
    pub overrules: u32,
    /// The organisation the opening had to name.
    pub org: String,
    /// Rings before pickup, and milliseconds from the first ring to pickup, when known.
    pub rings: Option<u32>,
    pub pickup_ms: Option<u64>,
    /// From pickup to the first words of the first turn, when measured.
    pub first_words_ms: Option<u64>,
    /// Characters per minute of voiced time, when graded from audio.
    pub speech_rate_cpm: Option<f64>,
    /// The whole transcript as heard or corrected.
    pub transcript: String,
    /// The trainee's turns, one each.
    pub turns: Vec<String>,
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
    /// A model answer per scenario (its first), `{org}` left in: what a good reply sounds
    /// like, beside the trainee's. Filled from the scenarios by [`with_scenarios`].
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub model_answers: BTreeMap<String, Vec<String>>,
    /// The scenarios' titles, in both languages.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub scenario_titles: BTreeMap<String, Message>,
    /// Attempts left out because their files could not be read (id, why): one damaged
    /// attempt does not stop a trainee's report. `store check --repair` mends them.
    #[serde(skip)]
    pub skipped: Vec<(String, String)>,
}

/// Adds the title and first model answer of each scenario the report's attempts are of
/// (a scenario the catalog no longer has is shown by its id, without a model answer).
pub fn with_scenarios(r: &mut TraineeReport, catalog: &crate::scenario::Catalog) {
    for a in &r.attempts {
        if r.scenario_titles.contains_key(&a.scenario) {
            continue;
        }
        let Ok(sc) = catalog.get(&a.scenario) else {
            continue;
        };
        r.scenario_titles.insert(
            a.scenario.clone(),
            Message {
                zh: sc.title.zh.clone(),
                en: sc.title.en.clone(),
            },
        );
        if let Some(answer) = sc.model_answers.get_ref().first() {
            let turns: Vec<String> = crate::scenario::phrases(&answer.turns)
                .map(str::to_string)
                .collect();
            r.model_answers.insert(a.scenario.clone(), turns);
        }
    }
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

/// An attempt's current machine report with the trainers' decisions applied: what review,
/// reports and exports show. The result itself is [`crate::grading::settle`]'s.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    pub report: Report,
    pub settled: Settled,
    pub decisions: Decisions,
}

impl Effective {
    /// The effective result of `a`, or None for an attempt without a report (interrupted).
    pub fn of(a: &Attempt) -> Result<Option<Effective>, ReportError> {
        Ok(current_report(a)?.map(|report| {
            let (settled, decisions) = settle_audit(&report, &a.audit);
            Effective {
                report,
                settled,
                decisions,
            }
        }))
    }

    /// The checks with their settled verdicts and who decided them.
    pub fn checks(&self, audit: &[AuditEntry]) -> Vec<CheckRow> {
        self.report
            .checks
            .iter()
            .zip(&self.settled.checks)
            .map(|(c, s)| {
                let entry = |o: usize| audit.get(self.decisions.entries[o]);
                let counts = match s.decision {
                    Decision::Overruled(o) => entry(o),
                    _ => None,
                };
                let stale = match s.decision {
                    Decision::NoLongerMatches(o) => entry(o).map(|e| StaleOverrule {
                        verdict: self.decisions.overrules[o].verdict.to_string(),
                        graded: self.decisions.overrules[o].graded.to_string(),
                        trainer: e.trainer.clone(),
                        note: e.note.clone(),
                    }),
                    _ => None,
                };
                CheckRow {
                    id: c.id.clone(),
                    category: c.category.clone(),
                    verdict: s.verdict.to_string(),
                    graded: s.machine.to_string(),
                    critical: c.critical,
                    weight: c.weight,
                    name: c.display_name(),
                    message: c.message.clone(),
                    overruled_by: counts.map(|e| e.trainer.clone()),
                    overrule_note: counts.map(|e| e.note.clone()),
                    no_longer_matches: stale,
                }
            })
            .collect()
    }
}

/// The checks of `report` with the decisions in `audit` applied.
pub fn effective_checks(report: &Report, audit: &[AuditEntry]) -> Vec<CheckRow> {
    let (settled, decisions) = settle_audit(report, audit);
    Effective {
        report: report.clone(),
        settled,
        decisions,
    }
    .checks(audit)
}

/// One attempt's row: its summary plus its report's checks (loaded from the files), with
/// the score, pass and need for review the decisions settle.
pub fn attempt_row(
    store: &mut dyn crate::db::AttemptSource,
    s: &AttemptSummary,
) -> Result<AttemptRow, ReportError> {
    let a = store.load(&s.id)?;
    let mut row = AttemptRow {
        id: s.id.to_string(),
        started: s.started,
        scenario: s.scenario.clone(),
        status: s.status,
        duration_ms: s.duration_ms,
        score: s.score,
        passed: s.passed,
        needs_review: s.needs_review,
        reviewed: s.reviewed,
        reviewed_by: None,
        reviewed_at: None,
        corrected: s.corrected,
        regraded: s.regraded,
        overrules: s.overrules,
        org: s.org.clone(),
        rings: None,
        pickup_ms: None,
        first_words_ms: None,
        speech_rate_cpm: None,
        transcript: s.text.clone(),
        turns: Vec::new(),
        checks: Vec::new(),
    };
    if crate::store::decisions::reviewed(&a.audit) {
        if let Some(e) = a
            .audit
            .iter()
            .rev()
            .find(|e| matches!(e.action, AuditAction::Reviewed))
        {
            row.reviewed_by = Some(e.trainer.clone());
            row.reviewed_at = Some(e.time);
        }
    }
    if s.status == AttemptStatus::Finished {
        if let Some(e) = Effective::of(&a)? {
            row.score = Some(f64::from(e.settled.score));
            row.passed = Some(e.settled.passed);
            row.needs_review = e.settled.needs_review;
            row.checks = e.checks(&a.audit);
            let r = &e.report;
            row.org = r.org.clone();
            row.rings = r.rings;
            row.pickup_ms = r.pickup_ms;
            row.first_words_ms = r.first_words_ms();
            row.speech_rate_cpm = r.speech_rate_cpm();
            row.turns = r.turns.iter().map(|t| t.transcript.clone()).collect();
        }
    }
    Ok(row)
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
pub fn trainees(store: &mut dyn crate::db::AttemptSource) -> Result<Vec<String>, ReportError> {
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
    store: &mut dyn crate::db::AttemptSource,
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
        model_answers: BTreeMap::new(),
        scenario_titles: BTreeMap::new(),
        skipped,
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

/// How a CSV is written: the zone its times are in, the language of check names and
/// reasons, and whether it starts with a UTF-8 byte-order mark.
#[derive(Debug, Clone)]
pub struct CsvStyle {
    pub tz: jiff::tz::TimeZone,
    pub lang: crate::config::Lang,
    /// On by default: Excel reads a CSV without it in the system's code page, which on a
    /// Chinese Windows turns 刘芳 into 鍒樿姵. Other tools skip it or read it as a BOM.
    pub bom: bool,
}

fn bom(style: &CsvStyle, out: &mut impl Write) -> io::Result<()> {
    if style.bom {
        out.write_all("\u{feff}".as_bytes())?;
    }
    Ok(())
}

fn secs(ms: Option<u64>) -> String {
    ms.map(|ms| format!("{:.1}", ms as f64 / 1000.0))
        .unwrap_or_default()
}

/// The check ids of the report's attempts in the order the grader runs them (the opening,
/// what is said throughout, the closing, must-say items, the manner of speaking), as a
/// trainer reads an attempt; ids only some scenarios have come where they first appear.
fn check_order(r: &TraineeReport) -> Vec<&str> {
    let mut ids: Vec<&str> = Vec::new();
    for a in &r.attempts {
        let mut at = 0;
        for c in &a.checks {
            match ids.iter().position(|i| *i == c.id) {
                Some(p) => at = p + 1,
                None => {
                    ids.insert(at, &c.id);
                    at += 1;
                }
            }
        }
    }
    ids
}

/// One row per attempt, its columns in the order a trainer reads an attempt: who and when,
/// the result (settled, after the trainers' decisions) and whether a trainer has looked,
/// how the call went (rings, seconds to pickup and to the first words, speech rate), the
/// transcript, then one column per check holding its verdict. A cell is blank when there is
/// no value (an interrupted attempt has no score; an attempt of another scenario has no such
/// check); `not_applicable` means the check ran and did not apply.
pub fn write_csv(r: &TraineeReport, style: &CsvStyle, out: &mut impl Write) -> io::Result<()> {
    bom(style, out)?;
    let ids = check_order(r);
    let mut head: Vec<String> = [
        "attempt",
        "trainee",
        "started",
        "time_zone",
        "scenario",
        "status",
        "score",
        "passed",
        "needs_review",
        "reviewed",
        "reviewed_by",
        "rings",
        "pickup_s",
        "first_words_s",
        "speech_rate_cpm",
        "duration_s",
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
            when::minute(a.started, &style.tz),
            when::offset_label(a.started, &style.tz),
            a.scenario.clone(),
            a.status.as_str().to_string(),
            score_text(a.score),
            opt(a.passed),
            a.needs_review.to_string(),
            a.reviewed.to_string(),
            a.reviewed_by.clone().unwrap_or_default(),
            opt(a.rings),
            secs(a.pickup_ms),
            secs(a.first_words_ms),
            a.speech_rate_cpm
                .map(|c| format!("{c:.0}"))
                .unwrap_or_default(),
            secs(Some(a.duration_ms)),
            a.corrected.to_string(),
            a.regraded.to_string(),
            a.overrules.to_string(),
            if a.turns.is_empty() {
                a.transcript.clone()
            } else {
                a.turns.join("\n")
            },
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

/// Long format: one row per check of every attempt (`--checks`), with its name and the
/// grader's reason in the report's language.
pub fn write_checks_csv(
    r: &TraineeReport,
    style: &CsvStyle,
    out: &mut impl Write,
) -> io::Result<()> {
    bom(style, out)?;
    row(
        out,
        &[
            "attempt",
            "trainee",
            "started",
            "time_zone",
            "scenario",
            "check",
            "name",
            "category",
            "verdict",
            "graded",
            "critical",
            "reason",
            "overruled_by",
            "overrule_note",
        ]
        .map(String::from),
    )?;
    let pick = |m: &Message| match style.lang {
        crate::config::Lang::Zh => m.zh.clone(),
        crate::config::Lang::En => m.en.clone(),
    };
    for a in &r.attempts {
        for c in &a.checks {
            row(
                out,
                &[
                    a.id.clone(),
                    r.trainee.clone(),
                    when::minute(a.started, &style.tz),
                    when::offset_label(a.started, &style.tz),
                    a.scenario.clone(),
                    c.id.clone(),
                    pick(&c.name),
                    c.category.clone(),
                    c.verdict.clone(),
                    c.graded.clone(),
                    c.critical.to_string(),
                    pick(&c.message),
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
