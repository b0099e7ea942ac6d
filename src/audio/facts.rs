//! Facts about a reply measured from the signal itself (not from Whisper's timestamps,
//! which drift after silence). The grader turns them into manner-of-speaking checks.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioFacts {
    /// Length of the clip.
    pub duration_ms: u64,
    /// From the start of the clip (pickup) to the first voiced frame; None if nothing was voiced.
    pub first_words_ms: Option<u64>,
    /// Total voiced time.
    pub speaking_ms: u64,
    /// Pauses of at least 300 ms between voiced stretches.
    pub pauses: u32,
    pub longest_pause_ms: u64,
    /// RMS level of the voiced frames, dBFS (negative; -inf-safe: silence is -100).
    pub loudness_dbfs: f32,
    /// Highest sample, dBFS.
    pub peak_dbfs: f32,
    /// Fraction of samples at or beyond full scale (0.0–1.0).
    pub clipped_fraction: f32,
}
