//! Facts about a reply measured from the signal itself (not from Whisper's timestamps,
//! which drift after silence). The grader turns them into manner-of-speaking checks, and
//! into the finding that the audio itself (too quiet, too noisy, too far from the
//! microphone) makes the transcript untrustworthy.
//!
//! Owns the energy-based voiced-frame detector too: 20 ms frames, a noise floor taken
//! from the clip's own quietest frames (so a hissing line or a humming room is not
//! "speech"), short clicks dropped and short gaps between syllables bridged. A frame is
//! voiced by how far it stands above that floor, never by an absolute level: a quiet
//! microphone, a voice at arm's length or a compressed recording whose speech fills the
//! whole clip still has voiced frames. It is pure and cheap, and also serves as a second
//! opinion beside the Silero VAD.

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
    /// RMS level of the voiced frames, dBFS (negative; -inf-safe: digital silence is
    /// -100). A clip with no voiced frame reports the level of the whole clip: what the
    /// microphone delivered, so "too quiet" can be told from "nothing there".
    pub loudness_dbfs: f32,
    /// Highest sample, dBFS.
    pub peak_dbfs: f32,
    /// Fraction of samples at or beyond full scale (0.0–1.0).
    pub clipped_fraction: f32,
    /// The clip's noise floor: the level of its quietest tenth of frames, dBFS. Reports
    /// written before it was measured read as digital silence.
    #[serde(default = "silence_dbfs")]
    pub noise_floor_dbfs: f32,
    /// Speech over noise: `loudness_dbfs − noise_floor_dbfs`, when anything was voiced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snr_db: Option<f32>,
    /// How long the voice takes to fall by 15 dB where it falls fastest, in ms (the 5th
    /// percentile over every frame that can fall that far above the noise): about 20–40 ms
    /// close to a microphone; echoes of a room stretch it (the voice cannot die away
    /// faster than the room does). None when the clip has too few such falls (too short,
    /// or too noisy to see 15 dB of fall).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decay_ms: Option<u32>,
}

fn silence_dbfs() -> f32 {
    SILENCE_DBFS
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

/// Settings of the voiced-frame detector; the defaults suit a headset at a desk, a laptop
/// microphone at arm's length and a compressed recording alike.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoicingConfig {
    pub frame_ms: u32,
    /// A frame is voiced when it stands above the noise floor by half the clip's spread
    /// (its 90th-percentile frame level over the floor), but by at least
    /// `min_above_floor_db` and at most `above_floor_db`. Steady noise and hum spread by
    /// a decibel or less, so they never reach the least margin; speech that fills a whole
    /// short clip (a quick reply, a compressed recording) spreads by only 5–10 dB and is
    /// still found; ordinary speech with pauses gets the full margin.
    pub above_floor_db: f32,
    pub min_above_floor_db: f32,
    /// Nothing quieter than this is voiced: only digital silence and the last bits of a
    /// 16-bit recording lie below it, never a voice a microphone picked up, however quiet.
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
            min_above_floor_db: 3.0,
            min_level_dbfs: -80.0,
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

/// The level below which `fraction` of the frames lie.
fn percentile(levels: &[f32], fraction: f32) -> f32 {
    if levels.is_empty() {
        return SILENCE_DBFS;
    }
    let mut sorted = levels.to_vec();
    sorted.sort_by(f32::total_cmp);
    let i = ((sorted.len() - 1) as f32 * fraction).round() as usize;
    sorted[i.min(sorted.len() - 1)]
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

/// The level a frame must exceed to be voiced (see [`VoicingConfig::above_floor_db`]).
fn voicing_threshold(levels: &[f32], cfg: &VoicingConfig) -> f32 {
    let floor = noise_floor(levels);
    let spread = percentile(levels, 0.9) - floor;
    let margin = (spread / 2.0).clamp(
        cfg.min_above_floor_db,
        cfg.above_floor_db.max(cfg.min_above_floor_db),
    );
    (floor + margin).max(cfg.min_level_dbfs)
}

/// Voiced stretches in 16 kHz sample indices, after dropping clicks and bridging
/// syllable gaps. Empty for silence, steady noise and steady hum.
pub fn voiced_regions(samples_16k: &[f32], cfg: &VoicingConfig) -> Vec<Range<usize>> {
    voiced_frames(samples_16k, cfg).1
}

fn voiced_frames(samples_16k: &[f32], cfg: &VoicingConfig) -> (Vec<bool>, Vec<Range<usize>>) {
    let frame = (RATE * cfg.frame_ms as usize / 1000).max(1);
    let levels = frame_levels(samples_16k, frame);
    let threshold = voicing_threshold(&levels, cfg);
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
        // Nothing voiced: the level of what there is, not a made-up silence.
        let all = samples_16k
            .iter()
            .map(|&s| f64::from(s) * f64::from(s))
            .sum::<f64>();
        to_db((all / samples_16k.len().max(1) as f64).sqrt() as f32)
    } else {
        to_db((energy / count as f64).sqrt() as f32)
    };
    let floor = noise_floor(&frame_levels(samples_16k, frame));
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
        noise_floor_dbfs: floor,
        snr_db: (count > 0).then_some(loudness - floor),
        decay_ms: decay_ms(samples_16k),
    }
}

/// Frame length of the decay measure: fine enough to see a close voice stop.
const DECAY_FRAME_MS: usize = 10;
/// The fall measured, and how far above the noise floor it must end.
const DECAY_FALL_DB: f32 = 15.0;
const DECAY_ABOVE_FLOOR_DB: f32 = 3.0;
/// A fall is at least this steep per frame (50 dB/s: a room dying away within 1.2 s).
const DECAY_MIN_SLOPE_DB: f32 = 0.5;
/// Fewer separate falls (frames that start one, not next to another) say nothing.
const DECAY_MIN_FALLS: usize = 4;

/// See [`AudioFacts::decay_ms`]: from every frame loud enough to fall 15 dB and stay
/// clear of the noise, how many ms until the level is 15 dB lower (giving up when it
/// stops falling, or after 0.6 s); the 5th percentile of those times.
fn decay_ms(samples_16k: &[f32]) -> Option<u32> {
    let frame = RATE * DECAY_FRAME_MS / 1000;
    let lv = frame_levels(samples_16k, frame);
    let floor = noise_floor(&lv);
    let mut falls = Vec::new();
    let mut separate = 0;
    let mut last_t = None;
    for t in 0..lv.len().saturating_sub(1) {
        if lv[t] < floor + DECAY_FALL_DB + DECAY_ABOVE_FLOOR_DB || lv[t + 1] >= lv[t] {
            continue;
        }
        for d in 1..=60 {
            let Some(&l) = lv.get(t + d) else { break };
            // Still falling, by at least 50 dB/s give or take 1.5 dB (a room's echoes
            // flicker): a level that holds is a syllable going on, not a fall.
            if l > lv[t] - DECAY_MIN_SLOPE_DB * d as f32 + 1.5 {
                break;
            }
            if l <= lv[t] - DECAY_FALL_DB {
                falls.push((d * DECAY_FRAME_MS) as u32);
                if last_t.is_none_or(|p| p + 1 < t) {
                    separate += 1;
                }
                last_t = Some(t);
                break;
            }
        }
    }
    if separate < DECAY_MIN_FALLS {
        return None;
    }
    falls.sort_unstable();
    Some(falls[falls.len() / 20])
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
        // Uniform noise of amplitude a has an RMS of a/√3; the hum's is 0.2/√2.
        for (name, clip, level) in [
            ("silence", silence(3000), SILENCE_DBFS),
            ("low noise", noise(3000, 0.003, 1), -55.2),
            ("loud noise", noise(3000, 0.3, 2), -15.2),
            ("hum", hum, -17.0),
        ] {
            let f = measure(&clip);
            assert_eq!(f.first_words_ms, None, "{name}");
            assert_eq!(f.speaking_ms, 0, "{name}");
            assert_eq!(f.snr_db, None, "{name}");
            // Nothing voiced: the clip's own level, not a made-up silence.
            assert!(
                (f.loudness_dbfs - level).abs() < 0.5,
                "{name}: {}",
                f.loudness_dbfs
            );
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
    fn a_quiet_voice_is_voiced_by_its_floor_not_an_absolute_level() {
        // -60 dBFS speech in -90 dBFS noise: a microphone turned far down.
        for amp in [0.3, 0.01, 0.0015] {
            let mut clip = noise(1000, amp / 1000.0, 7);
            let mut speech = talk(2000, amp);
            add(&mut speech, &noise(2000, amp / 1000.0, 8));
            clip.extend(speech);
            clip.extend(noise(500, amp / 1000.0, 9));
            let f = measure(&clip);
            let first = f
                .first_words_ms
                .unwrap_or_else(|| panic!("amp {amp}: nothing voiced"));
            assert!((980..=1040).contains(&first), "amp {amp}: {first}");
            assert!(f.speaking_ms > 1500, "amp {amp}: {}", f.speaking_ms);
            let snr = f.snr_db.unwrap();
            assert!(snr > 30.0, "amp {amp}: snr {snr}");
        }
    }

    #[test]
    fn speech_that_fills_a_short_clip_over_a_loud_bed_is_voiced() {
        // A quick spontaneous reply with music under it: the quietest frames are the dips
        // between syllables, only 6 dB below the voice. Steady noise alone stays unvoiced.
        let mut clip = talk(1800, 0.3);
        add(&mut clip, &noise(1800, 0.12, 11));
        let f = measure(&clip);
        assert!(f.speaking_ms > 1000, "{f:?}");
        assert!(f.loudness_dbfs > -20.0, "{f:?}");
        assert_eq!(measure(&noise(1800, 0.12, 12)).speaking_ms, 0);
    }

    #[test]
    fn snr_is_speech_over_the_floor() {
        let mut clip = noise(1000, 0.01, 3);
        let mut speech = talk(2000, 0.3);
        add(&mut speech, &noise(2000, 0.01, 4));
        clip.extend(speech);
        let f = measure(&clip);
        // Speech about -16 dBFS, uniform noise of 0.01 about -45 dBFS.
        assert!((f.noise_floor_dbfs + 45.0).abs() < 1.5, "{f:?}");
        let snr = f.snr_db.unwrap();
        assert!((27.0..=31.0).contains(&snr), "{snr}");
        assert_eq!(measure(&silence(1000)).noise_floor_dbfs, SILENCE_DBFS);
    }

    /// Syllables that stop dead, as close to a microphone, or that ring on with a tail
    /// falling 60 dB over `rt_ms`, as in a room.
    fn syllables_in_room(rt_ms: Option<f32>) -> Vec<f32> {
        let mut clip = silence(300);
        let tone = |i: usize| (2.0 * std::f32::consts::PI * 220.0 * i as f32 / RATE as f32).sin();
        for _ in 0..8 {
            let on = RATE / 4;
            clip.extend((0..on).map(|i| 0.3 * tone(i)));
            let gap = RATE * 2 / 5;
            clip.extend((0..gap).map(|i| match rt_ms {
                Some(rt) => {
                    let t_ms = i as f32 * 1000.0 / RATE as f32;
                    0.3 * tone(on + i) * 10f32.powf(-3.0 * t_ms / rt)
                }
                None => 0.0,
            }));
        }
        let n = clip.len();
        add(&mut clip, &noise(n * 1000 / RATE, 0.0003, 5));
        clip
    }

    #[test]
    fn a_voice_that_rings_on_in_a_room_decays_slower_than_a_close_one() {
        let close = measure(&syllables_in_room(None)).decay_ms.unwrap();
        assert!(close <= 20, "close: {close} ms");
        // 60 dB over 500 ms: 15 dB take 125 ms.
        let room = measure(&syllables_in_room(Some(500.0))).decay_ms.unwrap();
        assert!((100..=150).contains(&room), "room: {room} ms");
        // Too short, or nothing that falls 15 dB clear of the noise: no measure.
        assert_eq!(measure(&talk(300, 0.3)).decay_ms, None);
        assert_eq!(measure(&noise(2000, 0.3, 6)).decay_ms, None);
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
