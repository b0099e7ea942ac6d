//! Whisper's text vocabulary as whisper.cpp wants it: raw token bytes. CTranslate2 (like
//! Hugging Face) stores GPT-2 byte-level BPE tokens as printable unicode strings, where each
//! byte was mapped to a visible character; this module undoes that map.

use std::collections::HashMap;

/// The text that marks the end of the ordinary tokens; everything from it on is a special
/// token that whisper.cpp synthesises itself.
pub const END_OF_TEXT: &str = "<|endoftext|>";

/// GPT-2's byte → unicode map: printable Latin-1 bytes map to themselves, the other 68 bytes
/// to U+0100.. in byte order.
pub fn gpt2_byte_encoder() -> [char; 256] {
    let printable = |b: u32| {
        (u32::from('!')..=u32::from('~')).contains(&b)
            || (u32::from('¡')..=u32::from('¬')).contains(&b)
            || (u32::from('®')..=u32::from('ÿ')).contains(&b)
    };
    let mut map = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..256u32 {
        let c = if printable(b) {
            b
        } else {
            next += 1;
            next - 1
        };
        map[b as usize] = char::from_u32(c).expect("code points below U+0200 are valid");
    }
    map
}

/// The inverse map, unicode character → byte.
pub fn gpt2_byte_decoder() -> HashMap<char, u8> {
    gpt2_byte_encoder()
        .iter()
        .enumerate()
        .map(|(b, &c)| (c, b as u8))
        .collect()
}

/// Decode one byte-level token string to its bytes; `Err(c)` names a character outside the
/// map (the file is not a byte-level BPE vocabulary).
pub fn token_bytes(token: &str, decoder: &HashMap<char, u8>) -> Result<Vec<u8>, char> {
    token
        .chars()
        .map(|c| decoder.get(&c).copied().ok_or(c))
        .collect()
}

/// Split `vocabulary.txt` into tokens. Only '\n' separates tokens: some tokens contain
/// '\r', U+2028 and other characters that `str::lines` would also split on.
pub fn split_vocabulary_txt(text: &str) -> Vec<&str> {
    let mut tokens: Vec<&str> = text.split('\n').collect();
    if tokens.last() == Some(&"") {
        tokens.pop(); // the newline that ends the last line
    }
    tokens
}

/// The ordinary tokens (everything before `<|endoftext|>`) as raw bytes, ready for ggml.
pub fn text_tokens_as_bytes<S: AsRef<str>>(tokens: &[S]) -> Result<Vec<Vec<u8>>, String> {
    let eot = tokens
        .iter()
        .position(|t| t.as_ref() == END_OF_TEXT)
        .ok_or_else(|| format!("the vocabulary has no {END_OF_TEXT} token"))?;
    let decoder = gpt2_byte_decoder();
    tokens[..eot]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            token_bytes(t.as_ref(), &decoder).map_err(|c| {
                format!(
                    "token {i} ({:?}) has the character {c:?}, which is not in GPT-2's byte map",
                    t.as_ref()
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoder_is_a_bijection_onto_its_image() {
        let enc = gpt2_byte_encoder();
        let dec = gpt2_byte_decoder();
        assert_eq!(dec.len(), 256);
        for b in 0..=255u8 {
            assert_eq!(dec[&enc[b as usize]], b);
        }
    }

    #[test]
    fn known_mappings() {
        let enc = gpt2_byte_encoder();
        assert_eq!(enc[b'A' as usize], 'A');
        assert_eq!(enc[b' ' as usize], 'Ġ'); // U+0120: space is the 33rd unprintable byte
        assert_eq!(enc[b'\n' as usize], 'Ċ'); // U+010A
        assert_eq!(enc[0], 'Ā'); // U+0100
        assert_eq!(enc[0xad], 'Ń'); // soft hyphen is unprintable: U+0143
        assert_eq!(enc[0xff], 'ÿ');
    }

    #[test]
    fn decodes_chinese_tokens_to_utf8() {
        let dec = gpt2_byte_decoder();
        // 您 is E6 82 A8 in UTF-8; GPT-2 shows those bytes as æ, Ĥ (0x82 → U+0124), ¨.
        assert_eq!(token_bytes("æĤ¨", &dec).unwrap(), "您".as_bytes());
        assert_eq!(token_bytes("Ġhello", &dec).unwrap(), b" hello");
        assert_eq!(token_bytes("", &dec).unwrap(), b"");
        assert_eq!(token_bytes("中", &dec), Err('中'));
    }

    #[test]
    fn splits_on_newline_only() {
        let text = "a\nb\rc\n\u{2028}\n\nz\n";
        assert_eq!(
            split_vocabulary_txt(text),
            vec!["a", "b\rc", "\u{2028}", "", "z"]
        );
    }

    #[test]
    fn stops_before_end_of_text() {
        let toks = ["!", "Ġa", "", "<|endoftext|>", "<|startoftranscript|>"];
        let out = text_tokens_as_bytes(&toks).unwrap();
        assert_eq!(out, vec![b"!".to_vec(), b" a".to_vec(), vec![]]);
        assert!(text_tokens_as_bytes(&["a", "b"]).is_err());
    }
}
