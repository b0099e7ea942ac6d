//! Which audio Whisper gets to hear. Whisper invents text on silence and noise, so only
//! stretches that the Silero VAD calls speech *and* the energy detector sees as standing
//! out from the noise floor are kept. Each is widened to the voiced frames it touches (the
//! VAD misses onsets: never cut a word), padded, and joined with short gaps into one
//! buffer. [`TimeMap`] maps times in that buffer back to the original clip. Pure.

use std::ops::Range;

const RATE: usize = 16_000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GateConfig {
    /// Audio kept on each side of a speech stretch (after widening it to the voiced frames
    /// it touches), so word onsets and endings survive.
    pub pad_ms: u32,
    /// Silence put between kept stretches in the joined buffer.
    pub join_gap_ms: u32,
    /// Less voiced time than this around the VAD's speech counts as none (a cough, a
    /// click, a breath).
    pub min_speech_ms: u32,
    /// A VAD stretch survives if an energy-voiced stretch lies within this distance.
    pub energy_slack_ms: u32,
}

impl Default for GateConfig {
    fn default() -> Self {
        Self {
            pad_ms: 200,
            join_gap_ms: 150,
            min_speech_ms: 200,
            energy_slack_ms: 300,
        }
    }
}

/// One kept stretch: where it sits in the joined buffer and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    buf_start: usize,
    orig_start: usize,
    len: usize,
}

/// Maps sample positions in the joined buffer back to the original clip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeMap {
    pieces: Vec<Piece>,
}

impl TimeMap {
    /// Original time in ms of a buffer time in centiseconds (whisper.cpp's unit). A time
    /// inside an inserted gap maps to the end of the stretch before it.
    pub fn to_original_ms(&self, buf_cs: i64) -> u64 {
        let pos = (buf_cs.max(0) as usize) * RATE / 100;
        let mut best = 0usize;
        for p in &self.pieces {
            if pos < p.buf_start {
                break;
            }
            best = p.orig_start + (pos - p.buf_start).min(p.len);
        }
        (best * 1000 / RATE) as u64
    }
}

/// What to feed Whisper: the joined speech, how to map its times back, and how much
/// speech (before padding) it holds — the base of the decoding budget.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeechPlan {
    pub audio: Vec<f32>,
    pub map: TimeMap,
    pub speech_ms: u64,
    /// The kept stretches in the original clip, padded, in samples.
    pub kept: Vec<Range<usize>>,
}

/// Samples covered by `sorted` ranges (sorted by start), overlaps counted once.
fn merged_len(sorted: &[Range<usize>]) -> usize {
    let mut total = 0;
    let mut reach = 0;
    for r in sorted {
        let start = r.start.max(reach);
        if r.end > start {
            total += r.end - start;
        }
        reach = reach.max(r.end);
    }
    total
}

/// Decides what Whisper hears. `None` means no speech: the caller must return an empty
/// transcript without running Whisper at all.
pub fn plan(
    samples: &[f32],
    vad: &[Range<usize>],
    energy: &[Range<usize>],
    cfg: &GateConfig,
) -> Option<SpeechPlan> {
    let ms = |m: u32| m as usize * RATE / 1000;
    let slack = ms(cfg.energy_slack_ms);
    let confirmed: Vec<Range<usize>> = vad
        .iter()
        .filter(|v| {
            energy
                .iter()
                .any(|e| e.start < v.end + slack && v.start < e.end + slack)
        })
        .map(|v| v.start.min(samples.len())..v.end.min(samples.len()))
        .filter(|v| !v.is_empty())
        .collect();
    let mut grown: Vec<Range<usize>> = confirmed
        .iter()
        .map(|v| {
            let mut r = v.clone();
            loop {
                let wider = energy
                    .iter()
                    .filter(|e| e.start < r.end + slack && r.start < e.end + slack)
                    .fold(r.clone(), |r, e| {
                        r.start.min(e.start)..r.end.max(e.end).min(samples.len())
                    });
                if wider == r {
                    break r;
                }
                r = wider;
            }
        })
        .collect();
    grown.sort_by_key(|r| r.start);
    // Whether there is speech at all is the VAD's call, but a short word is measured by
    // its voiced frames: a lone 喂 the VAD gives 150 ms is a word, not a click.
    let voiced: usize = merged_len(&grown);
    if confirmed.is_empty() || voiced < ms(cfg.min_speech_ms) {
        return None;
    }
    let speech: usize = confirmed.iter().map(|r| r.len()).sum();

    let pad = ms(cfg.pad_ms);
    let mut kept: Vec<Range<usize>> = Vec::new();
    for r in grown {
        let r = r.start.saturating_sub(pad)..(r.end + pad).min(samples.len());
        match kept.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => kept.push(r),
        }
    }

    let gap = ms(cfg.join_gap_ms);
    let mut audio = Vec::with_capacity(kept.iter().map(|r| r.len() + gap).sum());
    let mut pieces = Vec::with_capacity(kept.len());
    for (i, r) in kept.iter().enumerate() {
        if i > 0 {
            audio.extend(std::iter::repeat_n(0.0, gap));
        }
        pieces.push(Piece {
            buf_start: audio.len(),
            orig_start: r.start,
            len: r.len(),
        });
        audio.extend_from_slice(&samples[r.clone()]);
    }
    Some(SpeechPlan {
        audio,
        map: TimeMap { pieces },
        speech_ms: (speech * 1000 / RATE) as u64,
        kept,
    })
}

#[cfg(test)]
// One-element arrays of ranges are exactly what the gate takes here.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    const S: usize = RATE; // one second in samples

    #[test]
    fn nothing_from_the_vad_means_no_speech() {
        let clip = vec![0.1; 3 * S];
        assert_eq!(plan(&clip, &[], &[0..S], &GateConfig::default()), None);
    }

    #[test]
    fn vad_speech_in_steady_noise_without_energy_is_vetoed() {
        let clip = vec![0.1; 3 * S];
        assert_eq!(plan(&clip, &[S..2 * S], &[], &GateConfig::default()), None);
        // An energy stretch far away does not confirm it either.
        let far = [2 * S + S / 2..3 * S];
        assert_eq!(plan(&clip, &[0..S / 2], &far, &GateConfig::default()), None);
    }

    #[test]
    fn a_blip_shorter_than_the_minimum_is_not_speech() {
        let clip = vec![0.1; 3 * S];
        let blip = [S..S + S / 10];
        assert_eq!(plan(&clip, &blip, &blip, &GateConfig::default()), None);
        // A short word the VAD gives less than the minimum is kept when its voiced
        // frames reach it (a lone, quick 喂).
        let vad = [S..S + S * 15 / 100];
        let voiced = [S - S / 20..S + S / 4];
        let p = plan(&clip, &vad, &voiced, &GateConfig::default()).unwrap();
        assert_eq!(p.kept, vec![S - S / 20 - S / 5..S + S / 4 + S / 5]);
        assert_eq!(p.speech_ms, 150);
    }

    #[test]
    fn kept_stretches_are_padded_joined_and_mapped_back() {
        let clip: Vec<f32> = (0..6 * S).map(|i| i as f32).collect();
        let cfg = GateConfig::default();
        let vad = [S..2 * S, 4 * S..5 * S];
        let p = plan(&clip, &vad, &vad, &cfg).unwrap();
        let pad = S / 5;
        let gap = S * 150 / 1000;
        assert_eq!(p.kept, vec![S - pad..2 * S + pad, 4 * S - pad..5 * S + pad]);
        assert_eq!(p.audio.len(), 2 * (S + 2 * pad) + gap);
        assert_eq!(p.speech_ms, 2000);
        // The first kept sample is the original sample at 0.8 s.
        assert_eq!(p.audio[0], (S - pad) as f32);
        assert_eq!(p.audio[S + 2 * pad + gap], (4 * S - pad) as f32);
        // Buffer 0 s → 0.8 s; buffer 1.0 s → 1.8 s; a time in the gap → end of stretch 1;
        // the start of stretch 2 in the buffer → 3.8 s.
        assert_eq!(p.map.to_original_ms(0), 800);
        assert_eq!(p.map.to_original_ms(100), 1800);
        assert_eq!(p.map.to_original_ms(145), 2200);
        let second_cs = ((S + 2 * pad + gap) * 100 / S) as i64;
        assert_eq!(p.map.to_original_ms(second_cs), 3800);
        assert_eq!(p.map.to_original_ms(second_cs + 50), 4300);
    }

    #[test]
    fn a_late_vad_onset_and_an_early_vad_end_never_cut_voiced_frames() {
        let clip = vec![0.0; 8 * S];
        let pad = S / 5;
        // Voice from 3.00 s to 6.00 s; the VAD only heard 3.65 s to 5.50 s.
        let energy = [3 * S..6 * S];
        let vad = [3 * S + 65 * S / 100..5 * S + S / 2];
        let p = plan(&clip, &vad, &energy, &GateConfig::default()).unwrap();
        assert_eq!(p.kept, vec![3 * S - pad..6 * S + pad]);
        // A short word before a pause that the VAD left out entirely (喂, …) comes along
        // when its voiced stretch is within the slack of the speech, directly or through
        // another voiced stretch.
        let energy = [S..S + S / 4, S + S / 2..4 * S];
        let vad = [S + S / 2 + S / 10..4 * S];
        let p = plan(&clip, &vad, &energy, &GateConfig::default()).unwrap();
        assert_eq!(p.kept, vec![S - pad..4 * S + pad]);
        // Only the VAD's speech decides *whether* anything is heard: a voiced stretch far
        // from it (a knock, a cough) is not pulled in.
        let energy = [S / 2..S / 2 + S / 10, 4 * S..5 * S];
        let vad = [4 * S..5 * S];
        let p = plan(&clip, &vad, &energy, &GateConfig::default()).unwrap();
        assert_eq!(p.kept, vec![4 * S - pad..5 * S + pad]);
        // The speech measure (and so the decoding budget) stays the VAD's.
        assert_eq!(p.speech_ms, 1000);
    }

    #[test]
    fn overlapping_padding_merges_and_clamps_at_the_edges() {
        let clip = vec![0.0; 2 * S];
        let vad = [0..S / 2, S / 2 + S / 10..2 * S];
        let p = plan(&clip, &vad, &vad, &GateConfig::default()).unwrap();
        assert_eq!(p.kept, vec![0..2 * S]);
        assert_eq!(p.audio.len(), 2 * S);
    }
}
