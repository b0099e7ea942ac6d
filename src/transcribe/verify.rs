//! Asking the model about a reading: after the free decode of a reply, how likely does the
//! model find the same audio to say something else — the expected 广利物业 where it wrote
//! 广立物业, or a 喂 at the onset that it did not write? Whisper *base* mishears names and
//! drops short words, and a verdict must not rest on that alone.
//!
//! A [`Reading`] is the whole transcript as it would read with one phrase changed; the
//! transcriber scores it by teacher-forced decoding against the encoder output it already
//! has, and the same forced method scores what it wrote itself, so the [`ReadingScore`]'s
//! `margin` compares like with like: 0 means "as likely as what the model wrote",
//! −15 means "far less likely". [`Thresholds`] turn a margin into [`Likeness`], from a
//! calibration on voiced lines (`tests/data/verify-calibration.md`).
//!
//! Everything here is pure: building readings from a transcript, mapping a reading onto the
//! model's own tokens (so the unchanged parts are compared token for token, in the script —
//! Traditional or Simplified — that the model chose), and classifying margins. The decoding
//! itself lives with the model in [`super::whisper`].

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::text::simplify;

/// The transcript of the last reply as it would read with one phrase changed, in
/// Simplified characters like [`super::Transcript::text`]. Build it with
/// [`Reading::substitute`], [`Reading::insert`] or [`Reading::at_onset`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    pub text: String,
}

/// A reading that cannot be built: the span or position lies outside the transcript.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot build a reading: {0}")]
pub struct EditError(String);

impl Reading {
    pub fn new(text: impl Into<String>) -> Reading {
        Reading { text: text.into() }
    }

    /// `transcript` with the characters `chars` (character indices, end exclusive)
    /// replaced by `phrase`: the expected 广利物业 where 广立物业 was heard, or a banned
    /// phrase where a near-homophone was heard.
    pub fn substitute(
        transcript: &str,
        chars: Range<usize>,
        phrase: &str,
    ) -> Result<Reading, EditError> {
        let n = transcript.chars().count();
        if chars.start > chars.end || chars.end > n {
            return Err(EditError(format!(
                "characters {}..{} are outside a transcript of {n} characters",
                chars.start, chars.end
            )));
        }
        let mut text = String::with_capacity(transcript.len() + phrase.len());
        text.extend(transcript.chars().take(chars.start));
        text.push_str(phrase);
        text.extend(transcript.chars().skip(chars.end));
        Ok(Reading { text })
    }

    /// `transcript` with `phrase` inserted before character `at` (`at` = the character
    /// count appends it): a word the model may have dropped.
    pub fn insert(transcript: &str, at: usize, phrase: &str) -> Result<Reading, EditError> {
        Self::substitute(transcript, at..at, phrase)
    }

    /// `transcript` with `phrase` in front of everything it heard: 喂 at the onset.
    pub fn at_onset(transcript: &str, phrase: &str) -> Reading {
        Reading {
            text: format!("{phrase}{transcript}"),
        }
    }
}

/// How the model judged one reading against what it wrote itself.
///
/// Both sides are scored by the same forced decode, from the first token where they differ
/// to the end of the comparison (the end of the transcript, or a few tokens after the
/// reading rejoins it, see [`ScoreConfig::tail_tokens`]); the tokens before that are the
/// same on both sides and cancel, so they are not summed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadingScore {
    /// The reading as asked (Simplified).
    pub text: String,
    /// The reading as scored: the changed part in the script the model wrote.
    pub scored_text: String,
    /// Sum of `token_logprobs`.
    pub logprob: f32,
    /// Natural-log probability of each compared token of the reading.
    pub token_logprobs: Vec<f32>,
    /// What the model wrote, over the same stretch: sum and per token.
    pub free_logprob: f32,
    pub free_token_logprobs: Vec<f32>,
    /// `logprob − free_logprob`: 0 when the model finds the reading as likely as what it
    /// wrote, negative when less likely (positive is possible: greedy decoding is not the
    /// most likely sequence).
    pub margin: f32,
}

impl ReadingScore {
    /// Tokens of the reading that were compared.
    pub fn tokens(&self) -> usize {
        self.token_logprobs.len()
    }

    /// A reading identical to the transcript: nothing to compare, margin 0.
    pub(crate) fn same_as_heard(reading: &Reading) -> ReadingScore {
        ReadingScore {
            text: reading.text.clone(),
            scored_text: reading.text.clone(),
            logprob: 0.0,
            token_logprobs: vec![],
            free_logprob: 0.0,
            free_token_logprobs: vec![],
            margin: 0.0,
        }
    }
}

/// What [`super::Transcriber::score_readings`] returns: one result per reading, or an
/// error that stopped them all.
pub type Scored = Result<Vec<Result<ReadingScore, ScoreError>>, ScoreError>;

/// Why a reading (or all of them) could not be scored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    #[error("no reply has been transcribed yet (or nothing was heard): there is nothing to compare a reading with")]
    NothingHeard,
    #[error("this transcriber cannot score readings")]
    NotSupported,
    #[error("the reading {reading:?} cannot be laid over the model's tokens: {detail}")]
    Unmappable { reading: String, detail: String },
    #[error("the reply is {secs:.1} s of speech, longer than one 30 s Whisper window: readings are not scored")]
    TooLong { secs: f32 },
    #[error("whisper.cpp failed while scoring a reading: {detail}")]
    Engine { detail: String },
}

/// One reading asked about the reply last transcribed, and what came of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Asked {
    pub reading: Reading,
    pub result: Result<ReadingScore, ScoreError>,
}

/// Asks `transcriber` about `readings` of the reply it transcribed last, each reading
/// once (the first of any duplicates keeps its place). An error that stopped them all is
/// every reading's answer: a reading is never silently left out.
pub fn ask<T: super::Transcriber + ?Sized>(
    transcriber: &mut T,
    readings: Vec<Reading>,
) -> Vec<Asked> {
    let mut unique: Vec<Reading> = Vec::with_capacity(readings.len());
    for r in readings {
        if !unique.contains(&r) {
            unique.push(r);
        }
    }
    if unique.is_empty() {
        return Vec::new();
    }
    match transcriber.score_readings(&unique) {
        Ok(scores) => unique
            .into_iter()
            .zip(scores.into_iter().map(Some).chain(std::iter::repeat(None)))
            .map(|(reading, score)| Asked {
                reading,
                result: score.unwrap_or(Err(ScoreError::Engine {
                    detail: "the transcriber returned fewer scores than readings".into(),
                })),
            })
            .collect(),
        Err(e) => unique
            .into_iter()
            .map(|reading| Asked {
                reading,
                result: Err(e.clone()),
            })
            .collect(),
    }
}

/// How readings are scored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreConfig {
    /// Threads for the forced decode. One token per call is too little work to share out,
    /// and a single thread does not spin against other programs on a busy desk.
    pub threads: usize,
    /// Compare only this many tokens after a reading rejoins the transcript (`None`: to
    /// the end). The tail's probabilities hardly depend on the change, so a short tail
    /// keeps the cost per reading small; the calibration measures what it changes.
    pub tail_tokens: Option<usize>,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        ScoreConfig {
            threads: 1,
            tail_tokens: Some(4),
        }
    }
}

/// What a margin says about a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Likeness {
    /// About as likely as what the model wrote: the audio supports the reading as well
    /// as the transcript (an expected phrase counts as said; a banned one may have been).
    AboutAsLikely,
    /// Between the two thresholds: the audio does not decide.
    Uncertain,
    /// Clearly less likely: the transcript stands.
    ClearlyLess,
}

/// Margins that separate [`Likeness`] classes, in natural-log units over a whole reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// At or above: [`Likeness::AboutAsLikely`].
    pub about_as_likely: f32,
    /// Below: [`Likeness::ClearlyLess`].
    pub clearly_less: f32,
}

impl Thresholds {
    /// Derived from `tests/data/verify-calibration.jsonl` (720 questions on 203 voiced
    /// replies; `tests/data/verify-calibration.md` has the distributions): no phrase that
    /// was not said reached −4 except 您好 where 你好 was said (the model does not tell
    /// 您 from 你: never let this pass a greeting), and none reached −8 except 再见 where
    /// 拜拜 was said (−5.5, −6.8); 64 % of expected and 68 % of banned phrases that were
    /// said reach −4, 85 % and 89 % reach −8. An expected phrase whose stretch sounds like
    /// it passes from −8 (the grader's rule, `grading::verify`): none not said reached −8
    /// (highest −8.75), 92 % of those said do.
    pub const CALIBRATED: Thresholds = Thresholds {
        about_as_likely: -4.0,
        clearly_less: -8.0,
    };

    pub fn classify(&self, margin: f32) -> Likeness {
        if margin >= self.about_as_likely {
            Likeness::AboutAsLikely
        } else if margin < self.clearly_less {
            Likeness::ClearlyLess
        } else {
            Likeness::Uncertain
        }
    }
}

// ---- Laying a reading over the model's own tokens ------------------------------------

/// One text token of the free decode, as the model emitted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FreeToken {
    pub id: i32,
    pub bytes: Vec<u8>,
    /// False for tokens of a segment dropped from the transcript (a known hallucination):
    /// they stay in the scored sequence on both sides but no reading can change them.
    pub visible: bool,
}

/// Replace free tokens `start..end` by the tokens of `middle` (in the model's script).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenEdit {
    pub start: usize,
    pub end: usize,
    pub middle: String,
    /// The whole reading in the model's script, for the report.
    pub scored_text: String,
}

/// Maps `reading` (a variant of `transcript`, the text the transcriber returned for the
/// free decode `free`) onto the free tokens: which tokens change and into what text.
/// `None` when the reading is the transcript itself. `tokens_of` is the model's tokenizer
/// (it picks the Traditional forms the model knows best).
pub(crate) fn plan_edit(
    free: &[FreeToken],
    transcript: &str,
    reading: &str,
    tokens_of: &dyn Fn(&str) -> Vec<i32>,
) -> Result<Option<TokenEdit>, ScoreError> {
    let fail = |detail: &str| ScoreError::Unmappable {
        reading: reading.to_string(),
        detail: detail.to_string(),
    };
    // The visible text exactly as the model wrote it, and which token owns each byte.
    let mut buf = Vec::new();
    let mut owner = Vec::new();
    for (k, t) in free.iter().enumerate() {
        if t.visible {
            buf.extend_from_slice(&t.bytes);
            owner.extend(std::iter::repeat_n(k, t.bytes.len()));
        }
    }
    let raw =
        String::from_utf8(buf).map_err(|_| fail("the model's text there is not valid UTF-8"))?;

    // Where the reading departs from the transcript, in characters.
    let t: Vec<char> = transcript.chars().collect();
    let r: Vec<char> = reading.chars().collect();
    let pre = t.iter().zip(&r).take_while(|(a, b)| a == b).count();
    let max_suf = t.len().min(r.len()) - pre;
    let suf = t
        .iter()
        .rev()
        .zip(r.iter().rev())
        .take(max_suf)
        .take_while(|(a, b)| a == b)
        .count();
    if pre == t.len() && pre == r.len() {
        return Ok(None);
    }
    let (a_char, b_char) = (pre, t.len() - suf);
    let replacement: String = r[pre..r.len() - suf].iter().collect();

    // Transcript characters → byte offsets in the raw text. The transcript is the raw
    // text converted to Simplified character for character, with segment edges trimmed
    // and a space between two Latin words of different segments.
    let raw_chars: Vec<(usize, char)> = raw.char_indices().collect();
    let raw_simple: Vec<char> = simplify(&raw).chars().collect();
    let same = |i: usize, c: char| {
        let (_, rc) = raw_chars[i];
        rc == c || raw_simple.get(i) == Some(&c) || simplify(&rc.to_string()).starts_with(c)
    };
    let mut at = Vec::with_capacity(t.len() + 1); // byte offset of each transcript char
    let mut i = 0;
    for &c in &t {
        while i < raw_chars.len() && !same(i, c) && raw_chars[i].1.is_whitespace() {
            i += 1;
        }
        if i < raw_chars.len() && same(i, c) {
            at.push(raw_chars[i].0);
            i += 1;
        } else if c.is_whitespace() {
            at.push(raw_chars.get(i).map_or(raw.len(), |x| x.0));
        } else {
            return Err(fail("the transcript does not match the model's tokens"));
        }
    }
    let end_of = |k: usize| -> usize {
        // Just after transcript char k-1 (before any trailing whitespace).
        if k == 0 {
            at.first().copied().unwrap_or(0)
        } else {
            let b = at[k - 1];
            b + raw[b..].chars().next().map_or(0, char::len_utf8)
        }
    };
    let a = if a_char < t.len() {
        at[a_char]
    } else {
        end_of(a_char)
    };
    let b = if b_char == a_char { a } else { end_of(b_char) };

    // Whole tokens around the change, widened to character boundaries.
    let last_visible = owner.last().copied();
    let tok_start = |k: usize| owner.iter().position(|&o| o == k);
    let tok_end = |k: usize| owner.iter().rposition(|&o| o == k).map(|p| p + 1);
    let (mut lo, mut hi, mut lo_byte, mut hi_byte);
    if a < owner.len() {
        lo = owner[a];
        lo_byte = tok_start(lo).unwrap_or(a);
    } else {
        lo = last_visible.map_or(0, |k| k + 1);
        lo_byte = raw.len();
    }
    if b > a {
        hi = owner[b - 1] + 1;
        hi_byte = tok_end(hi - 1).unwrap_or(b);
    } else if a < owner.len() && lo_byte < a {
        hi = lo + 1;
        hi_byte = tok_end(lo).unwrap_or(a);
    } else {
        hi = lo;
        hi_byte = lo_byte;
    }
    while !raw.is_char_boundary(lo_byte) && lo > 0 {
        lo -= 1;
        lo_byte = tok_start(lo).unwrap_or(lo_byte);
    }
    while !raw.is_char_boundary(hi_byte) && hi < free.len() {
        hi += 1;
        hi_byte = tok_end(hi - 1).unwrap_or(hi_byte);
    }
    if !raw.is_char_boundary(lo_byte) || !raw.is_char_boundary(hi_byte) {
        return Err(fail("the change splits a character the model wrote"));
    }
    if free[lo..hi].iter().any(|t| !t.visible) {
        return Err(fail(
            "the change spans a segment left out of the transcript",
        ));
    }

    let in_script = to_model_script(&replacement, &raw, tokens_of);
    let middle = format!("{}{}{}", &raw[lo_byte..a], in_script, &raw[b..hi_byte]);
    let scored_text = format!("{}{}{}", &raw[..a], in_script, &raw[b..]);
    Ok(Some(TokenEdit {
        start: lo,
        end: hi,
        middle,
        scored_text,
    }))
}

/// True when the model wrote Traditional characters (some character changes when
/// simplified); text that reads the same in both scripts counts as Simplified.
pub(crate) fn writes_traditional(model_text: &str) -> bool {
    model_text
        .chars()
        .any(|c| simplify(&c.to_string()) != c.to_string())
}

/// `s` (Simplified) written in the script of `model_text`. In Traditional: a character
/// the model itself wrote is reused (it wrote 廣 for 广); otherwise, among the character
/// and every Traditional form that simplifies to it, the one the model's vocabulary knows
/// best: the fewest tokens (喂 over 餵, 管 over 琯), then, as one token, the earliest
/// learned (lowest id: 裡 over 里, 為 over 为), else a Traditional form over the
/// Simplified one (廣 over 广, both two byte tokens).
pub(crate) fn to_model_script(
    s: &str,
    model_text: &str,
    tokens_of: &dyn Fn(&str) -> Vec<i32>,
) -> String {
    if !writes_traditional(model_text) {
        return s.to_string();
    }
    let seen: HashMap<char, char> = model_text
        .chars()
        .filter_map(|c| {
            let simple = simplify(&c.to_string()).chars().next()?;
            (simple != c).then_some((simple, c))
        })
        .collect();
    s.chars()
        .map(|c| {
            if let Some(&t) = seen.get(&c) {
                return t;
            }
            let forms = traditional_forms(c);
            if forms.is_empty() {
                return c;
            }
            std::iter::once(c)
                .chain(forms.iter().copied())
                .min_by_key(|&f| {
                    let ids = tokens_of(&f.to_string());
                    let id = if ids.len() == 1 { ids[0] } else { 0 };
                    (ids.len(), id, f == c, f as u32)
                })
                .unwrap_or(c)
        })
        .collect()
}

/// Every Traditional character that simplifies to `c` (none for characters written the
/// same in both scripts), from the same table as [`simplify`], inverted once.
fn traditional_forms(c: char) -> &'static [char] {
    static TABLE: OnceLock<HashMap<char, Vec<char>>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut m: HashMap<char, Vec<char>> = HashMap::new();
        // CJK Unified Ideographs and Extension A: every character the table converts.
        for cp in (0x3400u32..0x4DC0).chain(0x4E00..0xA000) {
            let Some(t) = char::from_u32(cp) else {
                continue;
            };
            let s = simplify(&t.to_string());
            let mut it = s.chars();
            if let (Some(sc), None) = (it.next(), it.next()) {
                if sc != t {
                    m.entry(sc).or_default().push(t);
                }
            }
        }
        m
    });
    table.get(&c).map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(pieces: &[&str]) -> Vec<FreeToken> {
        pieces
            .iter()
            .enumerate()
            .map(|(i, p)| FreeToken {
                id: 1000 + i as i32,
                bytes: p.as_bytes().to_vec(),
                visible: true,
            })
            .collect()
    }

    /// A stand-in for Whisper's tokenizer: the counts and ids it gives these characters
    /// (廣 and 广 are two byte tokens each; 為 was learned before 为), else one
    /// token per character numbered by its code point.
    fn one(s: &str) -> Vec<i32> {
        match s {
            "广" => vec![3509, 123],
            "廣" => vec![17527, 96],
            "为" => vec![13992],
            "為" => vec![6344],
            "爲" => vec![8164, 110],
            "喂" => vec![35142],
            "餵" => vec![22217, 113],
            "餧" => vec![22217, 100],
            "管" => vec![23131],
            "归" => vec![7391, 240],
            "歸" => vec![4287, 116],
            "琯" => vec![10568, 107],
            "筦" => vec![7973, 99],
            _ => s.chars().map(|c| c as i32).collect(),
        }
    }

    #[test]
    fn readings_substitute_and_insert_by_character() {
        let heard = "您好,广立物业,请问有什么可以帮您?";
        let r = Reading::substitute(heard, 3..7, "广利物业").unwrap();
        assert_eq!(r.text, "您好,广利物业,请问有什么可以帮您?");
        assert_eq!(
            Reading::at_onset(heard, "喂,").text,
            "喂,您好,广立物业,请问有什么可以帮您?"
        );
        assert_eq!(Reading::insert("你找谁", 0, "喂").unwrap().text, "喂你找谁");
        assert_eq!(Reading::insert("你找谁", 3, "?").unwrap().text, "你找谁?");
        assert_eq!(
            Reading::substitute("为你找谁", 0..1, "喂").unwrap().text,
            "喂你找谁"
        );
        // Deleting is a substitution by nothing.
        assert_eq!(
            Reading::substitute("好的好的", 2..4, "").unwrap().text,
            "好的"
        );
        assert!(Reading::substitute("你好", 1..3, "x").is_err());
        assert!(Reading::insert("你好", 3, "x").is_err());
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = 2..1;
        assert!(Reading::substitute("你好", backwards, "x").is_err());
    }

    #[test]
    fn a_substitution_replaces_only_the_tokens_it_touches() {
        let free = toks(&["您好", ",", "广", "立", "物", "业", ",", "请问"]);
        let heard = "您好,广立物业,请问";
        let e = plan_edit(&free, heard, "您好,广利物业,请问", &one)
            .unwrap()
            .unwrap();
        assert_eq!((e.start, e.end, e.middle.as_str()), (3, 4, "利"));
        assert_eq!(e.scored_text, "您好,广利物业,请问");
        // The same reading is no change at all.
        assert_eq!(plan_edit(&free, heard, heard, &one).unwrap(), None);
    }

    #[test]
    fn an_insertion_at_the_onset_or_the_end_touches_no_token() {
        let free = toks(&["您好", ",", "广利"]);
        let heard = "您好,广利";
        let e = plan_edit(&free, heard, "喂,您好,广利", &one)
            .unwrap()
            .unwrap();
        assert_eq!((e.start, e.end, e.middle.as_str()), (0, 0, "喂,"));
        let e = plan_edit(&free, heard, "您好,广利。", &one)
            .unwrap()
            .unwrap();
        assert_eq!((e.start, e.end, e.middle.as_str()), (3, 3, "。"));
    }

    #[test]
    fn a_change_inside_a_multi_character_token_rewrites_that_token() {
        let free = toks(&["投", "足我"]);
        let e = plan_edit(&free, "投足我", "投诉我", &one).unwrap().unwrap();
        assert_eq!((e.start, e.end, e.middle.as_str()), (1, 2, "诉我"));
        // An insertion in the middle of a token keeps the token's other characters.
        let free = toks(&["您好您好"]);
        let e = plan_edit(&free, "您好您好", "您好喂您好", &one)
            .unwrap()
            .unwrap();
        assert_eq!((e.start, e.end, e.middle.as_str()), (0, 1, "您好喂您好"));
    }

    #[test]
    fn a_character_split_over_byte_tokens_is_replaced_whole() {
        // 廣 as two byte tokens, as Whisper writes rare characters.
        let g = "廣".as_bytes();
        let mut free = toks(&["您好,"]);
        free.push(FreeToken {
            id: 1,
            bytes: g[..2].to_vec(),
            visible: true,
        });
        free.push(FreeToken {
            id: 2,
            bytes: g[2..].to_vec(),
            visible: true,
        });
        free.extend(toks(&["立", "物業"]));
        // The transcript is Simplified; the model wrote Traditional.
        let e = plan_edit(&free, "您好,广立物业", "您好,广利物业", &one)
            .unwrap()
            .unwrap();
        assert_eq!((e.start, e.end, e.middle.as_str()), (3, 4, "利"));
        assert_eq!(e.scored_text, "您好,廣利物業");
        // Changing 广 itself takes both of its byte tokens.
        let e = plan_edit(&free, "您好,广立物业", "您好,光立物业", &one)
            .unwrap()
            .unwrap();
        assert_eq!((e.start, e.end, e.middle.as_str()), (1, 3, "光"));
    }

    #[test]
    fn segment_edges_trimmed_from_the_transcript_still_map() {
        // Whisper often starts a segment with a space; the transcript trims it.
        let free = toks(&[" 您好", "。", " 请问", "?"]);
        let heard = "您好。请问?";
        let e = plan_edit(&free, heard, "喂您好。请问?", &one)
            .unwrap()
            .unwrap();
        assert_eq!((e.start, e.end, e.middle.as_str()), (0, 1, " 喂您好"));
        let e = plan_edit(&free, heard, "您好。喂请问?", &one)
            .unwrap()
            .unwrap();
        assert_eq!((e.start, e.end, e.middle.as_str()), (2, 3, " 喂请问"));
    }

    #[test]
    fn hidden_segments_stay_in_place_and_cannot_be_edited() {
        let mut free = toks(&["您好", "谢谢观看", "请问"]);
        free[1].visible = false;
        let heard = "您好请问";
        let e = plan_edit(&free, heard, "您好,请问", &one).unwrap().unwrap();
        // The insertion lands before the next visible token, after the hidden one.
        assert_eq!((e.start, e.end, e.middle.as_str()), (2, 2, ","));
        let err = plan_edit(&free, heard, "您请", &one).unwrap_err();
        assert!(matches!(err, ScoreError::Unmappable { .. }), "{err}");
        // A transcript that is not what the tokens say is refused, not guessed.
        let err = plan_edit(&free, "别的话", "别的", &one).unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
    }

    #[test]
    fn the_reading_is_written_in_the_script_the_model_chose() {
        // Simplified (or script-neutral) model text: unchanged.
        assert_eq!(to_model_script("投诉", "有本事就去投足我", &one), "投诉");
        // Traditional: characters the model wrote are reused, others looked up.
        assert_eq!(to_model_script("广利物业", "廣立物業", &one), "廣利物業");
        assert_eq!(to_model_script("广利", "請", &one), "廣利");
        assert_eq!(to_model_script("投诉", "請您別著急", &one), "投訴");
        assert_eq!(to_model_script("你问我我问谁", "請", &one), "你問我我問誰");
        // Where the Simplified character is also the common Traditional one, it stays:
        // 喂 (餵 is "to feed"), 管 (琯 is a jade tube).
        assert_eq!(to_model_script("喂", "請", &one), "喂");
        assert_eq!(to_model_script("不归我管", "請", &one), "不歸我管");
        // Among single-token forms the earliest learned wins.
        assert_eq!(to_model_script("为", "請", &one), "為");
        let late = |s: &str| if s == "為" { vec![40000] } else { one(s) };
        assert_eq!(to_model_script("为", "請", &late), "为");
        assert!(writes_traditional("廣立"));
        assert!(!writes_traditional("不知道"));
    }

    #[test]
    fn margins_fall_into_three_classes() {
        let th = Thresholds {
            about_as_likely: -3.0,
            clearly_less: -8.0,
        };
        assert_eq!(th.classify(0.5), Likeness::AboutAsLikely);
        assert_eq!(th.classify(-3.0), Likeness::AboutAsLikely);
        assert_eq!(th.classify(-5.0), Likeness::Uncertain);
        assert_eq!(th.classify(-8.0), Likeness::Uncertain);
        assert_eq!(th.classify(-8.1), Likeness::ClearlyLess);
        // Not a number is no evidence either way.
        assert_eq!(th.classify(f32::NAN), Likeness::Uncertain);
    }
}
