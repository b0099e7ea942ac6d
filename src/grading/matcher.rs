//! Finding phrases in a normalised transcript: exactly on characters, as homophones on
//! toneless pinyin (the typical speech-recognition error: 光力物业 for 广利物业), and as near
//! misses by syllable edit distance (strsim). Only exact matches are certain; the grader turns
//! the others into `uncertain` verdicts with their evidence.

use std::ops::Range;

use crate::scenario::pattern_parts;
use crate::text::{normalize, syllable};
use crate::transcribe::Token;

/// The longest gap a `…` in a banned pattern bridges, in normalised characters.
pub const GAP_MAX_CHARS: usize = 12;

/// How far to look ahead in the token text for a character the transcript has and the
/// tokens spell differently (Whisper may split a character across byte tokens).
const ALIGN_LOOKAHEAD: usize = 8;

/// A character's identity for homophone comparison: its toneless syllable if it is Han
/// (packed into an integer so comparing two is one instruction), else the character itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sound {
    key: u64,
    han: bool,
}

fn sound(ch: char) -> Sound {
    match syllable(ch) {
        Some(syl) if syl.len() <= 8 => Sound {
            key: syl.bytes().fold(0u64, |k, b| (k << 8) | u64::from(b)),
            han: true,
        },
        _ => Sound {
            key: u64::from(ch),
            han: false,
        },
    }
}

fn sounds(chars: &[char]) -> Vec<Sound> {
    chars.iter().map(|&ch| sound(ch)).collect()
}

/// One normalised turn, with the model's confidence per character when tokens were given.
#[derive(Debug, Clone)]
pub struct Text {
    pub chars: Vec<char>,
    sounds: Vec<Sound>,
    /// Lowest token probability covering each character, if known.
    pub p: Vec<Option<f32>>,
}

impl Text {
    /// `normalized` must already be normalised; `tokens` are aligned to it character by character.
    pub fn new(normalized: &str, tokens: Option<&[Token]>) -> Text {
        let chars: Vec<char> = normalized.chars().collect();
        let mut p = vec![None; chars.len()];
        if let Some(tokens) = tokens {
            let mut tok: Vec<(char, f32)> = Vec::new();
            for t in tokens {
                tok.extend(normalize(&t.text).chars().map(|c| (c, t.p)));
            }
            let mut j = 0;
            for (i, &c) in chars.iter().enumerate() {
                let window = j..(j + ALIGN_LOOKAHEAD).min(tok.len());
                if let Some(k) = window.clone().find(|&k| tok[k].0 == c) {
                    p[i] = Some(tok[k].1);
                    j = k + 1;
                }
            }
        }
        Text {
            sounds: sounds(&chars),
            chars,
            p,
        }
    }

    pub fn len(&self) -> usize {
        self.chars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    pub fn slice(&self, r: Range<usize>) -> String {
        self.chars[r].iter().collect()
    }

    /// The lowest known token probability in `r`.
    pub fn min_p(&self, r: Range<usize>) -> Option<f32> {
        self.p[r].iter().flatten().copied().reduce(f32::min)
    }
}

/// A phrase from a rubric, normalised.
#[derive(Debug, Clone)]
pub struct Phrase {
    pub text: String,
    chars: Vec<char>,
    sounds: Vec<Sound>,
}

impl Phrase {
    pub fn new(s: &str) -> Phrase {
        let text = normalize(s);
        let chars: Vec<char> = text.chars().collect();
        Phrase {
            sounds: sounds(&chars),
            chars,
            text,
        }
    }

    pub fn len(&self) -> usize {
        self.chars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// The same characters.
    Exact,
    /// Different characters, the same toneless pinyin.
    Homophone,
    /// Close on pinyin but not the same.
    Near,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
    /// Index of the phrase in the list searched.
    pub phrase: usize,
    /// Syllable similarity, 1.0 for exact and homophone matches.
    pub similarity: f64,
}

/// How tolerant matching is.
#[derive(Debug, Clone, Copy)]
pub struct Fuzzy {
    /// Shorter phrases match exactly only: 为 is a homophone of 喂, 你好 is near 您好.
    pub min_chars: usize,
    /// Similarity from which a near match is reported; above 1.0 disables near matching.
    pub near: f64,
}

impl Fuzzy {
    pub const EXACT: Fuzzy = Fuzzy {
        min_chars: usize::MAX,
        near: 2.0,
    };
}

/// Every exact occurrence of `phrase` in `text`.
pub fn exact_all(text: &Text, phrase: &Phrase) -> Vec<Range<usize>> {
    find_chars(&text.chars, &phrase.chars, 0)
}

fn find_chars(hay: &[char], needle: &[char], from: usize) -> Vec<Range<usize>> {
    if needle.is_empty() || needle.len() > hay.len() {
        return Vec::new();
    }
    (from..=hay.len() - needle.len())
        .filter(|&i| hay[i] == needle[0] && hay[i..i + needle.len()] == *needle)
        .map(|i| i..i + needle.len())
        .collect()
}

/// The best match of any of `phrases` starting within `starts`: exact before homophone
/// before near, then the most similar, then the earliest, then the longest.
pub fn best(text: &Text, phrases: &[Phrase], fuzzy: Fuzzy, starts: Range<usize>) -> Option<Hit> {
    let mut best: Option<Hit> = None;
    let mut consider = |h: Hit| {
        let better = match &best {
            None => true,
            Some(b) => {
                (
                    h.kind,
                    -h.similarity,
                    h.start,
                    std::cmp::Reverse(h.end - h.start),
                )
                    .partial_cmp(&(
                        b.kind,
                        -b.similarity,
                        b.start,
                        std::cmp::Reverse(b.end - b.start),
                    ))
                    == Some(std::cmp::Ordering::Less)
            }
        };
        if better {
            best = Some(h);
        }
    };
    let n = text.len();
    for (pi, ph) in phrases.iter().enumerate() {
        let m = ph.len();
        if m == 0 {
            continue;
        }
        let fuzzy_ok = m >= fuzzy.min_chars;
        for s in starts.clone() {
            if s >= n {
                break;
            }
            // Exact and homophone matches start on the phrase's first sound: most positions
            // are rejected here.
            let first = text.sounds[s] == ph.sounds[0];
            if first && s + m <= n {
                let w = s..s + m;
                if text.chars[w.clone()] == ph.chars[..] {
                    consider(Hit {
                        start: s,
                        end: s + m,
                        kind: Kind::Exact,
                        phrase: pi,
                        similarity: 1.0,
                    });
                    continue;
                }
                if fuzzy_ok && text.sounds[w] == ph.sounds[..] {
                    consider(Hit {
                        start: s,
                        end: s + m,
                        kind: Kind::Homophone,
                        phrase: pi,
                        similarity: 1.0,
                    });
                    continue;
                }
            }
            if fuzzy_ok && fuzzy.near <= 1.0 {
                for len in m.saturating_sub(1).max(1)..=m + 1 {
                    if s + len > n {
                        break;
                    }
                    let win = &text.sounds[s..s + len];
                    // A near match is anchored on the phrase's first or last sound, so that
                    // a misheard first syllable (关有别的事吗 for 还有别的事吗) is still found
                    // while windows sharing only a middle with the phrase are not tried.
                    if !first && win[len - 1] != ph.sounds[m - 1] {
                        continue;
                    }
                    let d = strsim::generic_levenshtein(&win.to_vec(), &ph.sounds);
                    let sim = 1.0 - d as f64 / len.max(m) as f64;
                    if d > 0 && sim >= fuzzy.near {
                        consider(Hit {
                            start: s,
                            end: s + len,
                            kind: Kind::Near,
                            phrase: pi,
                            similarity: sim,
                        });
                    }
                }
            }
        }
    }
    best
}

/// Stretches of `text` as long as `phrase` that sound like it but are not it: the same
/// toneless syllables, or (for phrases of four or more syllables) all but one the same —
/// where a recogniser may have written something else for the phrase (不只道 for 不知道,
/// 不贵我管 or 不规我管 for 不归我管). Three syllables with one off are everyday words
/// (有什么 for 急什么).
pub fn sound_alikes(text: &Text, phrase: &Phrase) -> Vec<Range<usize>> {
    sound_alikes_within(text, phrase, usize::from(phrase.len() >= 4))
}

fn sound_alikes_within(text: &Text, phrase: &Phrase, allowed: usize) -> Vec<Range<usize>> {
    let m = phrase.len();
    if m == 0 || m > text.len() {
        return Vec::new();
    }
    (0..=text.len() - m)
        .filter(|&s| {
            let w = s..s + m;
            if text.chars[w.clone()] == phrase.chars[..] {
                return false;
            }
            let differ = text.sounds[w]
                .iter()
                .zip(&phrase.sounds)
                .filter(|(a, b)| a != b)
                .count();
            differ <= allowed
        })
        .map(|s| s..s + m)
        .collect()
}

/// The toneless syllable of a character, if it is Han.
pub fn toneless(c: char) -> Option<&'static str> {
    crate::text::syllable(c)
}

/// A banned pattern: normalised parts separated by gaps of up to [`GAP_MAX_CHARS`].
#[derive(Debug, Clone)]
pub struct Pattern {
    parts: Vec<Phrase>,
}

impl Pattern {
    /// Rejects patterns that would match nothing or everything (the scenario loader has
    /// already refused files holding one: see [`pattern_parts`]).
    pub fn parse(s: &str) -> Result<Pattern, String> {
        let parts = pattern_parts(s)?.iter().map(|p| Phrase::new(p)).collect();
        Ok(Pattern { parts })
    }

    /// Whether this pattern is one plain phrase (no gaps).
    pub fn plain(&self) -> Option<&Phrase> {
        match self.parts.as_slice() {
            [p] => Some(p),
            _ => None,
        }
    }

    /// Occurrences with exactly one part only sounding like it and the others exact: the
    /// stretch of that part and the part's text, to ask about. A part may be one syllable
    /// off when the whole pattern has four or more (有本事…投足 for 有本事…投诉), as a
    /// plain phrase may (see [`sound_alikes`]).
    pub fn alike_parts(&self, text: &Text) -> Vec<(Range<usize>, String)> {
        let mut out = Vec::new();
        let total: usize = self.parts.iter().map(Phrase::len).sum();
        for (k, part) in self.parts.iter().enumerate() {
            let allowed = usize::from(total >= 4 && part.len() >= 2);
            for w in sound_alikes_within(text, part, allowed) {
                // The parts before must end, and those after begin, within the gaps.
                let mut ok = true;
                let mut end = w.start;
                for p in self.parts[..k].iter().rev() {
                    let from = end.saturating_sub(GAP_MAX_CHARS + p.len());
                    match find_chars(&text.chars[..end], &p.chars, from).last() {
                        Some(r) => end = r.start,
                        None => {
                            ok = false;
                            break;
                        }
                    }
                }
                let mut start = w.end;
                for p in &self.parts[k + 1..] {
                    let limit = (start + GAP_MAX_CHARS + p.len()).min(text.len());
                    match find_chars(&text.chars[..limit], &p.chars, start).first() {
                        Some(r) => start = r.end,
                        None => {
                            ok = false;
                            break;
                        }
                    }
                }
                if ok {
                    out.push((w, part.text.clone()));
                }
            }
        }
        out
    }

    /// Every exact occurrence; a gapped pattern takes the nearest following parts.
    pub fn find_all(&self, text: &Text) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        'first: for r in find_chars(&text.chars, &self.parts[0].chars, 0) {
            let mut end = r.end;
            for part in &self.parts[1..] {
                let limit = (end + GAP_MAX_CHARS + part.len()).min(text.len());
                match find_chars(&text.chars[..limit], &part.chars, end).first() {
                    Some(next) => end = next.end,
                    None => continue 'first,
                }
            }
            out.push(r.start..end);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Text {
        Text::new(&normalize(s), None)
    }

    const FUZZY: Fuzzy = Fuzzy {
        min_chars: 4,
        near: 0.75,
    };

    #[test]
    fn exact_beats_homophone() {
        let text = t("光力物业,广利物业");
        let h = best(&text, &[Phrase::new("广利物业")], FUZZY, 0..text.len()).unwrap();
        assert_eq!((h.start, h.kind), (4, Kind::Exact));
    }

    #[test]
    fn homophone_and_near() {
        let text = t("您好光力物业");
        let h = best(&text, &[Phrase::new("广利物业")], FUZZY, 0..text.len()).unwrap();
        assert_eq!((h.start, h.end, h.kind), (2, 6, Kind::Homophone));
        let text = t("您好广利物请问");
        let h = best(&text, &[Phrase::new("广利物业")], FUZZY, 0..text.len()).unwrap();
        assert_eq!(h.kind, Kind::Near);
        let text = t("您好金泰物业");
        assert_eq!(
            best(&text, &[Phrase::new("广利物业")], FUZZY, 0..text.len()),
            None
        );
    }

    #[test]
    fn near_match_survives_a_misheard_first_syllable() {
        let text = t("先生您关有别的事吗");
        let h = best(&text, &[Phrase::new("还有别的事吗")], FUZZY, 0..text.len()).unwrap();
        assert_eq!((h.start, h.end, h.kind), (3, 9, Kind::Near));
    }

    #[test]
    fn short_phrases_are_exact_only() {
        let text = t("你好");
        assert_eq!(best(&text, &[Phrase::new("您好")], FUZZY, 0..2), None);
    }

    #[test]
    fn start_window_is_respected() {
        let text = t("请问有什么可以帮您您好");
        assert_eq!(best(&text, &[Phrase::new("您好")], FUZZY, 0..4), None);
    }

    #[test]
    fn gapped_patterns() {
        let p = Pattern::parse("有本事…投诉").unwrap();
        assert_eq!(p.find_all(&t("有本事你去投诉我啊")), vec![0..7]);
        assert!(p.find_all(&t("有本事")).is_empty());
        assert!(Pattern::parse("…投诉").is_err());
        assert!(Pattern::parse("!!").is_err());
    }

    #[test]
    fn sound_alikes_and_alike_parts() {
        // A phrase of up to three syllables must sound the same; a part of a longer
        // pattern, or a phrase of four or more, may be one syllable off.
        let text = t("有本事就去投足我");
        assert_eq!(
            sound_alikes(&text, &Phrase::new("投诉")),
            Vec::<Range<usize>>::new()
        );
        let p = Pattern::parse("有本事…投诉").unwrap();
        assert_eq!(p.alike_parts(&text), vec![(5..7, "投诉".to_string())]);
        let text = t("这事不规我管");
        assert_eq!(sound_alikes(&text, &Phrase::new("不归我管")), vec![2..6]);
        let text = t("这事不贵我管");
        assert_eq!(sound_alikes(&text, &Phrase::new("不归我管")), vec![2..6]);
        let text = t("有本事去投素我");
        let p = Pattern::parse("有本事…投诉").unwrap();
        assert_eq!(p.alike_parts(&text), vec![(4..6, "投诉".to_string())]);
        // The phrase itself is not an alike, and a part without its neighbours is none.
        assert_eq!(sound_alikes(&t("不知道"), &Phrase::new("不知道")), vec![]);
        assert_eq!(
            sound_alikes(&t("我不只道"), &Phrase::new("不知道")),
            vec![1..4]
        );
        assert_eq!(sound_alikes(&t("有什么"), &Phrase::new("急什么")), vec![]);
        assert_eq!(p.alike_parts(&t("去投素我")), vec![]);
        assert_eq!(toneless('为'), Some("wei"));
    }

    #[test]
    fn token_probabilities_align() {
        let toks = [
            Token {
                text: "您好,".into(),
                start_ms: 0,
                end_ms: 1,
                p: 0.9,
            },
            Token {
                text: "光力".into(),
                start_ms: 1,
                end_ms: 2,
                p: 0.2,
            },
            Token {
                text: "物业".into(),
                start_ms: 2,
                end_ms: 3,
                p: 0.8,
            },
        ];
        let text = Text::new("您好光力物业", Some(&toks));
        assert_eq!(text.min_p(0..2), Some(0.9));
        assert_eq!(text.min_p(2..6), Some(0.2));
    }
}
