//! What the review screens show, computed once from the store's files: an attempt's checks
//! after overrules, its marked transcript, its audit log as lines, and where in the
//! recording each check's evidence was said. Building these is pure (no I/O), so the
//! screens never compute anything and these are tested without a store.

use super::strings::Strings;
use crate::grading::{Call, Heard, Org, Report, Verdict};
use crate::report::{Effective, ReportError, StaleOverrule, TraineeReport};
use crate::store::{Attempt, AttemptId, AttemptStatus, AuditAction, AuditEntry, Timestamp};
use crate::text::normalize;
use crate::transcribe::Transcript;

#[derive(Debug, Clone, PartialEq)]
pub struct CheckView {
    pub id: String,
    pub category: String,
    /// The grader's verdict.
    pub graded: Verdict,
    /// The verdict that counts (a trainer's overrule, else the grader's), as stored.
    pub verdict: String,
    pub critical: bool,
    /// What the check is called, in both languages (问好 / greeting).
    pub name_zh: String,
    pub name_en: String,
    pub message_zh: String,
    pub message_en: String,
    /// Character spans into [`AttemptView::normalized`].
    pub evidence: Vec<(usize, usize)>,
    /// Where the first evidence span starts in the recording, when token timings say so.
    pub at_ms: Option<u64>,
    pub overruled_by: Option<String>,
    /// An overrule made before a re-grade that changed this check's verdict: the trainer
    /// is asked to keep it or drop it.
    pub no_longer_matches: Option<StaleOverrule>,
}

/// One trainee turn and the caller's line before it.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnView {
    /// What the caller said before this turn (zh, en), when the scenario is known.
    pub caller: Option<(String, String)>,
    /// The trainee's turn as heard or corrected.
    pub text: String,
    /// Where the turn sits in [`AttemptView::normalized`] (characters).
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttemptView {
    pub id: AttemptId,
    pub trainee: String,
    pub scenario: String,
    pub started: Timestamp,
    pub duration_ms: u64,
    pub status: AttemptStatus,
    /// The effective score and pass: the machine report with the decisions applied.
    pub score: Option<u32>,
    pub passed: Option<bool>,
    /// Some check is uncertain or an overrule no longer matches.
    pub needs_review: bool,
    /// The text the evidence offsets point into.
    pub normalized: String,
    /// The transcript as heard (or as corrected), turns on their own lines.
    pub transcript: String,
    /// The call turn by turn: what the caller said before each trainee turn, and the
    /// trainee's turn as heard or corrected (what the editor starts from, one turn each).
    pub turns: Vec<TurnView>,
    pub corrected: bool,
    pub regraded: bool,
    pub reviewed: bool,
    pub checks: Vec<CheckView>,
    /// The audit log, oldest first; the view words each entry in the screen's language.
    pub audit: Vec<AuditEntry>,
}

/// Checks folded into one row of the checks list: the passing banned-phrase families (eleven
/// rows saying "not said" would push the checks that matter off the screen) and the checks
/// that did not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    Banned,
    NotApplicable,
}

/// Which folds are open (their checks listed under the folded row).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Open {
    pub banned: bool,
    pub not_applicable: bool,
}

impl Open {
    pub fn is(self, f: Fold) -> bool {
        match f {
            Fold::Banned => self.banned,
            Fold::NotApplicable => self.not_applicable,
        }
    }
    pub fn toggle(&mut self, f: Fold) {
        match f {
            Fold::Banned => self.banned = !self.banned,
            Fold::NotApplicable => self.not_applicable = !self.not_applicable,
        }
    }
}

/// One row of the checks list: a check, or a fold of several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckRow {
    Check(usize),
    Folded {
        fold: Fold,
        count: usize,
        open: bool,
    },
}

impl CheckView {
    /// Name in the screen's language.
    pub fn name(&self, lang: crate::config::Lang) -> &str {
        match lang {
            crate::config::Lang::Zh => &self.name_zh,
            crate::config::Lang::En => &self.name_en,
        }
    }

    /// The fold this check goes into, if any: nobody decided on it, and it is a passing
    /// banned-phrase family or did not apply.
    pub fn fold(&self) -> Option<Fold> {
        let undecided = self.overruled_by.is_none() && self.no_longer_matches.is_none();
        if !undecided {
            return None;
        }
        if self.category == "banned_phrase"
            && self.verdict == "pass"
            && self.graded == Verdict::Pass
        {
            Some(Fold::Banned)
        } else if self.verdict == "not_applicable" && self.graded == Verdict::NotApplicable {
            Some(Fold::NotApplicable)
        } else {
            None
        }
    }

    /// Something a trainer should look at: uncertain, or an overrule to decide on.
    pub fn wants_attention(&self) -> bool {
        self.verdict == "uncertain" || self.no_longer_matches.is_some()
    }
}

impl AttemptView {
    /// The rows of the checks list, in report order, each fold of more than one check in
    /// one row at its first check's place (its checks listed under it when open).
    pub fn rows(&self, open: Open) -> Vec<CheckRow> {
        let count = |f: Fold| self.checks.iter().filter(|c| c.fold() == Some(f)).count();
        let mut rows = Vec::new();
        let mut placed: Vec<Fold> = Vec::new();
        for (i, c) in self.checks.iter().enumerate() {
            match c.fold().filter(|&f| count(f) > 1) {
                Some(f) => {
                    if !placed.contains(&f) {
                        placed.push(f);
                        rows.push(CheckRow::Folded {
                            fold: f,
                            count: count(f),
                            open: open.is(f),
                        });
                        if open.is(f) {
                            rows.extend(
                                self.checks
                                    .iter()
                                    .enumerate()
                                    .filter(|(_, c)| c.fold() == Some(f))
                                    .map(|(k, _)| CheckRow::Check(k)),
                            );
                        }
                    }
                }
                None => rows.push(CheckRow::Check(i)),
            }
        }
        rows
    }

    /// The row a trainer should start on: the first that wants attention, else the first
    /// failed check, else the first row.
    pub fn first_row(&self, rows: &[CheckRow]) -> usize {
        let find = |f: &dyn Fn(&CheckView) -> bool| {
            rows.iter().position(|r| match r {
                CheckRow::Check(i) => f(&self.checks[*i]),
                CheckRow::Folded { .. } => false,
            })
        };
        find(&|c| c.wants_attention())
            .or_else(|| find(&|c| c.verdict == "fail"))
            .unwrap_or(0)
    }

    /// The attempt as the screen shows it; `caller` is what the caller says before each
    /// trainee turn (zh, en), from the scenario, or empty when it is not known.
    pub fn build(a: &Attempt, caller: &[(String, String)]) -> Result<AttemptView, ReportError> {
        let effective = Effective::of(a)?;
        let report: Option<&Report> = effective.as_ref().map(|e| &e.report);
        let heard = a.transcript.as_ref();
        let current_text = a
            .corrected_transcript
            .as_ref()
            .or(heard)
            .map(|t| t.text.clone())
            .unwrap_or_default();
        let checks = match &effective {
            None => Vec::new(),
            Some(e) => {
                let r = &e.report;
                let eff = e.checks(&a.audit);
                r.checks
                    .iter()
                    .zip(eff)
                    .map(|(c, e)| {
                        let evidence: Vec<(usize, usize)> =
                            c.evidence.iter().map(|ev| (ev.start, ev.end)).collect();
                        let at_ms = c.evidence.first().and_then(|ev| {
                            heard.and_then(|t| evidence_ms(&r.normalized, ev.start, &ev.text, t))
                        });
                        CheckView {
                            id: c.id.clone(),
                            category: c.category.clone(),
                            graded: c.verdict,
                            verdict: e.verdict,
                            critical: c.critical,
                            name_zh: c.display_name().zh,
                            name_en: c.display_name().en,
                            message_zh: c.message.zh.clone(),
                            message_en: c.message.en.clone(),
                            evidence,
                            at_ms,
                            overruled_by: e.overruled_by,
                            no_longer_matches: e.no_longer_matches,
                        }
                    })
                    .collect()
            }
        };
        let reviewed = crate::store::decisions::reviewed(&a.audit);
        let turns: Vec<TurnView> = match report {
            Some(r) => r
                .turns
                .iter()
                .enumerate()
                .map(|(i, t)| TurnView {
                    caller: caller.get(i).cloned(),
                    text: t.transcript.clone(),
                    start: t.start,
                    end: t.end,
                })
                .collect(),
            None => Vec::new(),
        };
        Ok(AttemptView {
            id: a.meta.id.clone(),
            trainee: a.meta.info.trainee.clone(),
            scenario: a.meta.info.scenario.clone(),
            started: a.meta.info.started,
            duration_ms: a.meta.audio.duration_ms,
            status: a.meta.status,
            score: effective.as_ref().map(|e| e.settled.score),
            passed: effective.as_ref().map(|e| e.settled.passed),
            needs_review: effective.as_ref().is_some_and(|e| e.settled.needs_review),
            normalized: report
                .as_ref()
                .map(|r| r.normalized.clone())
                .unwrap_or_default(),
            transcript: current_text,
            turns,
            corrected: a.corrected_transcript.is_some(),
            regraded: a.regraded_report.is_some(),
            reviewed,
            checks,
            audit: a.audit.clone(),
        })
    }
}

/// "2026-11-27 17:12 wang overruled greeting fail → pass: heard 您好" (or in Chinese:
/// "2026-11-27 17:12 wang 推翻判定 greeting 未通过 → 通过:heard 您好"), in local time.
pub fn audit_line(
    e: &AuditEntry,
    s: &Strings,
    tz: &jiff::tz::TimeZone,
    name: &dyn Fn(&str) -> String,
) -> String {
    let when = crate::report::when::minute(e.time, tz);
    let what = match &e.action {
        // Dropping an overrule after a re-grade is an overrule to the verdict there is.
        AuditAction::Overrule {
            check,
            original,
            verdict,
            ..
        } if original == verdict => (s.audit_kept_regraded)(&name(check), s.verdict(verdict)),
        AuditAction::Overrule {
            check,
            original,
            verdict,
            ..
        } => (s.audit_overruled)(&name(check), s.verdict(original), s.verdict(verdict)),
        AuditAction::Correction {
            original_text,
            corrected_text,
        } => (s.audit_corrected)(&one_line(original_text), &one_line(corrected_text)),
        AuditAction::Regrade {
            original_score,
            score,
            ..
        } => (s.audit_regraded)(*original_score, *score),
        AuditAction::Reviewed => s.audit_reviewed.to_string(),
        AuditAction::Unreviewed => s.audit_unreviewed.to_string(),
    };
    if e.note.is_empty() {
        format!("{when} {} {what}", e.trainer)
    } else {
        format!("{when} {} {what}{}{}", e.trainer, s.note_sep, e.note)
    }
}

/// Where a span of the normalised report text was said, from the transcript's token
/// timings: the tokens are normalised one by one and laid end to end; when that lines up
/// with the report's text character for character, the span's first character gives its
/// token; otherwise the evidence text is looked up in the tokens' text. None when neither
/// works (a corrected transcript, no tokens): the caller plays from the start.
pub fn evidence_ms(
    normalized: &str,
    start: usize,
    evidence_text: &str,
    transcript: &Transcript,
) -> Option<u64> {
    let mut chars: Vec<char> = Vec::new();
    let mut owner: Vec<u64> = Vec::new();
    for t in transcript.tokens() {
        // whisper.cpp's special tokens ([_BEG_], [_TT_…]) carry no speech.
        if t.text.starts_with("[_") {
            continue;
        }
        for c in normalize(&t.text).chars() {
            chars.push(c);
            owner.push(t.start_ms);
        }
    }
    if chars.is_empty() {
        return None;
    }
    if normalized.chars().eq(chars.iter().copied()) {
        return owner.get(start).copied();
    }
    let want: Vec<char> = normalize(evidence_text).chars().collect();
    if want.is_empty() || want.len() > chars.len() {
        return None;
    }
    (0..=chars.len() - want.len())
        .find(|&i| chars[i..i + want.len()] == want[..])
        .map(|i| owner[i])
}

/// The progress screen: one trainee's scores in time order and categories weakest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressView {
    pub trainee: String,
    /// (start time, score), oldest first.
    pub scores: Vec<(Timestamp, f64)>,
    pub attempts: usize,
    pub passed: usize,
    /// (category, pass rate 0–1, graded checks), weakest first.
    pub categories: Vec<(String, f64, u32)>,
}

impl ProgressView {
    pub fn from_report(r: &TraineeReport) -> ProgressView {
        ProgressView {
            trainee: r.trainee.clone(),
            scores: r.scored().map(|(a, s)| (a.started, s)).collect(),
            attempts: r.attempts.len(),
            passed: r.scored().filter(|(a, _)| a.passed == Some(true)).count(),
            categories: r
                .weakest()
                .iter()
                .map(|c| (c.category.clone(), c.pass_rate(), c.total()))
                .collect(),
        }
    }
}

/// Grades a corrected transcript as the original was graded: same scenario, organisation
/// (and where it came from), pickup rings, and each turn with its own audio facts. `turns`
/// holds one corrected text per turn of the original, in order: turns stay apart, so the
/// manner checks (speech rate, first words) still measure each turn's words against that
/// turn's audio.
pub fn regrade(
    catalog: &crate::scenario::Catalog,
    original: &Report,
    turns: &[String],
) -> Result<Report, RegradeError> {
    let sc = catalog.get(&original.scenario)?;
    let want = original.turns.len().max(1);
    if turns.len() != want {
        return Err(RegradeError::Turns {
            want,
            got: turns.len(),
        });
    }
    let call = Call {
        turns: turns
            .iter()
            .enumerate()
            .map(|(i, text)| Heard {
                facts: original.turns.get(i).and_then(|t| t.audio.clone()),
                ..Heard::text(text.clone())
            })
            .collect(),
        pickup: original.pickup(),
        org: Org::of(original),
    };
    Ok(call.grade(sc, &catalog.phrasebook))
}

#[derive(Debug, thiserror::Error)]
pub enum RegradeError {
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    #[error(
        "the call has {want} trainee turn(s) but {got} corrected; correct each turn on its own"
    )]
    Turns { want: usize, got: usize },
}

/// Data made fit for one row: line breaks (between a call's turns, inside a note) become
/// " / ", other control characters spaces.
pub fn one_line(text: &str) -> String {
    let joined = if text.contains(['\n', '\r']) {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" / ")
    } else {
        text.to_string()
    };
    joined
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
