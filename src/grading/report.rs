//! The graded attempt: a stable, serde-serialisable [`Report`] (the `--json` shape) and a
//! text renderer for people.

use std::fmt;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::OrgSource;
use crate::audio::facts::AudioFacts;
use crate::transcribe::Thresholds;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// The evidence is only near (homophone, near miss, low model confidence): a person
    /// should listen. Earns part of the weight, never fails the attempt on its own.
    Uncertain,
    NotApplicable,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Uncertain => "uncertain",
            Verdict::NotApplicable => "not_applicable",
        })
    }
}

/// A matched span: character offsets into the report's `normalized` text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub text: String,
    pub start: usize,
    pub end: usize,
    /// Which trainee turn (0-based) the span is in.
    pub turn: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub zh: String,
    pub en: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub id: String,
    pub category: String,
    pub verdict: Verdict,
    pub weight: f64,
    pub critical: bool,
    pub evidence: Vec<Evidence>,
    pub message: Message,
    /// What the check is called, for people (问好 / greeting). Absent in reports saved
    /// before checks carried names: [`Check::display_name`] falls back to the built-in ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Message>,
}

impl Check {
    /// The check's name for people: its own, else the built-in name of its id, else (a
    /// banned-phrase family or must-say item of an old report) its id after the family.
    pub fn display_name(&self) -> Message {
        if let Some(n) = &self.name {
            return n.clone();
        }
        if let Some(n) = builtin_name(&self.id) {
            return n;
        }
        let rest = self.id.split_once(':').map_or(self.id.as_str(), |(_, r)| r);
        match self.category.as_str() {
            "banned_phrase" => Message {
                zh: format!("忌语 {rest}"),
                en: format!("banned: {rest}"),
            },
            _ => Message {
                zh: rest.to_string(),
                en: rest.to_string(),
            },
        }
    }
}

/// The names of the checks every rubric may run, in both languages.
pub fn builtin_name(id: &str) -> Option<Message> {
    let (zh, en) = match id {
        "rings" => ("三声内接听", "picked up in time"),
        "late_apology" => ("迟接致歉", "apology for a late pickup"),
        "greeting" => ("问好", "greeting"),
        "organisation" => ("报单位", "organisation named"),
        "offer_help" => ("询问来意", "offer of help"),
        "opening_order" => ("开场顺序", "opening in order"),
        "politeness" => ("礼貌用语", "politeness words"),
        "fillers" => ("口头禅", "fillers"),
        "closing" => ("结束语", "closing"),
        "first_words" => ("开口及时", "first words in time"),
        "speech_rate" => ("语速", "speech rate"),
        "loudness" => ("音量", "loudness"),
        "clipping" => ("破音", "clipping"),
        "audio" => ("录音质量", "recording quality"),
        "cut_off" => ("识别未完成", "transcription cut off"),
        _ => return None,
    };
    Some(Message {
        zh: zh.into(),
        en: en.into(),
    })
}

/// Where each trainee turn sits in `normalized`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnReport {
    pub transcript: String,
    pub normalized: String,
    pub start: usize,
    pub end: usize,
    /// Signal facts of the turn's audio, when graded from audio.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub audio: Option<AudioFacts>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub scenario: String,
    pub org: String,
    /// Stored as "--org" or "default profile".
    pub org_source: OrgSource,
    /// The trainee's turns as heard, one per line.
    pub transcript: String,
    /// The normalised turns, concatenated; evidence offsets point into it (in characters).
    pub normalized: String,
    pub score: u32,
    pub passed: bool,
    /// The score the rubric needs to pass, and what an uncertain check earns of its weight:
    /// with each check's weight and critical flag, all that re-scoring the report after a
    /// trainer's decisions needs ([`super::decisions::settle`]), without the scenarios.
    /// Absent in reports saved before they were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_mark: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertain_credit: Option<f64>,
    pub rubric_sha256: String,
    /// Rings before pickup, when known.
    pub rings: Option<u32>,
    /// Milliseconds from the first ring to pickup, when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_ms: Option<u64>,
    pub checks: Vec<Check>,
    pub turns: Vec<TurnReport>,
    /// The readings the checks asked the model about, with its answers (see
    /// [`super::verify`]); none when graded from text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readings: Vec<super::ReadingCheck>,
}

impl Report {
    /// When the phone was picked up, as the grader was told: to grade the call again alike.
    pub fn pickup(&self) -> super::Pickup {
        match (self.rings, self.pickup_ms) {
            (Some(rings), Some(after_ms)) => super::Pickup::Counted { rings, after_ms },
            (Some(n), None) => super::Pickup::Rings(n),
            (None, Some(ms)) => super::Pickup::AfterMs(ms),
            (None, None) => super::Pickup::Unknown,
        }
    }

    /// From the first ring to the trainee's first words, when measured: the pickup time
    /// plus the first turn's silence before speaking.
    pub fn first_words_ms(&self) -> Option<u64> {
        self.turns.first()?.audio.as_ref()?.first_words_ms
    }

    /// The speech rate the grader judged: characters per minute of voiced time over the
    /// turns that were recorded. None for text-only grading.
    pub fn speech_rate_cpm(&self) -> Option<f64> {
        super::speech_rate_cpm(self.turns.iter().filter_map(|t| {
            t.audio
                .as_ref()
                .map(|a| (t.normalized.chars().count(), a.speaking_ms))
        }))
    }

    /// The checks a person should look at: failed or uncertain.
    pub fn attention(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Fail | Verdict::Uncertain))
    }
}

fn likeness_word(l: crate::transcribe::Likeness) -> &'static str {
    match l {
        crate::transcribe::Likeness::AboutAsLikely => "about as likely",
        crate::transcribe::Likeness::Uncertain => "in between",
        crate::transcribe::Likeness::ClearlyLess => "clearly less likely",
    }
}

fn mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✓",
        Verdict::Fail => "✗",
        Verdict::Uncertain => "?",
        Verdict::NotApplicable => "–",
    }
}

/// Renders a report for a person at a terminal: verdict first, then one line per check with
/// its evidence, then the zh/en message.
pub fn render_text(r: &Report, out: &mut impl Write) -> io::Result<()> {
    let verdict = if r.passed {
        "PASSED 通过"
    } else {
        "NOT PASSED 未通过"
    };
    writeln!(
        out,
        "{verdict} — score {}/100 · scenario {} · org {} ({})",
        r.score,
        r.scenario,
        r.org,
        r.org_source.as_str()
    )?;
    match r.rings {
        Some(n) => writeln!(out, "rings: {n}")?,
        None => writeln!(out, "rings: not given")?,
    }
    for (i, t) in r.turns.iter().enumerate() {
        let shown = if t.transcript.trim().is_empty() {
            "(nothing heard)"
        } else {
            t.transcript.trim()
        };
        if r.turns.len() > 1 {
            writeln!(out, "heard (turn {}): {shown}", i + 1)?;
        } else {
            writeln!(out, "heard: {shown}")?;
        }
    }
    writeln!(out)?;
    // Passing banned-phrase families and checks without audio add nothing a person needs to
    // read one by one: they are summarised in one line each.
    let quiet = |c: &Check| {
        (c.category == "banned_phrase" && c.verdict == Verdict::Pass)
            || c.verdict == Verdict::NotApplicable && c.message.en.starts_with("no audio")
    };
    for c in r.checks.iter().filter(|c| !quiet(c)) {
        let crit = if c.critical { " [critical]" } else { "" };
        let ev: Vec<String> = c
            .evidence
            .iter()
            .map(|e| format!("「{}」@{}–{}", e.text, e.start, e.end))
            .collect();
        let ev = if ev.is_empty() {
            String::new()
        } else {
            format!("  {}", ev.join(" "))
        };
        writeln!(out, "{} {}{crit}{ev}", mark(c.verdict), c.id)?;
        writeln!(out, "    {}", c.message.zh)?;
        writeln!(out, "    {}", c.message.en)?;
    }
    let clean = r
        .checks
        .iter()
        .filter(|c| c.category == "banned_phrase" && c.verdict == Verdict::Pass)
        .count();
    if clean > 0 {
        writeln!(out, "✓ banned_phrase ×{clean}")?;
        writeln!(out, "    未使用服务忌语({clean}类)")?;
        writeln!(out, "    no banned phrase used ({clean} families checked)")?;
    }
    if !r.readings.is_empty() {
        writeln!(
            out,
            "readings asked (margin: log-probability against what was heard; ≥ {:.0} about as likely, < {:.0} clearly less):",
            Thresholds::CALIBRATED.about_as_likely,
            Thresholds::CALIBRATED.clearly_less
        )?;
        for rd in &r.readings {
            let heard = if rd.heard.is_empty() {
                "(inserted)".to_string()
            } else {
                format!("for 「{}」", rd.heard)
            };
            let answer = match (rd.margin, rd.likeness) {
                (Some(m), Some(l)) => format!("{m:.1} {}", likeness_word(l)),
                _ => format!("not scored: {}", rd.error.as_deref().unwrap_or("no answer")),
            };
            let turn = if r.turns.len() > 1 {
                format!(" (turn {})", rd.turn + 1)
            } else {
                String::new()
            };
            writeln!(
                out,
                "  {}{turn}: 「{}」 {heard}: {answer}",
                rd.check, rd.phrase
            )?;
        }
    }
    let no_audio: Vec<&str> = r
        .checks
        .iter()
        .filter(|c| quiet(c) && c.category != "banned_phrase")
        .map(|c| c.id.as_str())
        .collect();
    if !no_audio.is_empty() {
        writeln!(out, "– {}", no_audio.join(", "))?;
        writeln!(out, "    没有录音数据,未评语速音量")?;
        writeln!(out, "    not graded: no audio facts (graded from text)")?;
    }
    Ok(())
}
