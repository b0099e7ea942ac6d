//! Normalisation of transcripts and phrases so that what Whisper prints and what a rubric
//! says compare equal: full-width → half-width, Traditional → Simplified (fast2s),
//! punctuation, symbols and whitespace removed, ASCII lower-cased. Offsets in reports are
//! character offsets into this normalised text.
//!
//! A leaf: it imports nothing from the rest of the crate, so the scenario loader, the grader
//! and the review screens can all use it without depending on one another.

use pinyin::ToPinyin;

/// The normalised form of `s`. Idempotent.
pub fn normalize(s: &str) -> String {
    let folded: String = s
        .chars()
        .map(fold_width)
        .filter(|c| c.is_alphanumeric())
        .collect();
    // Convert after stripping so the converter sees the same neighbours on a second pass.
    fast2s::convert(&folded)
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Where each character of [`normalize`]`(s)` came from: its character index in `s`.
/// None when the conversion to Simplified changed the number of characters (it works
/// character for character on everything Whisper writes, but a table may map a phrase),
/// so that nobody maps an offset to the wrong character.
pub fn normalized_positions(s: &str) -> Option<Vec<usize>> {
    let kept: Vec<usize> = s
        .chars()
        .enumerate()
        .filter(|&(_, c)| fold_width(c).is_alphanumeric())
        .map(|(i, _)| i)
        .collect();
    (normalize(s).chars().count() == kept.len()).then_some(kept)
}

/// Full-width ASCII forms (Ａ, ０, ，) and the ideographic space to their half-width forms.
fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Toneless pinyin of a character (default reading), or None for non-Han characters.
pub fn syllable(c: char) -> Option<&'static str> {
    c.to_pinyin().map(|p| p.plain())
}

/// How `s` sounds, for searching by sound as the grader matches: its normalised characters
/// as toneless pinyin syllables (other characters as themselves), each with a space before
/// and after, so that " guang li " is found in " ni hao guang li wu ye " (广利 in 您好广立物业)
/// and only on syllable boundaries.
pub fn sound(s: &str) -> String {
    let mut out = String::from(" ");
    for c in normalize(s).chars() {
        match syllable(c) {
            Some(p) => out.push_str(p),
            None => out.push(c),
        }
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_punctuation_and_width_and_converts() {
        assert_eq!(
            normalize("您好，廣利物業！ 請問有什麼可以幫您？"),
            "您好广利物业请问有什么可以帮您"
        );
        assert_eq!(normalize("ＡＢＣ　１２3"), "abc123");
        assert_eq!(normalize("“喂”……——"), "喂");
        assert_eq!(normalize(""), "");
    }

    #[test]
    fn homophones_sound_alike_on_syllable_boundaries() {
        assert_eq!(sound("广立物业"), " guang li wu ye ");
        assert!(sound("喂,你好,广立物业。").contains(sound("广利物业").as_str()));
        assert_eq!(sound("OK 1"), " o k 1 ");
        // "an" is not found inside "guang": syllables are whole.
        assert!(!sound("广").contains(" an "));
        assert_eq!(sound(""), " ");
    }

    #[test]
    fn normalised_offsets_map_back_to_the_characters_they_came_from() {
        let raw = "您好，廣利物業！ 請問?";
        let pos = normalized_positions(raw).unwrap();
        assert_eq!(normalize(raw), "您好广利物业请问");
        assert_eq!(pos, vec![0, 1, 3, 4, 5, 6, 9, 10]);
        let chars: Vec<char> = raw.chars().collect();
        // 广利物业 (normalised 2..6) is 廣利物業 in the original.
        assert_eq!(
            chars[pos[2]..=pos[5]].iter().collect::<String>(),
            "廣利物業"
        );
        assert_eq!(normalized_positions(""), Some(vec![]));
        assert_eq!(normalized_positions("ＡＢ,c"), Some(vec![0, 1, 3]));
    }

    #[test]
    fn syllables_are_toneless() {
        assert_eq!(syllable('广'), Some("guang"));
        assert_eq!(syllable('光'), Some("guang"));
        assert_eq!(syllable('a'), None);
    }
}
