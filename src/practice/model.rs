//! What the practice screens show, computed once from the scenarios and the grader's
//! report: the pick list's situations and the feedback screen's checks and marks. Building
//! these is pure (no I/O), so the views never compute a grade.

use crate::audio::facts::AudioFacts;
use crate::audio::quality::MicCheck;
use crate::config::Lang;
use crate::grading::{Report, Verdict as Graded};
use crate::report::strings::category_name;
use crate::scenario::{phrases, Catalog, Scenario, ORG_PLACEHOLDER};

/// What the pick list and the situation card show of one call situation.
#[derive(Debug, Clone, PartialEq)]
pub struct Situation {
    pub id: String,
    pub title_zh: String,
    pub title_en: String,
    /// "incoming" or "outgoing".
    pub direction: String,
    /// 1 (easy) to 3 (hard).
    pub difficulty: u8,
    /// Who is calling and why, what the trainee should achieve.
    pub brief_zh: String,
    pub brief_en: String,
    /// What the caller says, turn by turn (zh, en gloss). An incoming call whose first turn
    /// is the trainee's greeting has an empty first caller line.
    pub caller_turns: Vec<(String, String)>,
    pub model_answer: String,
    /// Best score so far from the store, if any.
    pub best_score: Option<u8>,
}

/// How a span of the transcript is marked on the feedback screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Found,
    Banned,
    Uncertain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    Uncertain,
    NotApplicable,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    pub category: String,
    /// What the check is called for people (问好 / greeting), as review and the reports
    /// name it.
    pub name_zh: String,
    pub name_en: String,
    pub verdict: Verdict,
    pub critical: bool,
    pub message_zh: String,
    pub message_en: String,
}

/// Everything the feedback screen shows, already computed by the grader.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    /// The normalised transcript the marks point into (character offsets).
    pub transcript: String,
    pub marks: Vec<(usize, usize, Mark)>,
    pub checks: Vec<CheckRow>,
    pub score: u8,
    pub passed: bool,
    pub rings: u32,
    pub pickup_ms: u64,
    pub first_words_ms: Option<u64>,
    pub chars_per_minute: Option<f32>,
    /// Where the attempt was saved, if it was.
    pub saved_as: Option<String>,
}

/// What the microphone check's verdict shows, from the one judgement of a check
/// ([`MicCheck`]), so the screen never judges a microphone itself.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckView {
    pub passed: bool,
    /// What to change, one line per problem (zh, en); empty when it passed.
    pub advice: Vec<(String, String)>,
    /// What was measured (zh, en); None when no speech was heard.
    pub measured: Option<(String, String)>,
    /// The input device the pass is now remembered for (not asked again on it).
    pub remembered: Option<String>,
}

/// The check screen's view of a judged check.
pub fn check_view(check: &MicCheck, remembered: Option<String>) -> CheckView {
    CheckView {
        passed: check.passed(),
        advice: check.advice(),
        measured: check.heard.then(|| check.measured()),
        remembered: remembered.filter(|_| check.passed()),
    }
}

/// Situations as the pick list shows them.
pub fn situations(
    catalog: &Catalog,
    org: &str,
    best: impl Fn(&str) -> Option<u8>,
) -> Vec<Situation> {
    catalog
        .scenarios
        .iter()
        .map(|sc| situation(sc, org, best(sc.id())))
        .collect()
}

/// The calls of a certification suite, in order, each with its organisation. Scenarios the
/// catalog lacks are left out (a loaded suite names none).
pub fn exam_situations(
    catalog: &Catalog,
    calls: &[crate::scenario::ResolvedCall],
) -> Vec<Situation> {
    calls
        .iter()
        .filter_map(|c| {
            catalog
                .get(&c.scenario)
                .ok()
                .map(|sc| situation(sc, &c.org, None))
        })
        .collect()
}

fn situation(sc: &Scenario, org: &str, best_score: Option<u8>) -> Situation {
    Situation {
        id: sc.id().to_string(),
        title_zh: sc.title.zh.clone(),
        title_en: sc.title.en.clone(),
        direction: sc.direction.to_string(),
        difficulty: difficulty(sc),
        brief_zh: sc.situation.zh.clone(),
        brief_en: sc.situation.en.clone(),
        caller_turns: sc
            .caller_turns
            .iter()
            .map(|t| (t.zh.clone(), t.en.clone()))
            .collect(),
        model_answer: sc
            .model_answers
            .get_ref()
            .first()
            .map(|m| {
                phrases(&m.turns)
                    .collect::<Vec<_>>()
                    .join(" / ")
                    .replace(ORG_PLACEHOLDER, org)
            })
            .unwrap_or_default(),
        best_score,
    }
}

/// 1–3 stars: more turns and more must-say items make a harder call.
fn difficulty(sc: &Scenario) -> u8 {
    let load = sc.caller_turns.len() + sc.rubric.must_say.len();
    match load {
        0..=2 => 1,
        3..=4 => 2,
        _ => 3,
    }
}

/// The feedback screen's view of a report. Evidence on failed checks is marked as a
/// problem, on uncertain ones as uncertain, on passed ones as found.
pub fn feedback(report: &Report, pickup_ms: u64, first_turn: Option<&AudioFacts>) -> Feedback {
    let mut marks = Vec::new();
    let mut checks = Vec::new();
    let mut banned_ok = 0;
    let mut not_graded = Vec::new();
    for c in &report.checks {
        let (mark, verdict) = match c.verdict {
            Graded::Pass => (Mark::Found, Verdict::Pass),
            Graded::Fail => (Mark::Banned, Verdict::Fail),
            Graded::Uncertain => (Mark::Uncertain, Verdict::Uncertain),
            Graded::NotApplicable => (Mark::Found, Verdict::NotApplicable),
        };
        if c.verdict != Graded::NotApplicable {
            marks.extend(c.evidence.iter().map(|e| (e.start, e.end, mark)));
        }
        // What the trainee did not do is worth a row each; eleven "did not swear" rows and
        // the checks that did not apply are one row each, so the screen stays readable.
        if c.category == "banned_phrase" && c.verdict == Graded::Pass {
            banned_ok += 1;
            continue;
        }
        if c.verdict == Graded::NotApplicable {
            not_graded.push(c.id.clone());
            continue;
        }
        let name = c.display_name();
        checks.push(CheckRow {
            category: c.id.clone(),
            name_zh: name.zh,
            name_en: name.en,
            verdict,
            critical: c.critical,
            message_zh: c.message.zh.clone(),
            message_en: c.message.en.clone(),
        });
    }
    if banned_ok > 0 {
        // Beside a banned phrase that was said (or may have been), "none used" would
        // contradict the row above it.
        let said = report.checks.iter().any(|c| {
            c.category == "banned_phrase" && matches!(c.verdict, Graded::Fail | Graded::Uncertain)
        });
        let (message_zh, message_en) = if said {
            (
                format!("未使用其他服务忌语(另检查了{banned_ok}类)"),
                format!("no other banned phrase used ({banned_ok} other kinds checked)"),
            )
        } else {
            (
                format!("未使用服务忌语(检查了{banned_ok}类)"),
                format!("no banned phrase used ({banned_ok} kinds checked)"),
            )
        };
        checks.push(CheckRow {
            category: "banned_phrase".into(),
            name_zh: category_name("banned_phrase", Lang::Zh),
            name_en: category_name("banned_phrase", Lang::En),
            verdict: Verdict::Pass,
            critical: true,
            message_zh,
            message_en,
        });
    }
    if !report.readings.is_empty() {
        // What the model was asked about the words that decide checks, and its answers.
        let (zh, en): (Vec<String>, Vec<String>) = report.readings.iter().map(|r| r.note()).unzip();
        checks.push(CheckRow {
            category: "readings".into(),
            name_zh: "核对录音".into(),
            name_en: "asked the audio".into(),
            verdict: Verdict::NotApplicable,
            critical: false,
            message_zh: zh.join(";"),
            message_en: en.join("; "),
        });
    }
    if !not_graded.is_empty() {
        let list = not_graded.join(", ");
        checks.push(CheckRow {
            category: "—".into(),
            name_zh: "—".into(),
            name_en: "—".into(),
            verdict: Verdict::NotApplicable,
            critical: false,
            message_zh: format!("不适用:{list}"),
            message_en: format!("not applicable: {list}"),
        });
    }
    Feedback {
        transcript: report.normalized.clone(),
        marks,
        checks,
        score: report.score.min(100) as u8,
        passed: report.passed,
        rings: report.rings.unwrap_or(0),
        pickup_ms,
        first_words_ms: first_turn.and_then(|f| f.first_words_ms),
        chars_per_minute: report.speech_rate_cpm().map(|r| r as f32),
        saved_as: None,
    }
}
