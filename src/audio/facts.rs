//! Facts about a reply measured from the signal itself (not from Whisper's timestamps,
//! which drift after silence). The grader turns them into manner-of-speaking checks.
//!
//! Owns the energy-based voiced-frame detector too: 20 ms frames, a noise floor taken
//! from the clip's own quietest frames (so a hissing line or a humming room is not
//! "speech"), short clicks dropped and short gaps between syllables bridged. It is pure
//! and cheap, and also serves as a second opinion beside the Silero VAD.

use std::ops::Range;

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

impl AudioFacts {
    /// Speech rate in characters per minute of voiced time; None when nothing was voiced
    /// (a rate over zero seconds would be a made-up number).
    pub fn chars_per_minute(&self, chars: usize) -> Option<f32> {
        (self.speaking_ms > 0).then(|| chars as f32 * 60_000.0 / self.speaking_ms as f32)
    }
}

const RATE: usize = 16_000;
/// What stands for "no signal" in dBFS, so silence never produces -inf or NaN.
pub const SILENCE_DBFS: f32 = -100.0;
/// A sample this close to full scale counts as clipped (int16 full scale is 0.99997).
const CLIP_LEVEL: f32 = 0.999;

/// Settings of the voiced-frame detector; the defaults suit a headset at a desk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoicingConfig {
    pub frame_ms: u32,
    /// A frame is voiced when it is this far above the noise floor…
    pub above_floor_db: f32,
    /// …and above this absolute level (digital silence has no meaningful floor).
    pub min_level_dbfs: f32,
    /// Shorter voiced runs are clicks or breaths, not words.
    pub min_run_ms: u32,
    /// Gaps shorter than this inside speech are part of speaking (between syllables).
    pub bridge_ms: u32,
    /// Gaps at least this long count as pauses.
    pub pause_ms: u32,
}

impl Default for VoicingConfig {
    fn default() -> Self {
        Self {
            frame_ms: 20,
            above_floor_db: 10.0,
            min_level_dbfs: -55.0,
            min_run_ms: 60,
            bridge_ms: 300,
            pause_ms: 300,
        }
    }
}

/// Per-frame RMS level in dBFS.
fn frame_levels(samples: &[f32], frame: usize) -> Vec<f32> {
    samples
        .chunks(frame)
        .map(|c| {
            let ms = c.iter().map(|s| s * s).sum::<f32>() / c.len() as f32;
            to_db(ms.sqrt())
        })
        .collect()
}

fn to_db(amplitude: f32) -> f32 {
    if amplitude <= 1e-5 {
        SILENCE_DBFS
    } else {
        (20.0 * amplitude.log10()).max(SILENCE_DBFS)
    }
}

/// The noise floor: the level of the quietest tenth of frames. Speech rarely fills more
/// than 90 % of a reply, and noise that is always there sets the floor on its own.
fn noise_floor(levels: &[f32]) -> f32 {
    if levels.is_empty() {
        return SILENCE_DBFS;
    }
    let mut sorted = levels.to_vec();
    sorted.sort_by(f32::total_cmp);
    sorted[sorted.len() / 10]
}

/// Voiced stretches in 16 kHz sample indices, after dropping clicks and bridging
/// syllable gaps. Empty for silence, steady noise and steady hum.
pub fn voiced_regions(samples_16k: &[f32], cfg: &VoicingConfig) -> Vec<Range<usize>> {
    voiced_frames(samples_16k, cfg).1
}

fn voiced_frames(samples_16k: &[f32], cfg: &VoicingConfig) -> (Vec<bool>, Vec<Range<usize>>) {
    let frame = (RATE * cfg.frame_ms as usize / 1000).max(1);
    let levels = frame_levels(samples_16k, frame);
    let threshold = (noise_floor(&levels) + cfg.above_floor_db).max(cfg.min_level_dbfs);
    let raw: Vec<bool> = levels.iter().map(|&l| l > threshold).collect();

    // Runs of voiced frames, in frames.
    let mut runs: Vec<Range<usize>> = Vec::new();
    let mut start = None;
    for (i, &v) in raw.iter().chain(std::iter::once(&false)).enumerate() {
        match (v, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    let min_run = (cfg.min_run_ms / cfg.frame_ms).max(1) as usize;
    let bridge = (cfg.bridge_ms / cfg.frame_ms) as usize;
    let mut merged: Vec<Range<usize>> = Vec::new();
    for r in runs.into_iter().filter(|r| r.len() >= min_run) {
        match merged.last_mut() {
            Some(last) if r.start - last.end < bridge => last.end = r.end,
            _ => merged.push(r),
        }
    }
    let regions = merged
        .into_iter()
        .map(|r| r.start * frame..(r.end * frame).min(samples_16k.len()))
        .collect();
    (raw, regions)
}

/// How long the clip has been quiet at its end, in ms (the whole clip if it was never
/// voiced). Lets a recorder transcribe at each pause while the trainee is still on the
/// line: if nothing was voiced since the last submission, that transcript is final.
pub fn trailing_silence_ms(samples_16k: &[f32], cfg: &VoicingConfig) -> u64 {
    let end = voiced_regions(samples_16k, cfg).last().map_or(0, |r| r.end);
    ((samples_16k.len() - end.min(samples_16k.len())) as u64 * 1000) / RATE as u64
}

/// Measures a 16 kHz mono reply with the default detector settings.
pub fn measure(samples_16k: &[f32]) -> AudioFacts {
    measure_with(samples_16k, &VoicingConfig::default())
}

pub fn measure_with(samples_16k: &[f32], cfg: &VoicingConfig) -> AudioFacts {
    let ms = |n: usize| (n as u64 * 1000) / RATE as u64;
    let (raw, regions) = voiced_frames(samples_16k, cfg);
    let frame = (RATE * cfg.frame_ms as usize / 1000).max(1);

    let speaking: usize = regions.iter().map(|r| r.len()).sum();
    let gaps: Vec<usize> = regions
        .windows(2)
        .map(|w| w[1].start - w[0].end)
        .filter(|&g| ms(g) >= u64::from(cfg.pause_ms))
        .collect();

    // Loudness over the frames that actually carried voice, not the bridged gaps.
    let mut energy = 0.0f64;
    let mut count = 0usize;
    for (i, chunk) in samples_16k.chunks(frame).enumerate() {
        let inside = regions
            .iter()
            .any(|r| r.start <= i * frame && i * frame < r.end);
        if inside && raw.get(i).copied().unwrap_or(false) {
            energy += chunk
                .iter()
                .map(|&s| f64::from(s) * f64::from(s))
                .sum::<f64>();
            count += chunk.len();
        }
    }
    let loudness = if count == 0 {
        SILENCE_DBFS
    } else {
        to_db((energy / count as f64).sqrt() as f32)
    };
    let peak = samples_16k.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    let clipped = samples_16k.iter().filter(|s| s.abs() >= CLIP_LEVEL).count();

    AudioFacts {
        duration_ms: ms(samples_16k.len()),
        first_words_ms: regions.first().map(|r| ms(r.start)),
        speaking_ms: ms(speaking),
        pauses: gaps.len() as u32,
        longest_pause_ms: gaps.iter().map(|&g| ms(g)).max().unwrap_or(0),
        loudness_dbfs: loudness,
        peak_dbfs: to_db(peak),
        clipped_fraction: if samples_16k.is_empty() {
            0.0
        } else {
            clipped as f32 / samples_16k.len() as f32
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random source so the tests need no dependency.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f32 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }
    }

    fn silence(ms: usize) -> Vec<f32> {
        vec![0.0; RATE * ms / 1000]
    }

    fn noise(ms: usize, amp: f32, seed: u64) -> Vec<f32> {
        let mut r = Lcg(seed);
        (0..RATE * ms / 1000).map(|_| r.next() * amp).collect()
    }

    /// Syllable-like bursts: a 180 Hz buzz with harmonics, 200 ms on / 60 ms off.
    fn talk(ms: usize, amp: f32) -> Vec<f32> {
        (0..RATE * ms / 1000)
            .map(|i| {
                let t = i as f32 / RATE as f32;
                let on = (i * 1000 / RATE) % 260 < 200;
                let v = (2.0 * std::f32::consts::PI * 180.0 * t).sin()
                    + 0.5 * (2.0 * std::f32::consts::PI * 360.0 * t).sin();
                if on {
                    v * amp / 1.5
                } else {
                    0.0
                }
            })
            .collect()
    }

    fn add(a: &mut [f32], b: &[f32]) {
        for (x, y) in a.iter_mut().zip(b) {
            *x += y;
        }
    }

    #[test]
    fn leading_silence_sets_first_words() {
        let mut clip = silence(1500);
        clip.extend(talk(2000, 0.3));
        clip.extend(silence(500));
        let f = measure(&clip);
        assert_eq!(f.duration_ms, 4000);
        let first = f.first_words_ms.unwrap();
        assert!((1480..=1520).contains(&first), "first words at {first}");
        assert!(
            (1800..=2050).contains(&f.speaking_ms),
            "speaking {}",
            f.speaking_ms
        );
        assert_eq!(f.pauses, 0, "syllable gaps are not pauses");
        // RMS of the buzz: 0.2 × √(0.5 + 0.125) ≈ 0.158 → -16 dBFS.
        assert!((f.loudness_dbfs + 16.0).abs() < 0.5, "{}", f.loudness_dbfs);
    }

    #[test]
    fn pauses_are_counted_and_the_longest_kept() {
        let mut clip = silence(300);
        clip.extend(talk(800, 0.3));
        clip.extend(silence(400));
        clip.extend(talk(800, 0.3));
        clip.extend(silence(1200));
        clip.extend(talk(500, 0.3));
        let f = measure(&clip);
        assert_eq!(f.pauses, 2);
        assert!(
            (1150..=1300).contains(&f.longest_pause_ms),
            "{}",
            f.longest_pause_ms
        );
    }

    #[test]
    fn silence_noise_and_hum_are_not_speech() {
        let hum: Vec<f32> = (0..RATE * 3)
            .map(|i| (2.0 * std::f32::consts::PI * 50.0 * i as f32 / RATE as f32).sin() * 0.2)
            .collect();
        for (name, clip) in [
            ("silence", silence(3000)),
            ("low noise", noise(3000, 0.003, 1)),
            ("loud noise", noise(3000, 0.3, 2)),
            ("hum", hum),
        ] {
            let f = measure(&clip);
            assert_eq!(f.first_words_ms, None, "{name}");
            assert_eq!(f.speaking_ms, 0, "{name}");
            assert_eq!(f.loudness_dbfs, SILENCE_DBFS, "{name}");
        }
    }

    #[test]
    fn speech_over_steady_noise_is_found() {
        let mut clip = noise(1000, 0.01, 3);
        let mut speech = talk(1500, 0.3);
        add(&mut speech, &noise(1500, 0.01, 4));
        clip.extend(speech);
        clip.extend(noise(500, 0.01, 5));
        let f = measure(&clip);
        let first = f.first_words_ms.unwrap();
        assert!((980..=1040).contains(&first), "{first}");
    }

    #[test]
    fn a_click_is_not_a_word() {
        let mut clip = silence(1000);
        clip.extend(std::iter::repeat_n(0.5, 320));
        clip.extend(silence(1000));
        assert_eq!(measure(&clip).first_words_ms, None);
    }

    #[test]
    fn peak_clipping_and_empty_input() {
        let mut clip = talk(1000, 0.5);
        clip[100] = 1.0;
        clip[200] = -1.0;
        let f = measure(&clip);
        assert!(f.peak_dbfs.abs() < 0.01);
        assert!((f.clipped_fraction - 2.0 / 16_000.0).abs() < 1e-7);

        let f = measure(&[]);
        assert_eq!(f.duration_ms, 0);
        assert_eq!(f.peak_dbfs, SILENCE_DBFS);
        assert_eq!(f.clipped_fraction, 0.0);
        assert!(f.loudness_dbfs.is_finite());
    }

    #[test]
    fn trailing_silence_is_measured_from_the_last_voiced_stretch() {
        let cfg = VoicingConfig::default();
        let mut clip = silence(500);
        clip.extend(talk(1000, 0.3));
        assert!(trailing_silence_ms(&clip, &cfg) <= 60);
        clip.extend(silence(800));
        let t = trailing_silence_ms(&clip, &cfg);
        assert!((780..=880).contains(&t), "{t}");
        assert_eq!(trailing_silence_ms(&silence(1200), &cfg), 1200);
    }

    #[test]
    fn speech_rate_needs_voiced_time() {
        let mut f = measure(&talk(3000, 0.3));
        assert!(f.speaking_ms > 2500);
        f.speaking_ms = 6000;
        assert_eq!(f.chars_per_minute(30), Some(300.0));
        f.speaking_ms = 0;
        assert_eq!(f.chars_per_minute(30), None);
    }
}
