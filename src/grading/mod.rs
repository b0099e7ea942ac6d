//! Grading: pure. A scenario's rubric + the phrase book + what the trainee said (text, and
//! optionally token probabilities and audio facts per turn) → a [`Report`]. No I/O, no clock.
//!
//! Matching policy (what "survives speech recognition" means here):
//! - identical characters after normalisation → `pass`;
//! - identical toneless pinyin (光力物业 for 广利物业) or a near miss by syllable edit distance
//!   → `uncertain`, with the span as evidence: likely right, but a person should listen;
//! - phrases shorter than `fuzzy_min_chars` (您好, 请, 喂) match exactly only, because their
//!   homophones are everyday words (为 sounds like 喂) and 你好 must not pass for 您好;
//! - evidence resting on tokens the model gave p < `low_probability` → `uncertain`.
//!
//! Banned phrases are matched exactly (plus homophones of long ones → `uncertain`) and are
//! excused by `unless` contexts that contain them (您想知道 is not 不知道-as-an-answer).

pub mod call;
pub mod matcher;
pub mod normalize;
pub mod report;

use std::ops::Range;

pub use call::{Call, EmptyOrg, Heard, Org};
pub use report::{render_text, Check, Evidence, Message, Report, TurnReport, Verdict};

use crate::audio::facts::AudioFacts;
use crate::scenario::{
    phrases, rubric_sha256, BannedFamily, ClosingPart, ModelAnswer, OrgProfile, PhraseGroup,
    Phrasebook, Phrases, Scenario, ORG_PLACEHOLDER,
};
use crate::transcribe::Token;
use matcher::{best, exact_all, Fuzzy, Hit, Kind, Pattern, Phrase, Text};
use normalize::normalize;

/// Where the organisation name came from; the report says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OrgSource {
    /// `--org` (or the practice settings).
    #[serde(rename = "--org")]
    Given,
    /// The org profile's default, because none was given.
    #[serde(rename = "default profile")]
    DefaultProfile,
}

impl OrgSource {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgSource::Given => "--org",
            OrgSource::DefaultProfile => "default profile",
        }
    }
}

/// When the trainee picked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pickup {
    Unknown,
    /// After this many rings.
    Rings(u32),
    /// This long after the first ring started; the ring cadence turns it into rings.
    AfterMs(u64),
}

/// One trainee turn as heard.
#[derive(Debug, Clone, Copy)]
pub struct Turn<'a> {
    pub text: &'a str,
    pub tokens: Option<&'a [Token]>,
    pub facts: Option<&'a AudioFacts>,
}

impl<'a> Turn<'a> {
    pub fn text(text: &'a str) -> Turn<'a> {
        Turn {
            text,
            tokens: None,
            facts: None,
        }
    }
}

/// Everything grading needs besides the rubric. The opening is graded on the first turn,
/// the closing on the last, everything else on all of them.
#[derive(Debug, Clone)]
pub struct GradeInput<'a> {
    pub turns: Vec<Turn<'a>>,
    pub pickup: Pickup,
    pub org: &'a str,
    pub org_source: OrgSource,
}

/// Characters per minute of voiced time over `(characters, voiced ms)` per turn; None when
/// nothing was voiced or said. The speech-rate check and every screen that shows a rate use
/// this, so the number on screen is the number that was graded.
pub fn speech_rate_cpm(turns: impl IntoIterator<Item = (usize, u64)>) -> Option<f64> {
    let (chars, ms) = turns
        .into_iter()
        .fold((0usize, 0u64), |(c, m), (tc, tm)| (c + tc, m + tm));
    (chars > 0 && ms > 0).then(|| chars as f64 * 60_000.0 / ms as f64)
}

/// Rings heard before pickup `ms` after the first ring began: a ring counts once it starts.
/// The same arithmetic the ringer uses ([`crate::audio::ring::RingCadence`]), so a pickup time
/// from the command line and one from the practice screen count alike.
pub fn rings_for_pickup(ms: u64, ring_on_ms: u64, ring_off_ms: u64) -> u32 {
    crate::audio::ring::RingCadence {
        on_ms: ring_on_ms,
        off_ms: ring_off_ms,
        ..crate::audio::ring::RingCadence::MAINLAND_CHINA
    }
    .rings_at_pickup(ms)
}

struct TurnText {
    raw: String,
    norm: String,
    text: Text,
    offset: usize,
    facts: Option<AudioFacts>,
}

struct Ctx<'a> {
    book: &'a Phrasebook,
    turns: Vec<TurnText>,
    fuzzy: Fuzzy,
    checks: Vec<Check>,
}

fn msg(zh: impl Into<String>, en: impl Into<String>) -> Message {
    Message {
        zh: zh.into(),
        en: en.into(),
    }
}

fn compile(list: &Phrases) -> Vec<Phrase> {
    phrases(list)
        .map(Phrase::new)
        .filter(|p| !p.is_empty())
        .collect()
}

impl Ctx<'_> {
    fn evidence(&self, turn: usize, r: Range<usize>) -> Evidence {
        let t = &self.turns[turn];
        Evidence {
            text: t.text.slice(r.clone()),
            start: t.offset + r.start,
            end: t.offset + r.end,
            turn,
        }
    }

    /// Whether the model was unsure of the characters in `r`: returns the lowest p if so.
    fn shaky(&self, turn: usize, r: Range<usize>) -> Option<f32> {
        let p = self.turns[turn].text.min_p(r)?;
        (p < self.book.settings.low_probability).then_some(p)
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        id: &str,
        category: &str,
        verdict: Verdict,
        weight: f64,
        critical: bool,
        evidence: Vec<Evidence>,
        message: Message,
    ) {
        self.checks.push(Check {
            id: id.into(),
            category: category.into(),
            verdict,
            weight,
            critical,
            evidence,
            message,
        });
    }

    /// A found phrase's verdict: exact and confident → pass; otherwise uncertain, saying why.
    fn found(&self, turn: usize, h: &Hit, wanted: &str) -> (Verdict, String, String) {
        let heard = self.turns[turn].text.slice(h.start..h.end);
        if let Some(p) = self.shaky(turn, h.start..h.end) {
            return (
                Verdict::Uncertain,
                format!("识别置信度低(p={p:.2}),请回听:「{heard}」"),
                format!("the recogniser was unsure (p={p:.2}); listen to 「{heard}」"),
            );
        }
        match h.kind {
            Kind::Exact => (Verdict::Pass, format!("说了「{heard}」"), format!("said 「{heard}」")),
            Kind::Homophone => (
                Verdict::Uncertain,
                format!("听到「{heard}」,与「{wanted}」同音,可能是识别误差,请回听"),
                format!("heard 「{heard}」, a homophone of 「{wanted}」 (likely a recognition error); listen to confirm"),
            ),
            Kind::Near => (
                Verdict::Uncertain,
                format!("听到「{heard}」,接近「{wanted}」(相似度{:.0}%),请回听", h.similarity * 100.0),
                format!("heard 「{heard}」, close to 「{wanted}」 ({:.0}% similar); listen to confirm", h.similarity * 100.0),
            ),
        }
    }

    /// The best match of any phrase over all turns.
    fn best_anywhere(&self, list: &[Phrase]) -> Option<(usize, Hit)> {
        let mut out: Option<(usize, Hit)> = None;
        for (i, t) in self.turns.iter().enumerate() {
            if let Some(h) = best(&t.text, list, self.fuzzy, 0..t.text.len()) {
                if out.as_ref().is_none_or(|(_, b)| h.kind < b.kind) {
                    out = Some((i, h));
                }
            }
        }
        out
    }

    fn is_empty(&self) -> bool {
        self.turns.iter().all(|t| t.text.is_empty())
    }
}

/// Grades what the trainee said against a scenario's rubric.
pub fn grade(sc: &Scenario, book: &Phrasebook, input: &GradeInput) -> Report {
    let s = &book.settings;
    let w = &book.weights;
    let r = &sc.rubric;
    let mut turns = Vec::new();
    let mut offset = 0;
    let given: Vec<Turn> = if input.turns.is_empty() {
        vec![Turn::text("")]
    } else {
        input.turns.clone()
    };
    for t in &given {
        let norm = normalize(t.text);
        let text = Text::new(&norm, t.tokens);
        let len = text.len();
        turns.push(TurnText {
            raw: t.text.to_string(),
            norm,
            text,
            offset,
            facts: t.facts.cloned(),
        });
        offset += len;
    }
    let mut cx = Ctx {
        book,
        turns,
        fuzzy: Fuzzy {
            min_chars: s.fuzzy_min_chars,
            near: s.near_similarity,
        },
        checks: Vec::new(),
    };
    let rings = match input.pickup {
        Pickup::Unknown => None,
        Pickup::Rings(n) => Some(n),
        Pickup::AfterMs(ms) => Some(rings_for_pickup(ms, s.ring_on_ms, s.ring_off_ms)),
    };
    let last = cx.turns.len() - 1;

    // --- opening (first turn) ---
    let window = s.opening_window_chars;
    let apology = compile(&book.late_apology.phrases);
    let apology_hit = best(
        &cx.turns[0].text,
        &apology,
        cx.fuzzy,
        0..s.apology_window_chars,
    );
    if r.rings {
        rings_checks(&mut cx, rings, apology_hit.as_ref());
    }
    let greet_from = apology_hit.as_ref().map_or(0, |h| h.end);
    let mut order: Vec<(&str, Hit)> = Vec::new();
    if r.greeting {
        if let Some(h) = greeting_check(&mut cx, &book.greeting, greet_from..greet_from + window) {
            order.push(("greeting", h));
        }
    }
    if r.organisation {
        let org = [Phrase::new(input.org)];
        let t0 = &cx.turns[0].text;
        match best(t0, &org, cx.fuzzy, 0..t0.len()) {
            Some(h) => {
                let (v, zh, en) = cx.found(0, &h, input.org);
                let ev = vec![cx.evidence(0, h.start..h.end)];
                cx.push(
                    "organisation",
                    "organisation",
                    v,
                    w.organisation,
                    false,
                    ev,
                    msg(
                        format!("报单位:{zh}"),
                        format!("names the organisation: {en}"),
                    ),
                );
                order.push(("organisation", h));
            }
            None => cx.push(
                "organisation",
                "organisation",
                Verdict::Fail,
                w.organisation,
                false,
                vec![],
                msg(
                    format!("没有报单位「{}」", input.org),
                    format!("does not name the organisation 「{}」", input.org),
                ),
            ),
        }
    }
    if r.offer_help {
        let offers = compile(&book.offer_help.phrases);
        let t0 = &cx.turns[0].text;
        match best(t0, &offers, cx.fuzzy, 0..t0.len()) {
            Some(h) => {
                let (v, zh, en) = cx.found(0, &h, &offers[h.phrase].text);
                let ev = vec![cx.evidence(0, h.start..h.end)];
                cx.push(
                    "offer_help",
                    "offer_help",
                    v,
                    w.offer_help,
                    false,
                    ev,
                    msg(format!("问候语:{zh}"), format!("offers help: {en}")),
                );
                order.push(("offer_help", h));
            }
            None => cx.push(
                "offer_help",
                "offer_help",
                Verdict::Fail,
                w.offer_help,
                false,
                vec![],
                msg(
                    "没有询问来电目的(如「请问有什么可以帮您」)",
                    "does not offer help (e.g. 请问有什么可以帮您)",
                ),
            ),
        }
    }
    if r.opening_order {
        order_check(&mut cx, &order);
    }

    // --- all turns ---
    if let Some(words) = &r.politeness {
        politeness_check(&mut cx, words);
    }
    for fam in book.banned.iter().chain(r.banned.iter()) {
        banned_check(&mut cx, fam, "banned_phrase", w.banned_phrase);
    }
    banned_check(&mut cx, &book.fillers, "fillers", w.fillers);

    // --- closing (last turn) ---
    if !r.closing.is_empty() {
        closing_check(&mut cx, &r.closing, last);
    }
    for m in &r.must_say {
        let list = compile(&m.phrases);
        let id = format!("must_say:{}", m.id.get_ref());
        if m.count > 1 {
            repeated_check(&mut cx, m, &list, &id);
            continue;
        }
        match cx.best_anywhere(&list) {
            Some((t, h)) => {
                let (v, zh, en) = cx.found(t, &h, &list[h.phrase].text);
                let ev = vec![cx.evidence(t, h.start..h.end)];
                cx.push(
                    &id,
                    "must_say",
                    v,
                    m.weight,
                    m.critical,
                    ev,
                    msg(format!("{}:{zh}", m.zh), format!("{}: {en}", m.en)),
                );
            }
            None => cx.push(
                &id,
                "must_say",
                Verdict::Fail,
                m.weight,
                m.critical,
                vec![],
                msg(format!("缺少:{}", m.zh), format!("missing: {}", m.en)),
            ),
        }
    }
    if r.manner {
        manner_checks(&mut cx);
    }

    let checks = std::mem::take(&mut cx.checks);
    let (mut num, mut den) = (0.0, 0.0);
    for c in &checks {
        let credit = match c.verdict {
            Verdict::Pass => 1.0,
            Verdict::Uncertain => s.uncertain_credit,
            Verdict::Fail => 0.0,
            Verdict::NotApplicable => continue,
        };
        num += c.weight * credit;
        den += c.weight;
    }
    let score = if den > 0.0 {
        (100.0 * num / den).round().clamp(0.0, 100.0) as u32
    } else {
        0
    };
    let pass_mark = r.pass_mark.unwrap_or(s.pass_mark);
    let critical_fail = checks
        .iter()
        .any(|c| c.critical && c.verdict == Verdict::Fail);
    let passed = !critical_fail && f64::from(score) >= pass_mark;
    let turns: Vec<TurnReport> = cx
        .turns
        .iter()
        .map(|t| TurnReport {
            transcript: t.raw.clone(),
            normalized: t.norm.clone(),
            start: t.offset,
            end: t.offset + t.text.len(),
            audio: t.facts.clone(),
        })
        .collect();
    Report {
        scenario: sc.id().to_string(),
        org: input.org.to_string(),
        org_source: input.org_source,
        transcript: cx
            .turns
            .iter()
            .map(|t| t.raw.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        normalized: cx.turns.iter().map(|t| t.norm.as_str()).collect(),
        score,
        passed,
        rubric_sha256: rubric_sha256(sc, book),
        rings,
        checks,
        turns,
    }
}

/// Grades a model answer as a perfect trainee would deliver it: picked up on the first ring,
/// the profile's organisation in place of `{org}`.
pub fn grade_model_answer(
    sc: &Scenario,
    book: &Phrasebook,
    org: &OrgProfile,
    answer: &ModelAnswer,
) -> Report {
    let texts: Vec<String> = phrases(&answer.turns)
        .map(|t| t.replace(ORG_PLACEHOLDER, &org.name))
        .collect();
    let input = GradeInput {
        turns: texts.iter().map(|t| Turn::text(t)).collect(),
        pickup: Pickup::Rings(1),
        org: &org.name,
        org_source: OrgSource::DefaultProfile,
    };
    grade(sc, book, &input)
}

fn rings_checks(cx: &mut Ctx, rings: Option<u32>, apology: Option<&Hit>) {
    let w = &cx.book.weights;
    let max = cx.book.settings.max_rings;
    let (wr, wa) = (w.rings, w.late_apology);
    let Some(n) = rings else {
        let m = msg(
            "未提供响铃次数(--rings 或 --pickup-ms)",
            "ring count not given (--rings or --pickup-ms)",
        );
        cx.push(
            "rings",
            "rings",
            Verdict::NotApplicable,
            wr,
            false,
            vec![],
            m.clone(),
        );
        cx.push(
            "late_apology",
            "late_apology",
            Verdict::NotApplicable,
            wa,
            false,
            vec![],
            m,
        );
        return;
    };
    if cx.turns[0].text.is_empty() {
        // Picking up without a word is not answering.
        let m = msg(
            format!("第{n}声铃响接起,但没有说话"),
            format!("picked up on ring {n} but said nothing"),
        );
        cx.push(
            "rings",
            "rings",
            Verdict::Fail,
            wr,
            false,
            vec![],
            m.clone(),
        );
        let v = if n <= max {
            Verdict::NotApplicable
        } else {
            Verdict::Fail
        };
        cx.push("late_apology", "late_apology", v, wa, false, vec![], m);
        return;
    }
    if n <= max {
        cx.push(
            "rings",
            "rings",
            Verdict::Pass,
            wr,
            false,
            vec![],
            msg(
                format!("第{n}声铃响接听,在{max}声之内"),
                format!("picked up on ring {n}, within {max}"),
            ),
        );
        cx.push(
            "late_apology",
            "late_apology",
            Verdict::NotApplicable,
            wa,
            false,
            vec![],
            msg("及时接听,无需致歉", "picked up in time; no apology needed"),
        );
        return;
    }
    cx.push(
        "rings",
        "rings",
        Verdict::Fail,
        wr,
        false,
        vec![],
        msg(
            format!("第{n}声铃响才接听,应在{max}声之内"),
            format!("picked up on ring {n}; answer within {max} rings"),
        ),
    );
    match apology {
        Some(h) => {
            let (v, zh, en) = cx.found(0, h, "对不起,让您久等了");
            let ev = vec![cx.evidence(0, h.start..h.end)];
            cx.push(
                "late_apology",
                "late_apology",
                v,
                wa,
                false,
                ev,
                msg(
                    format!("超过{max}声接听,先致歉:{zh}"),
                    format!("late pickup, apologised first: {en}"),
                ),
            );
        }
        None => cx.push(
            "late_apology",
            "late_apology",
            Verdict::Fail,
            wa,
            false,
            vec![],
            msg(
                format!("超过{max}声才接听,应先说「对不起,让您久等了」"),
                format!("picked up after {max} rings: open with an apology (对不起,让您久等了)"),
            ),
        ),
    }
}

fn greeting_check(cx: &mut Ctx, g: &PhraseGroup, window: Range<usize>) -> Option<Hit> {
    let wt = cx.book.weights.greeting;
    let list = compile(&g.phrases);
    let t0 = &cx.turns[0].text;
    if let Some(h) = best(t0, &list, cx.fuzzy, window.clone()) {
        let (v, zh, en) = cx.found(0, &h, &list[h.phrase].text);
        let ev = vec![cx.evidence(0, h.start..h.end)];
        cx.push(
            "greeting",
            "greeting",
            v,
            wt,
            false,
            ev,
            msg(
                format!("以问好开头:{zh}"),
                format!("opens with a greeting: {en}"),
            ),
        );
        return Some(h);
    }
    let rejects = g.reject.as_ref().map(compile).unwrap_or_default();
    let mut said: Vec<Range<usize>> = rejects
        .iter()
        .flat_map(|p| exact_all(t0, p))
        .filter(|r| window.contains(&r.start))
        .collect();
    if !said.is_empty() {
        said.sort_by_key(|r| r.start);
        let ev: Vec<Evidence> = said.iter().map(|r| cx.evidence(0, r.clone())).collect();
        let said: String = ev.iter().map(|e| format!("「{}」", e.text)).collect();
        let (zh, en) = (
            format!("{said}不是规范问候语,应说「您好」"),
            format!("{said} is not the service greeting: say 您好"),
        );
        cx.push(
            "greeting",
            "greeting",
            Verdict::Fail,
            wt,
            false,
            ev,
            msg(zh, en),
        );
        return None;
    }
    if let Some(h) = best(t0, &list, Fuzzy::EXACT, 0..t0.len()) {
        let ev = vec![cx.evidence(0, h.start..h.end)];
        cx.push(
            "greeting",
            "greeting",
            Verdict::Fail,
            wt,
            false,
            ev,
            msg(
                "问好太晚:应先说「您好」",
                "the greeting comes too late: open with 您好",
            ),
        );
        // Still an element of the opening for the order check.
        return Some(h);
    }
    cx.push(
        "greeting",
        "greeting",
        Verdict::Fail,
        wt,
        false,
        vec![],
        msg("没有以「您好」开头", "does not open with 您好"),
    );
    None
}

fn order_check(cx: &mut Ctx, parts: &[(&str, Hit)]) {
    let wt = cx.book.weights.opening_order;
    if parts.len() < 2 {
        cx.push(
            "opening_order",
            "opening_order",
            Verdict::NotApplicable,
            wt,
            false,
            vec![],
            msg(
                "开场要素不足两项,顺序无从判断(缺项另行扣分)",
                "fewer than two opening elements; missing ones are graded by their own checks",
            ),
        );
        return;
    }
    let ev: Vec<Evidence> = parts
        .iter()
        .map(|(_, h)| cx.evidence(0, h.start..h.end))
        .collect();
    let in_order = parts
        .windows(2)
        .all(|p| p[0].1.start < p[1].1.start && p[0].1.end <= p[1].1.start);
    let names: Vec<&str> = parts.iter().map(|(n, _)| *n).collect();
    if in_order {
        cx.push(
            "opening_order",
            "opening_order",
            Verdict::Pass,
            wt,
            false,
            ev,
            msg(
                "顺序正确:先问好,再报单位,再用问候语",
                format!("in order: {}", names.join(" → ")),
            ),
        );
    } else {
        let mut heard = parts.to_vec();
        heard.sort_by_key(|(_, h)| h.start);
        let heard: Vec<&str> = heard.iter().map(|(n, _)| *n).collect();
        cx.push(
            "opening_order",
            "opening_order",
            Verdict::Fail,
            wt,
            false,
            ev,
            msg(
                "顺序颠倒:应先问好,再报单位,再用问候语",
                format!(
                    "out of order ({}); say greeting → organisation → offer of help",
                    heard.join(" → ")
                ),
            ),
        );
    }
}

fn politeness_check(cx: &mut Ctx, words: &Phrases) {
    let mut ev = Vec::new();
    let mut counts = Vec::new();
    let mut missing = Vec::new();
    for word in phrases(words) {
        let p = Phrase::new(word);
        let mut n = 0;
        for ti in 0..cx.turns.len() {
            for r in exact_all(&cx.turns[ti].text, &p) {
                n += 1;
                ev.push(cx.evidence(ti, r));
            }
        }
        counts.push(format!("{}×{n}", p.text));
        if n == 0 {
            missing.push(p.text.clone());
        }
    }
    ev.sort_by_key(|e| e.start);
    let counted = counts.join(" ");
    let (v, m) = if missing.is_empty() {
        (
            Verdict::Pass,
            msg(
                format!("礼貌用语齐全:{counted}"),
                format!("all politeness words used: {counted}"),
            ),
        )
    } else {
        let miss = missing.join("、");
        (
            Verdict::Fail,
            msg(
                format!("缺少礼貌用语:{miss}({counted})"),
                format!("politeness words missing: {miss} ({counted})"),
            ),
        )
    };
    let wt = cx.book.weights.politeness;
    cx.push("politeness", "politeness", v, wt, false, ev, m);
}

fn banned_check(cx: &mut Ctx, fam: &BannedFamily, category: &str, weight: f64) {
    // The phrase book's single fillers family is just `fillers`; banned families are
    // `banned_phrase:<family>`.
    let id = if fam.id.get_ref() == category {
        category.to_string()
    } else {
        format!("{category}:{}", fam.id.get_ref())
    };
    if cx.is_empty() {
        cx.push(
            &id,
            category,
            Verdict::NotApplicable,
            weight,
            fam.critical,
            vec![],
            msg("没有听到任何内容", "nothing was heard"),
        );
        return;
    }
    let patterns: Vec<Pattern> = phrases(&fam.patterns)
        .filter_map(|p| Pattern::parse(p).ok())
        .collect();
    let unless: Vec<Phrase> = fam.unless.as_ref().map(compile).unwrap_or_default();
    let mut exact: Vec<(usize, Range<usize>)> = Vec::new();
    let mut near: Vec<(usize, Range<usize>)> = Vec::new();
    for ti in 0..cx.turns.len() {
        let text = &cx.turns[ti].text;
        let excuses: Vec<Range<usize>> = unless.iter().flat_map(|u| exact_all(text, u)).collect();
        let excused =
            |r: &Range<usize>| excuses.iter().any(|u| u.start <= r.start && r.end <= u.end);
        for pat in &patterns {
            exact.extend(
                pat.find_all(text)
                    .into_iter()
                    .filter(|r| !excused(r))
                    .map(|r| (ti, r)),
            );
            if let Some(plain) = pat.plain() {
                let hom = Fuzzy {
                    min_chars: cx.fuzzy.min_chars,
                    near: 2.0,
                };
                if let Some(h) = best(text, std::slice::from_ref(plain), hom, 0..text.len()) {
                    if h.kind == Kind::Homophone && !excused(&(h.start..h.end)) {
                        near.push((ti, h.start..h.end));
                    }
                }
            }
        }
    }
    exact.sort_by_key(|(t, r)| (*t, r.start));
    exact.dedup();
    // 我问谁 inside 你问我我问谁 is one offence, not two.
    let all = exact.clone();
    exact.retain(|(t, r)| {
        !all.iter()
            .any(|(t2, r2)| t2 == t && r2 != r && r2.start <= r.start && r.end <= r2.end)
    });
    let what = if category == "fillers" {
        ("口头禅", "filler")
    } else {
        ("服务忌语", "banned phrase")
    };
    if !exact.is_empty() {
        let ev: Vec<Evidence> = exact
            .iter()
            .map(|(t, r)| cx.evidence(*t, r.clone()))
            .collect();
        let said: Vec<String> = ev.iter().map(|e| format!("「{}」", e.text)).collect();
        let shaky = exact.iter().all(|(t, r)| cx.shaky(*t, r.clone()).is_some());
        let (v, note_zh, note_en) = if shaky {
            (
                Verdict::Uncertain,
                "(识别置信度低,请回听)",
                " (the recogniser was unsure; listen to confirm)",
            )
        } else {
            (Verdict::Fail, "", "")
        };
        let m = msg(
            format!("{}{}:{}{note_zh}", what.0, said.join(""), fam.zh),
            format!("{} {}: {}{note_en}", what.1, said.join(" "), fam.en),
        );
        cx.push(&id, category, v, weight, fam.critical, ev, m);
    } else if !near.is_empty() {
        let ev: Vec<Evidence> = near
            .iter()
            .map(|(t, r)| cx.evidence(*t, r.clone()))
            .collect();
        let said: Vec<String> = ev.iter().map(|e| format!("「{}」", e.text)).collect();
        let m = msg(
            format!("听到{},与{}同音:{},请回听", said.join(""), what.0, fam.zh),
            format!(
                "heard {}, which sounds like a {}: {}; listen to confirm",
                said.join(" "),
                what.1,
                fam.en
            ),
        );
        cx.push(
            &id,
            category,
            Verdict::Uncertain,
            weight,
            fam.critical,
            ev,
            m,
        );
    } else {
        cx.push(
            &id,
            category,
            Verdict::Pass,
            weight,
            fam.critical,
            vec![],
            msg(
                format!("未使用:{}", fam.zh),
                format!("not used: {}", fam.en),
            ),
        );
    }
}

/// A must-say item required several times: counts exact, non-overlapping occurrences.
fn repeated_check(cx: &mut Ctx, m: &crate::scenario::MustSay, list: &[Phrase], id: &str) {
    let mut found: Vec<(usize, Range<usize>)> = Vec::new();
    for ti in 0..cx.turns.len() {
        let mut spans: Vec<Range<usize>> = list
            .iter()
            .flat_map(|p| exact_all(&cx.turns[ti].text, p))
            .collect();
        spans.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
        let mut end = 0;
        for r in spans {
            if r.start >= end {
                end = r.end;
                found.push((ti, r));
            }
        }
    }
    let n = found.len();
    let ev: Vec<Evidence> = found.into_iter().map(|(t, r)| cx.evidence(t, r)).collect();
    let (v, zh, en) = if n >= m.count as usize {
        (
            Verdict::Pass,
            format!("{}:说了{n}次", m.zh),
            format!("{}: said {n} times", m.en),
        )
    } else {
        (
            Verdict::Fail,
            format!("{}:只说了{n}次,需要{}次", m.zh, m.count),
            format!("{}: said {n} times, needs {}", m.en, m.count),
        )
    };
    cx.push(id, "must_say", v, m.weight, m.critical, ev, msg(zh, en));
}

fn closing_check(cx: &mut Ctx, parts: &[ClosingPart], last: usize) {
    let wt = cx.book.weights.closing;
    let mut ev = Vec::new();
    let mut verdict = Verdict::Pass;
    let mut notes_zh = Vec::new();
    let mut notes_en = Vec::new();
    for part in parts {
        let (group, zh, en) = match part {
            ClosingPart::Thanks => (&cx.book.thanks, "道谢", "thanks"),
            ClosingPart::Goodbye => (&cx.book.goodbye, "道别", "goodbye"),
        };
        let list = compile(&group.phrases);
        let t = &cx.turns[last].text;
        match best(t, &list, cx.fuzzy, 0..t.len()) {
            Some(h) => {
                let (v, z, e) = cx.found(last, &h, &list[h.phrase].text);
                if v != Verdict::Pass && verdict == Verdict::Pass {
                    verdict = v;
                }
                ev.push(cx.evidence(last, h.start..h.end));
                notes_zh.push(format!("{zh}:{z}"));
                notes_en.push(format!("{en}: {e}"));
            }
            None => {
                verdict = Verdict::Fail;
                notes_zh.push(format!(
                    "缺少{zh}(如「{}」)",
                    list.first().map_or("", |p| p.text.as_str())
                ));
                notes_en.push(format!(
                    "no {en} (e.g. {})",
                    list.first().map_or("", |p| p.text.as_str())
                ));
            }
        }
    }
    cx.push(
        "closing",
        "closing",
        verdict,
        wt,
        false,
        ev,
        msg(
            format!("结束语 — {}", notes_zh.join(";")),
            format!("closing — {}", notes_en.join("; ")),
        ),
    );
}

fn manner_checks(cx: &mut Ctx) {
    let s = cx.book.settings.clone();
    let w = cx.book.weights.clone();
    let na = || {
        msg(
            "没有录音数据(仅文字评分)",
            "no audio facts (graded from text)",
        )
    };
    let with_facts: Vec<(usize, AudioFacts)> = cx
        .turns
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.facts.clone().map(|f| (i, f)))
        .collect();

    match &cx.turns[0].facts {
        None => cx.push(
            "first_words",
            "first_words",
            Verdict::NotApplicable,
            w.first_words,
            false,
            vec![],
            na(),
        ),
        Some(f) => {
            let (v, m) = match f.first_words_ms {
                Some(ms) if ms <= s.first_words_max_ms => (
                    Verdict::Pass,
                    msg(
                        format!("接起后{:.1}秒开口", ms as f64 / 1000.0),
                        format!("first words {:.1} s after pickup", ms as f64 / 1000.0),
                    ),
                ),
                Some(ms) => (
                    Verdict::Fail,
                    msg(
                        format!(
                            "接起后{:.1}秒才开口,应在{:.0}秒内",
                            ms as f64 / 1000.0,
                            s.first_words_max_ms as f64 / 1000.0
                        ),
                        format!(
                            "first words only {:.1} s after pickup; speak within {:.0} s",
                            ms as f64 / 1000.0,
                            s.first_words_max_ms as f64 / 1000.0
                        ),
                    ),
                ),
                None => (
                    Verdict::Fail,
                    msg("接起后没有说话", "nothing was said after pickup"),
                ),
            };
            cx.push(
                "first_words",
                "first_words",
                v,
                w.first_words,
                false,
                vec![],
                m,
            );
        }
    }

    let rate = speech_rate_cpm(
        with_facts
            .iter()
            .map(|(i, f)| (cx.turns[*i].text.len(), f.speaking_ms)),
    );
    if let Some(cpm) = rate {
        let (lo, hi) = (s.rate_min_cpm, s.rate_max_cpm);
        let (v, zh, en) = if cpm < lo {
            (Verdict::Fail, "语速偏慢", "too slow")
        } else if cpm > hi {
            (Verdict::Fail, "语速偏快,避免连珠炮式说话", "too fast")
        } else {
            (Verdict::Pass, "语速适中", "moderate speed")
        };
        cx.push(
            "speech_rate",
            "speech_rate",
            v,
            w.speech_rate,
            false,
            vec![],
            msg(
                format!("{zh}:每分钟{cpm:.0}字(适中范围{lo:.0}–{hi:.0})"),
                format!("{en}: {cpm:.0} chars/min of speech (band {lo:.0}–{hi:.0})"),
            ),
        );
    } else {
        cx.push(
            "speech_rate",
            "speech_rate",
            Verdict::NotApplicable,
            w.speech_rate,
            false,
            vec![],
            na(),
        );
    }

    let speaking: u64 = with_facts.iter().map(|(_, f)| f.speaking_ms).sum();
    if with_facts.is_empty() || speaking == 0 {
        cx.push(
            "loudness",
            "loudness",
            Verdict::NotApplicable,
            w.loudness,
            false,
            vec![],
            na(),
        );
    } else {
        let quietest = with_facts
            .iter()
            .filter(|(_, f)| f.speaking_ms > 0)
            .map(|(_, f)| f.loudness_dbfs)
            .fold(f32::INFINITY, f32::min);
        let (v, zh, en) = if quietest < s.min_loudness_dbfs {
            (Verdict::Fail, "音量过低", "too quiet")
        } else {
            (Verdict::Pass, "音量适中", "loud enough")
        };
        cx.push(
            "loudness",
            "loudness",
            v,
            w.loudness,
            false,
            vec![],
            msg(
                format!("{zh}:{quietest:.1} dBFS(下限{:.0})", s.min_loudness_dbfs),
                format!(
                    "{en}: {quietest:.1} dBFS (minimum {:.0})",
                    s.min_loudness_dbfs
                ),
            ),
        );
    }

    if with_facts.is_empty() {
        cx.push(
            "clipping",
            "clipping",
            Verdict::NotApplicable,
            w.clipping,
            false,
            vec![],
            na(),
        );
    } else {
        let worst = with_facts
            .iter()
            .map(|(_, f)| f.clipped_fraction)
            .fold(0.0f32, f32::max);
        let (v, zh, en) = if worst > s.max_clipped_fraction {
            (
                Verdict::Fail,
                "声音过大失真(削波),请离话筒远一点",
                "clipped: too loud or too close to the microphone",
            )
        } else {
            (Verdict::Pass, "无削波失真", "no clipping")
        };
        cx.push(
            "clipping",
            "clipping",
            v,
            w.clipping,
            false,
            vec![],
            msg(
                format!("{zh}({:.2}%)", worst * 100.0),
                format!("{en} ({:.2}%)", worst * 100.0),
            ),
        );
    }
}
