//! Turning Whisper's byte-level tokens into the product's [`Token`]s: a Chinese character
//! is often split over two or three tokens that are not valid UTF-8 alone, so they are
//! merged (timing spanning them, probability the lowest of them — the grader must not be
//! more confident than the weakest piece), and everything is converted to Simplified
//! (Whisper base writes Traditional about half the time). Pure.

use super::Token;

/// A token as whisper.cpp gives it, after special tokens are dropped and times mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct RawToken {
    pub bytes: Vec<u8>,
    pub start_ms: u64,
    pub end_ms: u64,
    pub p: f32,
}

/// Traditional → Simplified. Only characters change; punctuation and Latin stay.
pub fn simplify(s: &str) -> String {
    fast2s::convert(s)
}

/// Merges byte pieces into whole characters and converts them to Simplified. Tokens that
/// end up empty (whitespace-only byte pieces never are; truly empty ones are) are dropped.
pub fn merge_tokens(raw: &[RawToken]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut acc: Option<RawToken> = None;
    for t in raw {
        let cur = match acc.take() {
            Some(mut a) => {
                a.bytes.extend_from_slice(&t.bytes);
                a.end_ms = a.end_ms.max(t.end_ms);
                a.p = a.p.min(t.p);
                a
            }
            None => t.clone(),
        };
        match std::str::from_utf8(&cur.bytes) {
            Ok(_) => push(&mut out, cur),
            // An incomplete character at the end: wait for the next piece.
            Err(e) if e.error_len().is_none() => acc = Some(cur),
            Err(_) => push(&mut out, cur),
        }
    }
    if let Some(rest) = acc {
        push(&mut out, rest);
    }
    out
}

fn push(out: &mut Vec<Token>, t: RawToken) {
    let text = simplify(&String::from_utf8_lossy(&t.bytes));
    if text.is_empty() {
        return;
    }
    out.push(Token {
        text,
        start_ms: t.start_ms,
        end_ms: t.end_ms.max(t.start_ms),
        p: t.p.clamp(0.0, 1.0),
    });
}

/// Phrases Whisper learned from video subtitles and emits on near-silence at the edges
/// of speech ("like and subscribe", subtitle credits, "thanks for watching"). None is
/// something a caller says on a service line, and several contain 谢谢 or 请, so a segment
/// that contains one is dropped rather than allowed to earn politeness points.
const SUBTITLE_HALLUCINATIONS: &[&str] = &[
    "点赞",
    "订阅",
    "转发",
    "打赏",
    "字幕",
    "明镜",
    "谢谢观看",
    "感谢观看",
    "谢谢收看",
    "感谢收看",
    "谢谢大家观看",
    "下期再见",
    "Amara",
];

/// True for a segment that is a known Whisper hallucination, not speech.
pub fn is_known_hallucination(segment_text: &str) -> bool {
    SUBTITLE_HALLUCINATIONS
        .iter()
        .any(|p| segment_text.contains(p))
}

/// Joins segment texts: Chinese needs no separator, but two Latin words must not fuse.
pub fn join_segments<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for t in texts {
        let t = t.trim();
        if t.is_empty() {
            continue;
        }
        let glue = matches!(
            (out.chars().last(), t.chars().next()),
            (Some(a), Some(b)) if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric()
        );
        if glue {
            out.push(' ');
        }
        out.push_str(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(bytes: &[u8], start: u64, end: u64, p: f32) -> RawToken {
        RawToken {
            bytes: bytes.to_vec(),
            start_ms: start,
            end_ms: end,
            p,
        }
    }

    #[test]
    fn split_characters_are_merged_with_the_weakest_probability() {
        let ni = "您".as_bytes(); // 3 bytes
        let toks = [
            raw(&ni[..2], 0, 100, 0.9),
            raw(&ni[2..], 100, 200, 0.4),
            raw("好".as_bytes(), 200, 300, 0.95),
        ];
        let out = merge_tokens(&toks);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].text, "您");
        assert_eq!((out[0].start_ms, out[0].end_ms), (0, 200));
        assert!((out[0].p - 0.4).abs() < 1e-6);
        assert_eq!(out[1].text, "好");
    }

    #[test]
    fn traditional_comes_out_simplified() {
        let toks = [
            raw("請問".as_bytes(), 0, 10, 0.8),
            raw("謝謝".as_bytes(), 10, 20, 0.8),
        ];
        let text: Vec<_> = merge_tokens(&toks).into_iter().map(|t| t.text).collect();
        assert_eq!(text, vec!["请问", "谢谢"]);
        assert_eq!(simplify("廣立物業,您好"), "广立物业,您好");
    }

    #[test]
    fn a_dangling_or_invalid_piece_is_kept_visible_not_dropped() {
        let ni = "您".as_bytes();
        let out = merge_tokens(&[raw(&ni[..1], 0, 10, 0.5)]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].text, "\u{FFFD}");
        let out = merge_tokens(&[raw(&[0xff], 0, 10, 0.5), raw(b"ok", 10, 20, 0.9)]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].text, "ok");
    }

    #[test]
    fn empty_tokens_are_dropped() {
        assert!(merge_tokens(&[raw(b"", 0, 0, 1.0)]).is_empty());
    }

    #[test]
    fn subtitle_phrases_are_hallucinations_and_service_lines_are_not() {
        for h in [
            "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目",
            "谢谢观看",
            "字幕由Amara.org社区提供",
        ] {
            assert!(is_known_hallucination(&simplify(h)), "{h}");
        }
        for ok in [
            "谢谢您的来电,再见。",
            "您好,广利物业,请问有什么可以帮您?",
            "请您稍等",
        ] {
            assert!(!is_known_hallucination(ok), "{ok}");
        }
    }

    #[test]
    fn segments_join_without_spaces_except_between_latin_words() {
        assert_eq!(join_segments([" 您好,", " 广利物业。"]), "您好,广利物业。");
        assert_eq!(join_segments([" hello", " world", ""]), "hello world");
        assert_eq!(join_segments(["APP", "您好"]), "APP您好");
    }
}
