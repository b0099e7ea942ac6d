//! The store's data: what a caller passes in (attempt info, outcome), what is written to
//! `meta.json` and `audit.jsonl`, and what the index returns for listing (summaries, queries).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::id::AttemptId;
use super::time::Timestamp;
use super::wav_stream::AudioFormat;
use crate::transcribe::Transcript;

/// Version of `meta.json`; a newer one is refused with "upgrade ringcoach".
pub const META_FORMAT: u32 = 1;

/// What is known when recording starts. Written to `started.json` immediately, so an
/// interrupted attempt still says whose it was and what it was for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptInfo {
    pub scenario: String,
    /// SHA-256 of the rubric the attempt is graded against (a changed rubric is a new one).
    pub rubric_sha256: String,
    /// Which speech model transcribed it (e.g. `ggml-base-q5_1`).
    pub model: String,
    pub trainee: String,
    /// Input device name.
    pub device: String,
    /// Organisation / training room; empty when not used.
    pub org: String,
    pub started: Timestamp,
    /// The certification sitting this attempt is a call of (see `crate::exam`); None for
    /// practice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sitting: Option<String>,
}

/// What is known once the reply has been transcribed and graded.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub transcript: Transcript,
    /// The grader's report, stored verbatim as `report.json`.
    pub report: serde_json::Value,
    pub score: f64,
    pub passed: bool,
    /// Any check came out `uncertain`: a trainer should listen.
    pub needs_review: bool,
    pub finished: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptStatus {
    /// Recorded, transcribed and graded; all files present.
    Finished,
    /// The call did not reach its end (hung up, quit, the process died); the audio is kept,
    /// no grade. `store regrade` grades what was recorded.
    Interrupted,
    /// The call was recorded to its end but could not be transcribed or graded (cut off on
    /// a busy machine, the model failed); the audio is kept and `reason` says why.
    /// `store regrade` grades it later.
    Ungraded,
}

impl AttemptStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptStatus::Finished => "finished",
            AttemptStatus::Interrupted => "interrupted",
            AttemptStatus::Ungraded => "ungraded",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "finished" => Some(AttemptStatus::Finished),
            "interrupted" => Some(AttemptStatus::Interrupted),
            "ungraded" => Some(AttemptStatus::Ungraded),
            _ => None,
        }
    }

    /// Has a grade (finished); the others hold a recording still to be graded.
    pub fn is_graded(self) -> bool {
        self == AttemptStatus::Finished
    }
}

/// What grading a recording needs that its audio does not say: how the phone was picked
/// up and where each trainee turn lies in `audio.wav`. Saved with every attempt practice
/// records, so one kept without a grade can be graded later exactly as it would have been.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rings: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_ms: Option<u64>,
    /// Each trainee turn as `[first frame, end frame)` of `audio.wav`, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<[u64; 2]>,
}

/// An attempt that had no grade and was graded later (`store regrade`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradedLater {
    pub at: Timestamp,
    /// What it was before: interrupted or ungraded.
    pub was: AttemptStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A file of an attempt that `store check --repair` found damaged and moved aside (never
/// deleted): where it went, when, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAside {
    pub file: String,
    /// Relative to the data directory.
    pub moved_to: String,
    pub at: Timestamp,
    pub why: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioMeta {
    #[serde(flatten)]
    pub fmt: AudioFormat,
    pub frames: u64,
    pub duration_ms: u64,
}

/// How an interrupted attempt was recovered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    pub at: Timestamp,
    /// The WAV header sizes lagged the data and were rewritten from the file length.
    pub header_repaired: bool,
}

/// `meta.json`: written last, atomically. Its presence is the attempt's "finished marker":
/// a directory without it is still being recorded (or was interrupted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptMeta {
    pub format: u32,
    pub id: AttemptId,
    pub status: AttemptStatus,
    #[serde(flatten)]
    pub info: AttemptInfo,
    pub finished: Option<Timestamp>,
    pub score: Option<f64>,
    pub passed: Option<bool>,
    pub needs_review: bool,
    pub audio: AudioMeta,
    /// SHA-256 of each file as saved (`audio.wav`, `transcript.json`, `report.json`).
    pub files: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered: Option<Recovery>,
    /// Why an interrupted or ungraded attempt has no grade, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Pickup and turn boundaries, so the recording can be graded again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<CallFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graded_later: Option<GradedLater>,
    /// Damaged files moved to `quarantine/` by `store check --repair`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set_aside: Vec<SetAside>,
}

/// One line of `audit.jsonl`: who did what, when, why, and what it was before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub time: Timestamp,
    pub trainer: String,
    #[serde(flatten)]
    pub action: AuditAction,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AuditAction {
    /// A trainer overruled one check's verdict: `original` is the verdict the trainer saw
    /// (perhaps an earlier overrule's), `verdict` the new one.
    Overrule {
        check: String,
        original: String,
        verdict: String,
        /// The machine verdict of the check when it was overruled, and the version of the
        /// machine report it was made on (0 as graded, n after the n-th re-grade): after a
        /// re-grade the overrule counts only while its check keeps that verdict. Absent in
        /// entries written before they were recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        graded: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        report: Option<u32>,
    },
    /// The transcript was corrected (`transcript.corrected.json`; the original stays).
    Correction {
        original_text: String,
        corrected_text: String,
    },
    /// The attempt was re-graded (`report.regraded.json`; the original `report.json` stays).
    Regrade {
        original_score: Option<f64>,
        original_passed: Option<bool>,
        score: f64,
        passed: bool,
    },
    /// A trainer has looked at it.
    Reviewed,
    /// A trainer took the "reviewed" mark back (pressed it by mistake, or will look again).
    Unreviewed,
}

/// One row of the index: everything a queue or a report needs without opening files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptSummary {
    pub id: AttemptId,
    pub status: AttemptStatus,
    pub scenario: String,
    pub rubric_sha256: String,
    pub model: String,
    pub trainee: String,
    pub device: String,
    pub org: String,
    pub started: Timestamp,
    pub finished: Option<Timestamp>,
    pub duration_ms: u64,
    /// The effective score: the current machine report (the latest re-grade, else the
    /// original) with the trainers' overrules applied ([`crate::grading::settle`]).
    pub score: Option<f64>,
    /// The effective verdict, as `score`. None for interrupted and ungraded attempts.
    pub passed: Option<bool>,
    /// Some check is still uncertain, or an overrule no longer matches after a re-grade.
    pub needs_review: bool,
    pub reviewed: bool,
    pub overrules: u32,
    pub corrected: bool,
    pub regraded: bool,
    /// Transcript text (the corrected one when there is one), for search.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed,
    Interrupted,
    Ungraded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Started,
    Score,
    Trainee,
    Scenario,
}

/// A listing request. Empty fields do not filter. Text filters are exact matches, except
/// `text`, which is a substring of the transcript, the `_prefix` ones, which match the start
/// of a name in any case, and `sounds_like`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub trainee: Option<String>,
    pub scenario: Option<String>,
    /// Trainees whose name starts with this, in any case (`wang` finds Wang.Fang).
    pub trainee_prefix: Option<String>,
    /// Scenarios whose id starts with this, in any case (`answer` finds answer-call).
    pub scenario_prefix: Option<String>,
    /// Transcripts that contain something that sounds like this, syllable by syllable in
    /// toneless pinyin ([`crate::text::sound`]): 广利物业 finds 广立物业, as the grader hears it.
    pub sounds_like: Option<String>,
    pub org: Option<String>,
    /// Started at or after.
    pub since: Option<Timestamp>,
    /// Started before.
    pub until: Option<Timestamp>,
    pub verdict: Option<Verdict>,
    pub needs_review: Option<bool>,
    pub reviewed: Option<bool>,
    pub text: Option<String>,
    pub sort: SortKey,
    /// Newest / highest first.
    pub descending: bool,
    pub limit: Option<usize>,
    pub offset: usize,
}

/// Everything about one attempt, loaded from its files.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub meta: AttemptMeta,
    pub audio_path: std::path::PathBuf,
    /// None for an interrupted attempt.
    pub transcript: Option<Transcript>,
    pub corrected_transcript: Option<Transcript>,
    pub report: Option<serde_json::Value>,
    pub regraded_report: Option<serde_json::Value>,
    pub audit: Vec<AuditEntry>,
    /// Lines of `audit.jsonl` that could not be read (a torn last line after a crash).
    pub unreadable_audit_lines: usize,
}
