//! Call situations and their rubrics as data: `prompts/*.toml` → typed [`Scenario`]s, the
//! shared [`Phrasebook`] (greetings, offers of help, closings, banned phrases, thresholds) and
//! the [`OrgProfile`] (default organisation name).
//!
//! This file is the format: the types, parsing and validating one file, and locating a
//! problem as file:line:col. [`catalog`] is where the files come from (built in, a prompts
//! directory). The loader never calls the grader: the checks that need it (model answers
//! passing their rubric) are `grading::lint`'s.

pub mod catalog;
pub mod suite;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::audio::ring::RingCadence;
use crate::text::normalize;

pub use catalog::{read_files, Catalog, CheckedFile, ScenarioError};
pub use suite::{parse_suite, suite_sha256, PickupRule, ResolvedCall, Suite};

/// Environment variable naming an extra prompts directory (same as `--prompts DIR`).
pub const PROMPTS_ENV: &str = "RINGCOACH_PROMPTS";
/// File name of the shared phrase book inside a prompts directory.
pub const PHRASEBOOK_FILE: &str = "phrases.toml";
/// File name of the organisation profile inside a prompts directory.
pub const ORG_FILE: &str = "org.toml";
/// Where the organisation goes in model answers.
pub const ORG_PLACEHOLDER: &str = "{org}";
/// The largest weight a check may carry: weights are shares, and beyond this one check
/// would drown every other.
pub const MAX_WEIGHT: f64 = 100.0;
/// The most times a phrase may be required.
pub const MAX_COUNT: u32 = 20;
/// Marks a gap inside a banned pattern: `有本事…投诉` (how far it reaches is the matcher's
/// business: `grading::matcher::GAP_MAX_CHARS`).
pub const GAP: char = '…';

/// A list of phrases with the span of the list and of each entry, for file:line:col problems.
pub type Phrases = Spanned<Vec<Spanned<String>>>;

/// The phrases of a list as plain strings.
pub fn phrases(list: &Phrases) -> impl Iterator<Item = &str> {
    list.get_ref().iter().map(|s| s.get_ref().as_str())
}

/// The normalised parts of a banned pattern between its [`GAP`]s. A pattern that would match
/// nothing or everything is an error saying why: nothing left once punctuation is removed,
/// or a gap without text on both sides.
pub fn pattern_parts(pattern: &str) -> Result<Vec<String>, String> {
    let parts: Vec<String> = pattern.split(GAP).map(normalize).collect();
    if parts.iter().all(|p| p.is_empty()) {
        return Err("nothing is left once punctuation and spaces are removed".into());
    }
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("a `{GAP}` gap needs text on both sides"));
    }
    Ok(parts)
}

/// Text in both languages: what the trainee reads (zh) and its gloss (en).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bilingual {
    pub zh: String,
    pub en: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The phone rings and the trainee picks up.
    Incoming,
    /// The trainee places the call.
    Outgoing,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Incoming => "incoming",
            Direction::Outgoing => "outgoing",
        })
    }
}

/// One call situation: what the trainee is told, what the caller says, how a good answer
/// sounds, and the rubric that grades the trainee's turns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: Spanned<String>,
    pub title: Bilingual,
    pub direction: Direction,
    /// The situation shown to the trainee.
    pub situation: Bilingual,
    /// What the caller says, in order (a silent caller's turn says so in words).
    #[serde(default)]
    pub caller_turns: Vec<Bilingual>,
    /// Answers drawn from the seed; `{org}` stands for the organisation. Each must pass.
    pub model_answers: Spanned<Vec<ModelAnswer>>,
    pub rubric: Rubric,
    /// The file it was read from and its text, for locating problems found later.
    #[serde(skip)]
    pub file: String,
    #[serde(skip)]
    pub source: String,
}

impl Scenario {
    pub fn id(&self) -> &str {
        self.id.get_ref()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelAnswer {
    /// The trainee's turns of a good call, in order.
    pub turns: Phrases,
}

/// Which phrase-book group a closing needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClosingPart {
    Thanks,
    Goodbye,
}

/// What is graded. Opening checks look at the first trainee turn, closing at the last,
/// everything else at all turns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rubric {
    /// Picked up within the phone book's `max_rings`; later → must open with an apology.
    #[serde(default)]
    pub rings: bool,
    /// Opens with 您好 (or a time-of-day greeting).
    #[serde(default)]
    pub greeting: bool,
    /// Names the organisation.
    #[serde(default)]
    pub organisation: bool,
    /// Offers help.
    #[serde(default)]
    pub offer_help: bool,
    /// Greeting → organisation → offer of help, in that order.
    #[serde(default)]
    pub opening_order: bool,
    /// Politeness words that must each be used at least once.
    #[serde(default)]
    pub politeness: Option<Phrases>,
    /// What the last turn must contain.
    #[serde(default)]
    pub closing: Vec<ClosingPart>,
    /// Manner-of-speaking checks from audio facts (first words, rate, volume, clipping).
    #[serde(default = "yes")]
    pub manner: bool,
    /// Score (0–100) at or above which the attempt passes; default from the phrase book.
    #[serde(default)]
    pub pass_mark: Option<f64>,
    /// Things this situation requires the trainee to say.
    #[serde(default)]
    pub must_say: Vec<MustSay>,
    /// Banned phrases that apply only to this situation, on top of the phrase book's.
    #[serde(default)]
    pub banned: Vec<BannedFamily>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MustSay {
    pub id: Spanned<String>,
    /// Shown when it is missing: what should have been said.
    pub zh: String,
    pub en: String,
    /// Any one of these counts.
    pub phrases: Phrases,
    #[serde(default = "one")]
    pub weight: f64,
    #[serde(default)]
    pub critical: bool,
    /// How many times it must be said (the silent call repeats its opening).
    #[serde(default = "one_time")]
    pub count: u32,
}

fn one_time() -> u32 {
    1
}

fn one() -> f64 {
    1.0
}

/// One family of 服务忌语: patterns that must not be said, and contexts that excuse them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BannedFamily {
    pub id: Spanned<String>,
    pub zh: String,
    pub en: String,
    /// Exact phrases; a [`GAP`] (`…`) bridges a short gap (see [`pattern_parts`]).
    pub patterns: Phrases,
    /// A pattern found inside one of these contexts is not flagged (喂 inside 喂养).
    #[serde(default)]
    pub unless: Option<Phrases>,
    #[serde(default = "yes")]
    pub critical: bool,
}

/// A group of accepted phrases and the look-alikes that must not be accepted for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhraseGroup {
    pub phrases: Phrases,
    /// Said instead of a phrase, these fail the check with evidence (你好 for 您好).
    #[serde(default)]
    pub reject: Option<Phrases>,
}

/// Numbers the checks use. Every one has a default so a phrase book may omit them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub max_rings: u32,
    /// The ring cadence, the one source of it: practice rings with it and the grader counts
    /// `--pickup-ms` in rings with it (see [`Settings::ring_cadence`]).
    pub ring_on_ms: u64,
    pub ring_off_ms: u64,
    /// The greeting must start within this many characters of the turn (after any apology).
    pub opening_window_chars: usize,
    /// A late-pickup apology must start within this many characters of the turn.
    pub apology_window_chars: usize,
    /// Evidence resting on a token with p below this is `uncertain`.
    pub low_probability: f32,
    /// Homophone and near matching apply to phrases at least this long (shorter: exact only).
    pub fuzzy_min_chars: usize,
    /// Syllable similarity (0–1) from which a non-exact match is reported as `uncertain`.
    pub near_similarity: f64,
    pub first_words_max_ms: u64,
    /// Speech rate band in characters per minute of voiced time.
    pub rate_min_cpm: f64,
    pub rate_max_cpm: f64,
    pub min_loudness_dbfs: f32,
    pub max_clipped_fraction: f32,
    pub pass_mark: f64,
    /// Share of a check's weight an `uncertain` verdict earns.
    pub uncertain_credit: f64,
}

impl Settings {
    /// When the phone rings, for the ringer and for the grader's ring count alike.
    pub fn ring_cadence(&self) -> RingCadence {
        RingCadence::timed(self.ring_on_ms, self.ring_off_ms)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_rings: 3,
            ring_on_ms: RingCadence::MAINLAND_CHINA.on_ms,
            ring_off_ms: RingCadence::MAINLAND_CHINA.off_ms,
            opening_window_chars: 8,
            apology_window_chars: 3,
            low_probability: 0.4,
            fuzzy_min_chars: 4,
            near_similarity: 0.75,
            first_words_max_ms: 3000,
            rate_min_cpm: 150.0,
            rate_max_cpm: 330.0,
            min_loudness_dbfs: -35.0,
            max_clipped_fraction: 0.001,
            pass_mark: 70.0,
            uncertain_credit: 0.5,
        }
    }
}

/// Weights of the checks by category (must-say items carry their own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    pub rings: f64,
    pub late_apology: f64,
    pub greeting: f64,
    pub organisation: f64,
    pub offer_help: f64,
    pub opening_order: f64,
    pub politeness: f64,
    pub banned_phrase: f64,
    pub fillers: f64,
    pub closing: f64,
    pub first_words: f64,
    pub speech_rate: f64,
    pub loudness: f64,
    pub clipping: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            rings: 1.0,
            late_apology: 1.0,
            greeting: 1.0,
            organisation: 1.0,
            offer_help: 1.0,
            opening_order: 1.0,
            politeness: 1.0,
            // Banned phrases gate the attempt (critical) rather than add to the score:
            // otherwise saying nothing would earn points for not saying anything rude.
            banned_phrase: 0.0,
            fillers: 0.5,
            closing: 1.0,
            first_words: 0.5,
            speech_rate: 0.5,
            loudness: 0.5,
            clipping: 0.5,
        }
    }
}

/// The shared phrase book: what counts as a greeting, an offer of help, a closing; the
/// banned phrases; the numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phrasebook {
    #[serde(default)]
    pub settings: Settings,
    #[serde(default)]
    pub weights: Weights,
    pub greeting: PhraseGroup,
    pub late_apology: PhraseGroup,
    pub offer_help: PhraseGroup,
    pub thanks: PhraseGroup,
    pub goodbye: PhraseGroup,
    pub fillers: BannedFamily,
    pub banned: Vec<BannedFamily>,
}

/// The organisation profile: the name used when `--org` is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgProfile {
    pub name: String,
}

/// A problem in a scenario file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

/// Parses and validates one scenario file.
pub fn parse_scenario(file: &str, src: &str) -> Result<Scenario, Vec<Problem>> {
    let mut sc: Scenario = toml::from_str(src).map_err(|e| vec![toml_problem(file, src, &e)])?;
    sc.file = file.to_string();
    sc.source = src.to_string();
    let mut v = Validator {
        file,
        src,
        problems: Vec::new(),
    };
    v.id(&sc.id, "scenario id");
    if sc.model_answers.get_ref().is_empty() {
        v.at(
            sc.model_answers.span(),
            "`model_answers` is empty: give at least one answer from the seed".into(),
        );
    }
    for a in sc.model_answers.get_ref() {
        v.list(&a.turns, "model answer turns", true);
    }
    let r = &sc.rubric;
    if let Some(p) = &r.politeness {
        v.list(p, "politeness", false);
    }
    for m in &r.must_say {
        v.id(&m.id, "must_say id");
        v.list(&m.phrases, "must_say phrases", false);
        v.weight(m.weight, &m.id);
        if !(1..=MAX_COUNT).contains(&m.count) {
            v.at(
                m.id.span(),
                format!(
                    "`count` of `{}` is {}: it must be said 1 to {MAX_COUNT} times",
                    m.id.get_ref(),
                    m.count
                ),
            );
        }
    }
    for b in &r.banned {
        v.family(b);
    }
    if let Some(mark) = r.pass_mark {
        v.number(
            &["rubric", "pass_mark"],
            mark,
            0.0..=100.0,
            "a score out of 100",
        );
    }
    if v.problems.is_empty() {
        Ok(sc)
    } else {
        Err(v.problems)
    }
}

/// Parses and validates the phrase book.
pub fn parse_phrasebook(file: &str, src: &str) -> Result<Phrasebook, Vec<Problem>> {
    let b: Phrasebook = toml::from_str(src).map_err(|e| vec![toml_problem(file, src, &e)])?;
    let mut v = Validator {
        file,
        src,
        problems: Vec::new(),
    };
    for (name, g) in [
        ("greeting", &b.greeting),
        ("late_apology", &b.late_apology),
        ("offer_help", &b.offer_help),
        ("thanks", &b.thanks),
        ("goodbye", &b.goodbye),
    ] {
        v.list(&g.phrases, name, false);
        if let Some(r) = &g.reject {
            v.list(r, name, false);
        }
    }
    v.family(&b.fillers);
    let mut ids = BTreeMap::new();
    for f in &b.banned {
        v.family(f);
        if ids.insert(f.id.get_ref().clone(), ()).is_some() {
            v.at(
                f.id.span(),
                format!("duplicate banned family id `{}`", f.id.get_ref()),
            );
        }
    }
    v.settings(&b.settings);
    v.weights(&b.weights);
    if v.problems.is_empty() {
        Ok(b)
    } else {
        Err(v.problems)
    }
}

/// Parses the organisation profile.
pub fn parse_org(file: &str, src: &str) -> Result<OrgProfile, Vec<Problem>> {
    let o: OrgProfile = toml::from_str(src).map_err(|e| vec![toml_problem(file, src, &e)])?;
    if normalize(&o.name).is_empty() {
        return Err(vec![problem_at(
            file,
            src,
            0..0,
            "`name` is empty: give the organisation's name".into(),
        )]);
    }
    Ok(o)
}

struct Validator<'a> {
    file: &'a str,
    src: &'a str,
    problems: Vec<Problem>,
}

impl Validator<'_> {
    fn at(&mut self, span: Range<usize>, message: String) {
        self.problems
            .push(problem_at(self.file, self.src, span, message));
    }

    fn id(&mut self, id: &Spanned<String>, what: &str) {
        let s = id.get_ref();
        if s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            self.at(
                id.span(),
                format!("{what} `{s}` must be lowercase ASCII letters, digits and `-`"),
            );
        }
    }

    fn weight(&mut self, w: f64, id: &Spanned<String>) {
        if !(w.is_finite() && (0.0..=MAX_WEIGHT).contains(&w)) {
            self.at(
                id.span(),
                format!(
                    "weight of `{}` is {w}: it must be a number from 0 to {MAX_WEIGHT}",
                    id.get_ref()
                ),
            );
        }
    }

    /// A problem at the value of `path` (its default applies when absent: line 1).
    fn at_key(&mut self, path: &[&str], message: String) {
        let span = crate::input::toml_value_span(self.src, path).unwrap_or(0..0);
        self.at(span, message);
    }

    /// A number must be finite and within `range`; `meaning` says what it is.
    fn number(
        &mut self,
        path: &[&str],
        value: f64,
        range: std::ops::RangeInclusive<f64>,
        meaning: &str,
    ) {
        if !(value.is_finite() && range.contains(&value)) {
            self.at_key(
                path,
                format!(
                    "`{}` is {value}: it must be a number from {} to {} ({meaning})",
                    path.join("."),
                    range.start(),
                    range.end()
                ),
            );
        }
    }

    /// Every number of the phrase book's `[settings]` in the range where it means something:
    /// a NaN pass mark or a zero ring limit would grade every answer wrong, silently.
    fn settings(&mut self, s: &Settings) {
        let k = |key: &'static str| ["settings", key];
        let n = |x: u64| x as f64;
        self.number(
            &k("max_rings"),
            f64::from(s.max_rings),
            1.0..=20.0,
            "rings before the pickup counts as late",
        );
        self.number(
            &k("ring_on_ms"),
            n(s.ring_on_ms),
            100.0..=10_000.0,
            "milliseconds of tone per ring",
        );
        self.number(
            &k("ring_off_ms"),
            n(s.ring_off_ms),
            0.0..=20_000.0,
            "milliseconds of silence between rings",
        );
        self.number(
            &k("opening_window_chars"),
            s.opening_window_chars as f64,
            1.0..=200.0,
            "characters",
        );
        self.number(
            &k("apology_window_chars"),
            s.apology_window_chars as f64,
            1.0..=200.0,
            "characters",
        );
        self.number(
            &k("low_probability"),
            f64::from(s.low_probability),
            0.0..=1.0,
            "a token probability",
        );
        self.number(
            &k("fuzzy_min_chars"),
            s.fuzzy_min_chars as f64,
            1.0..=50.0,
            "characters",
        );
        self.number(
            &k("near_similarity"),
            s.near_similarity,
            0.0..=1.0,
            "a similarity",
        );
        self.number(
            &k("first_words_max_ms"),
            n(s.first_words_max_ms),
            100.0..=60_000.0,
            "milliseconds",
        );
        self.number(
            &k("rate_min_cpm"),
            s.rate_min_cpm,
            1.0..=2_000.0,
            "characters per minute",
        );
        self.number(
            &k("rate_max_cpm"),
            s.rate_max_cpm,
            1.0..=2_000.0,
            "characters per minute",
        );
        if s.rate_min_cpm > s.rate_max_cpm {
            self.at_key(
                &k("rate_min_cpm"),
                format!(
                    "`settings.rate_min_cpm` ({}) is above `settings.rate_max_cpm` ({}): no pace could pass",
                    s.rate_min_cpm, s.rate_max_cpm
                ),
            );
        }
        self.number(
            &k("min_loudness_dbfs"),
            f64::from(s.min_loudness_dbfs),
            -120.0..=0.0,
            "dBFS",
        );
        self.number(
            &k("max_clipped_fraction"),
            f64::from(s.max_clipped_fraction),
            0.0..=1.0,
            "a fraction",
        );
        self.number(
            &k("pass_mark"),
            s.pass_mark,
            0.0..=100.0,
            "a score out of 100",
        );
        self.number(
            &k("uncertain_credit"),
            s.uncertain_credit,
            0.0..=1.0,
            "a share of a check's weight",
        );
        if s.ring_on_ms > 0 {
            if let Err(e) = s.ring_cadence().validate() {
                self.at_key(
                    &k("ring_on_ms"),
                    format!("`settings.ring_on_ms` / `ring_off_ms`: {e}"),
                );
            }
        }
    }

    fn weights(&mut self, w: &Weights) {
        for (key, value) in [
            ("rings", w.rings),
            ("late_apology", w.late_apology),
            ("greeting", w.greeting),
            ("organisation", w.organisation),
            ("offer_help", w.offer_help),
            ("opening_order", w.opening_order),
            ("politeness", w.politeness),
            ("banned_phrase", w.banned_phrase),
            ("fillers", w.fillers),
            ("closing", w.closing),
            ("first_words", w.first_words),
            ("speech_rate", w.speech_rate),
            ("loudness", w.loudness),
            ("clipping", w.clipping),
        ] {
            self.number(
                &["weights", key],
                value,
                0.0..=MAX_WEIGHT,
                "a check's weight",
            );
        }
    }

    /// A phrase list must be non-empty and each entry must normalise to something;
    /// `…` gaps are allowed only in banned patterns (`gaps`), `{org}` only in model answers.
    fn list(&mut self, list: &Phrases, what: &str, answers: bool) {
        if list.get_ref().is_empty() {
            self.at(
                list.span(),
                format!("`{what}` is an empty list: add at least one phrase or remove the key"),
            );
        }
        for p in list.get_ref() {
            let text = if answers {
                p.get_ref().replace(ORG_PLACEHOLDER, "机构")
            } else {
                p.get_ref().clone()
            };
            if normalize(&text).is_empty() {
                self.at(p.span(), format!("`{what}` entry {:?} has no letters or characters once punctuation is removed", p.get_ref()));
            } else if !answers && p.get_ref().contains(['{', '}']) {
                self.at(
                    p.span(),
                    format!(
                        "`{what}` entry {:?}: `{{…}}` placeholders belong in model answers only",
                        p.get_ref()
                    ),
                );
            }
        }
    }

    fn family(&mut self, f: &BannedFamily) {
        self.id(&f.id, "banned family id");
        if f.patterns.get_ref().is_empty() {
            self.at(
                f.patterns.span(),
                format!(
                    "`patterns` of `{}` is an empty list: add a pattern",
                    f.id.get_ref()
                ),
            );
        }
        for p in f.patterns.get_ref() {
            if let Err(why) = pattern_parts(p.get_ref()) {
                self.at(
                    p.span(),
                    format!(
                        "invalid pattern {:?} in `{}`: {why}",
                        p.get_ref(),
                        f.id.get_ref()
                    ),
                );
            }
        }
        if let Some(unless) = &f.unless {
            self.list(unless, "unless", false);
            for u in unless.get_ref() {
                let nu = normalize(u.get_ref());
                let covers = f.patterns.get_ref().iter().any(|p| {
                    pattern_parts(p.get_ref())
                        .is_ok_and(|parts| parts.first().is_some_and(|part| nu.contains(part)))
                });
                if !nu.is_empty() && !covers {
                    self.at(
                        u.span(),
                        format!("`unless` context {:?} contains none of `{}`'s patterns, so it can never excuse one", u.get_ref(), f.id.get_ref()),
                    );
                }
            }
        }
    }
}

fn toml_problem(file: &str, src: &str, e: &toml::de::Error) -> Problem {
    let span = e.span().unwrap_or(0..0);
    problem_at(file, src, span, e.message().trim().replace('\n', " "))
}

/// A problem at byte offset `span.start` of `src`, located as file:line:col.
pub fn problem_at(file: &str, src: &str, span: Range<usize>, message: String) -> Problem {
    let (line, col) = line_col(src, span.start);
    Problem {
        file: file.to_string(),
        line,
        col,
        message,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// SHA-256 (hex) of the canonical bytes of everything that decides a verdict for this
/// scenario: its rubric and the phrase book (compact JSON in declaration order).
pub fn rubric_sha256(sc: &Scenario, book: &Phrasebook) -> String {
    #[derive(Serialize)]
    struct Canonical<'a> {
        scenario: &'a str,
        rubric: &'a Rubric,
        phrasebook: &'a Phrasebook,
    }
    let bytes = serde_json::to_vec(&Canonical {
        scenario: sc.id(),
        rubric: &sc.rubric,
        phrasebook: book,
    })
    .expect("rubric types serialise to JSON");
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\n您好x", 3 + 6), (2, 3));
        assert_eq!(line_col("", 5), (1, 1));
    }

    #[test]
    fn unknown_key_is_located() {
        let src = "id = \"x\"\ncolour = 1\n";
        let e = parse_scenario("f.toml", src).unwrap_err();
        assert_eq!((e[0].line, e[0].col), (2, 1), "{e:?}");
    }
}
