//! Speech → text. [`Transcriber`] is the seam between the product and the model; the
//! whisper-rs implementation is the only code that imports whisper-rs.

use serde::{Deserialize, Serialize};

/// One decoded token with its timing and probability, kept so the grader can say
/// `uncertain` where evidence rests on tokens the model was unsure of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// Token text, already Simplified.
    pub text: String,
    pub start_ms: u64,
    pub end_ms: u64,
    /// Probability the model gave this token, 0.0–1.0.
    pub p: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_ms: u64,
    pub end_ms: u64,
    /// Segment text, already Simplified.
    pub text: String,
    pub tokens: Vec<Token>,
}

/// What the model heard. `text` is empty when no speech was heard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub text: String,
    pub segments: Vec<Segment>,
}

impl Transcript {
    /// Every token of every segment, in order.
    pub fn tokens(&self) -> impl Iterator<Item = &Token> {
        self.segments.iter().flat_map(|s| s.tokens.iter())
    }
}
