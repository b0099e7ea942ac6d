//! 服务忌语 and fillers over all turns: exact matches of each pattern (… bridging a gap) fail,
//! homophones of long ones are `uncertain`, and an `unless` context around a match excuses it
//! (您想知道 is not 不知道-as-an-answer).
//!
//! Where the text has no banned phrase, the model is asked about those that may hide in
//! it (see [`crate::grading::verify`]): a stretch that sounds like one (为 for 喂, 投足 for
//! 投诉, 不规我管), 喂 at the onset of the reply, a very short reply that may have been 喂
//! alone. Unless the model finds the phrase clearly less likely than what it wrote, the
//! check is `uncertain` ("may have said 喂 — listen"): never a silent pass.

use std::ops::Range;

use super::{compile, msg, Ctx};
use crate::grading::matcher::{
    best, exact_all, sound_alikes, toneless, Fuzzy, Kind, Pattern, Phrase,
};
use crate::grading::report::{Evidence, Verdict};
use crate::grading::verify::Answer;
use crate::scenario::{phrases, BannedFamily};
use crate::transcribe::{Reading, Thresholds};

/// The banned word asked about at the onset of a reply and in place of a character that
/// sounds like it.
const WEI: &str = "喂";
/// A reply this short (normalised characters, a Latin word counting as one: a lone 喂? at
/// 1.3× is heard as "play") may have been a lone 喂.
const LONE_WEI_MAX_CHARS: usize = 3;
/// At most this many stretches are asked about per family and turn.
const MAX_QUESTIONS: usize = 3;

pub fn banned_check(cx: &mut Ctx, fam: &BannedFamily, category: &str, weight: f64) {
    run_banned_check(cx, fam, category, weight);
    // A family is called by its first pattern: 忌语「喂」. The fillers family has its name.
    if fam.id.get_ref() != category {
        let first = phrases(&fam.patterns).next().unwrap_or_default();
        cx.name_last(format!("忌语「{first}」"), format!("banned 「{first}」"));
    }
}

fn run_banned_check(cx: &mut Ctx, fam: &BannedFamily, category: &str, weight: f64) {
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
    let hidden = if exact.is_empty() && category == "banned_phrase" {
        hidden_check(cx, fam, &id, &patterns, &unless)
    } else {
        None
    };
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
    } else if let Some((ev, zh, en)) = hidden {
        cx.push(
            &id,
            category,
            Verdict::Uncertain,
            weight,
            fam.critical,
            ev,
            msg(zh, en),
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

/// A banned phrase asked about: the turn, where (None: in front of the reply or in
/// place of all of it), the phrase, what the transcript had there, the model's answer.
type Hidden = (usize, Option<Range<usize>>, String, String, Answer);

/// Asks the model about the banned phrases of `fam` that may hide in the turns (see the
/// module's comment): the evidence and message of an `uncertain` verdict when one may
/// have been said.
fn hidden_check(
    cx: &mut Ctx,
    fam: &BannedFamily,
    id: &str,
    patterns: &[Pattern],
    unless: &[Phrase],
) -> Option<(Vec<Evidence>, String, String)> {
    let mut found: Vec<Hidden> = Vec::new();
    let is_wei = patterns
        .iter()
        .any(|p| p.plain().is_some_and(|ph| ph.text == WEI));
    for ti in 0..cx.turns.len() {
        if cx.turns[ti].text.is_empty() {
            continue;
        }
        if is_wei {
            for (span, heard, a) in wei_questions(cx, id, ti) {
                found.push((ti, span, WEI.to_string(), heard, a));
            }
        }
        let text = &cx.turns[ti].text;
        let excuses: Vec<Range<usize>> = unless.iter().flat_map(|u| exact_all(text, u)).collect();
        let mut windows: Vec<(Range<usize>, String)> = Vec::new();
        for pat in patterns {
            match pat.plain() {
                // 喂 has its own questions; other single characters are too common.
                Some(ph) if ph.len() < 2 => {}
                Some(ph) => windows.extend(
                    sound_alikes(text, ph)
                        .into_iter()
                        .map(|w| (w, ph.text.clone())),
                ),
                None => windows.extend(pat.alike_parts(text)),
            }
        }
        // A stretch whose syllables are near the phrase's, beyond a homophone (吐池道 for
        // 不知道: t/b, ch/zh).
        for pat in patterns {
            if let Some(ph) = pat.plain() {
                windows.extend(
                    pinyin_near(text, ph)
                        .into_iter()
                        .map(|w| (w, ph.text.clone())),
                );
            }
        }
        // A whole short reply that starts like a banned phrase and is about as long may
        // be it, misheard beyond a homophone (不吃饶 or 不吃糖 for 不知道).
        for pat in patterns {
            if let Some(ph) = pat.plain() {
                if ph.len() >= 2 && whole_reply_may_be(text, ph) {
                    windows.push((0..text.len(), ph.text.clone()));
                }
            }
        }
        windows.retain(|(w, _)| !excuses.iter().any(|u| u.start <= w.start && w.end <= u.end));
        windows.sort_by_key(|(w, _)| (w.start, w.end));
        windows.dedup();
        for (w, phrase) in windows.into_iter().take(MAX_QUESTIONS) {
            let heard = cx.turns[ti].text.slice(w.clone());
            if let Some(a) = cx.ask(ti, id, w.clone(), &phrase) {
                let a = judge_with(cx, ti, id, &phrase, a, SUBSTITUTE);
                found.push((ti, Some(w), phrase, heard, a));
            }
        }
    }
    let mut said: Vec<Hidden> = Vec::new();
    for f in found {
        // The same reading asked twice (a stretch near the phrase that is the whole reply)
        // is said once.
        let again = said
            .iter()
            .any(|s| s.0 == f.0 && s.2 == f.2 && s.4.margin == f.4.margin);
        if f.4.banned_may_have_been_said() && !again {
            said.push(f);
        }
    }
    if said.is_empty() {
        return None;
    }
    let ev: Vec<Evidence> = said
        .iter()
        .filter_map(|(t, w, ..)| w.clone().map(|w| cx.evidence(*t, w)))
        .collect();
    let (zh, en): (Vec<String>, Vec<String>) = said
        .iter()
        .map(|(_, _, phrase, heard, a)| a.note(phrase, heard))
        .unzip();
    let phrases: Vec<String> = said
        .iter()
        .map(|(_, _, p, ..)| format!("「{p}」"))
        .collect();
    let mut which = phrases.clone();
    which.dedup();
    Some((
        ev,
        format!(
            "可能说了服务忌语{}:{},请回听({})",
            which.join(""),
            fam.zh,
            zh.join(";")
        ),
        format!(
            "may have said the banned phrase {}: {}; listen to confirm ({})",
            which.join(" "),
            fam.en,
            en.join("; ")
        ),
    ))
}

/// The questions about a 喂 the text of turn `ti` does not have: in place of a first
/// character that sounds like it (为, 位…), else (first turn only) in front of the reply;
/// and for a first turn of at most [`LONE_WEI_MAX_CHARS`] characters, the whole reply
/// as 喂. Each answered one: where it was asked (None for the whole reply or the onset),
/// what was heard there, the answer.
fn wei_questions(cx: &mut Ctx, id: &str, ti: usize) -> Vec<(Option<Range<usize>>, String, Answer)> {
    let mut out = Vec::new();
    let t = &cx.turns[ti];
    let first = t.text.chars[0];
    let raw = t.raw.clone();
    if first.to_string() != WEI && toneless(first) == Some("wei") {
        let heard = first.to_string();
        if let Some(a) = cx.ask(ti, id, 0..1, WEI) {
            out.push((Some(0..1), heard, a));
        }
    } else if ti == 0 {
        let reading = Reading::at_onset(&raw, "喂,");
        if let Some(a) = cx.ask_reading(ti, id, "喂,", "", reading) {
            out.push((None, String::new(), a));
        }
    }
    if ti == 0 && units(&cx.turns[ti].text.chars) <= LONE_WEI_MAX_CHARS {
        let heard = raw.trim().to_string();
        if heard != WEI {
            if let Some(a) = cx.ask_reading(ti, id, WEI, &heard, Reading::new(WEI)) {
                let a = if latin_burst(cx, ti) {
                    judge_with(cx, ti, id, WEI, a, LONE_WEI_LATIN)
                } else {
                    a
                };
                out.push((None, heard, a));
            }
        }
    }
    out
}

/// A banned phrase asked about in place of what the text has there (a sound-alike, a
/// stretch whose syllables are near, a whole short reply): it may have been said unless
/// the reading scores below −12. From `tests/data/banned-calibration.md`: put where it was
/// not said in a polite reply, a banned phrase scored at most −14.2 (short replies), −14.3
/// (the sweep's model answers) and −15.3 (the general calibration's 84); where it was said,
/// 54 of 55 reached −12 (投诉 for 投足 at 1.3×: −8.5, passed under the general −8).
const SUBSTITUTE: Thresholds = Thresholds {
    about_as_likely: Thresholds::CALIBRATED.about_as_likely,
    clearly_less: -12.0,
};

/// 喂 in place of a whole first turn that the recogniser wrote as one Latin word (play,
/// way, v) from one short voiced burst: it may have been said unless the reading scores
/// below −10. From `tests/data/banned-calibration.md`: a lone 喂 heard so scored −8.6 to
/// −6.2 (play at 1.3× and 1.4×: −8.6, −8.4; the general −8 passed them), the other short
/// replies heard as one Latin word from such a burst (对 as "2", "Dui") −7.0 and above,
/// already uncertain by the general rule.
const LONE_WEI_LATIN: Thresholds = Thresholds {
    about_as_likely: Thresholds::CALIBRATED.about_as_likely,
    clearly_less: -10.0,
};
/// One short voiced burst: at most this much voiced time, no pause. A lone 喂 was 240–560
/// ms of voice; 哪位 heard as "ma v" (720 ms, −8.6) is two syllables and keeps the general
/// rule.
const BURST_MAX_MS: u64 = 600;

/// True when turn `ti` is one Latin word heard from one short voiced burst (a lone 喂 at
/// 1.3× heard as "play").
fn latin_burst(cx: &Ctx, ti: usize) -> bool {
    let t = &cx.turns[ti];
    let word = !t.text.chars.is_empty() && t.text.chars.iter().all(|c| c.is_ascii_alphabetic());
    let burst = t
        .facts
        .as_ref()
        .is_some_and(|f| f.speaking_ms <= BURST_MAX_MS && f.pauses == 0);
    word && burst
}

/// `a` judged with `th` instead of the general thresholds, and the report's row of the
/// reading made to say so.
fn judge_with(
    cx: &mut Ctx,
    ti: usize,
    check: &str,
    phrase: &str,
    a: Answer,
    th: Thresholds,
) -> Answer {
    let likeness = th.classify(a.margin);
    for r in cx.readings.iter_mut().filter(|r| {
        r.turn == ti && r.check == check && r.phrase == phrase && r.margin == Some(a.margin)
    }) {
        r.likeness = Some(likeness);
    }
    Answer { likeness, ..a }
}

/// Characters, a run of Latin letters or digits counting as one (a word the recogniser
/// wrote in English for a syllable or two).
fn units(chars: &[char]) -> usize {
    let mut n = 0;
    let mut in_word = false;
    for &c in chars {
        let latin = c.is_ascii_alphanumeric();
        if !(latin && in_word) {
            n += 1;
        }
        in_word = latin;
    }
    n
}

/// A reply as long as `phrase` (one character either way) whose first syllable is the
/// phrase's, and not the phrase itself.
fn whole_reply_may_be(text: &crate::grading::matcher::Text, phrase: &Phrase) -> bool {
    let n = text.len();
    let m = phrase.len();
    let first = |c: char| toneless(c);
    n + 1 >= m
        && n <= m + 1
        && text.chars != phrase.text.chars().collect::<Vec<_>>()
        && first(text.chars[0]).is_some()
        && first(text.chars[0]) == phrase.text.chars().next().and_then(first)
}

/// Phrases shorter than this are not looked for by nearness: two syllables near each
/// other are everywhere.
const NEAR_MIN_CHARS: usize = 3;
/// At most this much difference per syllable, on average (see [`syllable_distance`]), and
/// at least one syllable the same: 吐池道 for 不知道 (0.75 over 3), 投足我 for 投诉我.
const NEAR_PER_SYLLABLE: f32 = 0.3;

/// Stretches of `text` as long as `phrase` whose toneless syllables are near the phrase's
/// (see [`syllable_distance`]) without being the phrase: where a banned phrase may have
/// been misheard as something that does not quite sound like it.
fn pinyin_near(text: &crate::grading::matcher::Text, phrase: &Phrase) -> Vec<Range<usize>> {
    let chars: Vec<char> = phrase.text.chars().collect();
    let m = chars.len();
    if m < NEAR_MIN_CHARS || m > text.len() {
        return Vec::new();
    }
    let Some(want): Option<Vec<&str>> = chars.iter().map(|&c| toneless(c)).collect() else {
        return Vec::new();
    };
    let heard: Vec<Option<&str>> = text.chars.iter().map(|&c| toneless(c)).collect();
    (0..=text.len() - m)
        .filter(|&s| {
            let w = &heard[s..s + m];
            let Some(w): Option<Vec<&str>> = w.iter().copied().collect() else {
                return false;
            };
            if text.chars[s..s + m] == chars[..] {
                return false;
            }
            let d: Vec<f32> = w
                .iter()
                .zip(&want)
                .map(|(a, b)| syllable_distance(a, b))
                .collect();
            d.contains(&0.0) && d.iter().sum::<f32>() <= NEAR_PER_SYLLABLE * m as f32
        })
        .map(|s| s..s + m)
        .collect()
}

/// Initials of toneless pinyin, longest first.
const INITIALS: &[&str] = &[
    "zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r",
    "z", "c", "s", "y", "w",
];

/// Initials a listener (and Whisper) confuses: the same place with and without breath
/// (b/p, d/t, zh/ch…), flat and curled tongue (z/zh…), n/l, l/r, f/h.
const NEAR_INITIALS: &[(&str, &str)] = &[
    ("b", "p"),
    ("d", "t"),
    ("g", "k"),
    ("j", "q"),
    ("z", "c"),
    ("zh", "ch"),
    ("z", "zh"),
    ("c", "ch"),
    ("s", "sh"),
    ("n", "l"),
    ("l", "r"),
    ("f", "h"),
];

/// Finals that differ only in the nasal (an/ang, en/eng, in/ing…).
const NEAR_FINALS: &[(&str, &str)] = &[
    ("an", "ang"),
    ("en", "eng"),
    ("in", "ing"),
    ("ian", "iang"),
    ("uan", "uang"),
    ("eng", "ong"),
];

fn split_syllable(s: &str) -> (&str, &str) {
    INITIALS
        .iter()
        .find(|i| s.len() > i.len() && s.starts_with(**i))
        .map_or(("", s), |i| s.split_at(i.len()))
}

fn near_pair(pairs: &[(&str, &str)], a: &str, b: &str) -> bool {
    pairs
        .iter()
        .any(|&(x, y)| (x, y) == (a, b) || (y, x) == (a, b))
}

/// How unlike two toneless syllables sound: 0 the same, 1 nothing alike. The initial and
/// the final are half each; a confusable pair ([`NEAR_INITIALS`], [`NEAR_FINALS`]) is half
/// a difference. 吐/不 (tu/bu) 0.5, 池/知 (chi/zhi) 0.25, 嘴/问 (zui/wen) 1.
fn syllable_distance(a: &str, b: &str) -> f32 {
    if a == b {
        return 0.0;
    }
    let ((ia, fa), (ib, fb)) = (split_syllable(a), split_syllable(b));
    let part = |x: &str, y: &str, pairs: &[(&str, &str)]| {
        if x == y {
            0.0
        } else if near_pair(pairs, x, y) {
            0.25
        } else {
            0.5
        }
    };
    part(ia, ib, NEAR_INITIALS) + part(fa, fb, NEAR_FINALS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::matcher::Text;

    #[test]
    fn a_latin_word_is_one_unit_of_a_short_reply() {
        let chars = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(units(&chars("play")), 1);
        assert_eq!(units(&chars("喂")), 1);
        assert_eq!(units(&chars("不误会")), 3);
        assert_eq!(units(&chars("ok好的")), 3);
        assert_eq!(units(&chars("您好广利物业")), 6);
    }

    #[test]
    fn syllables_are_near_by_initial_and_final() {
        assert_eq!(syllable_distance("zhi", "zhi"), 0.0);
        assert_eq!(syllable_distance("tu", "bu"), 0.5);
        assert_eq!(syllable_distance("chi", "zhi"), 0.25);
        assert_eq!(syllable_distance("zu", "su"), 0.5);
        assert_eq!(syllable_distance("sheng", "shen"), 0.25);
        assert_eq!(syllable_distance("zui", "wen"), 1.0);
        assert_eq!(split_syllable("er"), ("", "er"));
        assert_eq!(split_syllable("shui"), ("sh", "ui"));
    }

    #[test]
    fn a_stretch_near_a_banned_phrase_is_found_by_its_syllables() {
        let t = |s: &str| Text::new(s, None);
        let p = Phrase::new("不知道");
        assert_eq!(pinyin_near(&t("吐池道"), &p), vec![0..3]);
        assert_eq!(pinyin_near(&t("嗯吐池道啊"), &p), vec![1..4]);
        assert!(
            pinyin_near(&t("不知道"), &p).is_empty(),
            "the phrase itself"
        );
        assert!(pinyin_near(&t("好的好的"), &p).is_empty());
        // Nothing alike in a syllable: not near, however close the rest.
        assert!(
            pinyin_near(&t("吐池"), &p).is_empty(),
            "shorter than the phrase"
        );
        let p = Phrase::new("你问我我问谁");
        assert!(pinyin_near(&t("你嘴嘴嘴嘴"), &p).is_empty());
        // Two-syllable phrases are not looked for by nearness.
        assert!(pinyin_near(&t("老偷"), &Phrase::new("老头")).is_empty());
    }

    #[test]
    fn a_short_reply_that_starts_like_a_banned_phrase_may_be_it() {
        let t = |s: &str| Text::new(s, None);
        let p = Phrase::new("不知道");
        assert!(whole_reply_may_be(&t("不吃饶"), &p));
        assert!(whole_reply_may_be(&t("不吃到了"), &p));
        assert!(
            !whole_reply_may_be(&t("不知道"), &p),
            "the phrase itself is found exactly"
        );
        assert!(!whole_reply_may_be(&t("好的"), &p));
        assert!(
            !whole_reply_may_be(&t("不好意思请稍等"), &p),
            "too long to be only the phrase"
        );
    }
}
