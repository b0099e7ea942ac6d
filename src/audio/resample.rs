//! Any sample rate → [`TARGET_RATE`] (16 kHz), the only rate Whisper, the VAD and the signal
//! measurements accept. One resampler for every path: a whole file (`grade`, `transcribe`,
//! `--input`) goes through [`to_16k_mono`], a microphone through [`Resampler`] a few
//! milliseconds at a time, and both are the same rubato FFT resampler fed the same fixed
//! blocks, so the same audio comes out bit for bit however it was cut up on the way in.
//! The FFT resampler is exact for the usual ratios (44.1/48/8 kHz) and band-limits properly.

use rubato::{FftFixedIn, Resampler as _};

/// The rate everything after the reader and the microphone works at.
pub const TARGET_RATE: u32 = 16_000;

/// Input frames per resampler block (about 21 ms at 48 kHz, 64 ms at 16 kHz).
const BLOCK_IN: usize = 1024;
/// FFT sub-blocks per input block.
const SUB_BLOCKS: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("cannot resample from {rate} Hz: {detail}; convert the file to 16 kHz first")]
    Rate { rate: u32, detail: String },
}

/// Streaming conversion of mono audio at one rate to 16 kHz. Output is aligned with the
/// input (the filter delay is removed), and after [`Resampler::finish`] it holds exactly
/// `round(n × 16000 / rate)` samples for `n` pushed, so times measured on it match times in
/// the source. At 16 kHz it passes samples through untouched.
pub struct Resampler {
    rate: u32,
    fft: Option<FftFixedIn<f32>>,
    /// Input not yet a whole block.
    pending: Vec<f32>,
    /// Input samples pushed.
    pushed: u64,
    out: Aligner,
}

/// Drops the filter delay from the front of the resampler's output and counts the rest.
struct Aligner {
    /// Output samples still to drop.
    skip: usize,
    /// Aligned output samples handed out.
    emitted: u64,
}

impl Aligner {
    fn emit(&mut self, block: &[f32], out: &mut Vec<f32>) {
        let skip = self.skip.min(block.len());
        self.skip -= skip;
        out.extend_from_slice(&block[skip..]);
        self.emitted += (block.len() - skip) as u64;
    }
}

impl Resampler {
    pub fn new(from_rate: u32) -> Result<Self, ResampleError> {
        let fft = match from_rate {
            0 => {
                return Err(ResampleError::Rate {
                    rate: 0,
                    detail: "a sample rate of 0 is meaningless".into(),
                })
            }
            TARGET_RATE => None,
            rate => Some(
                FftFixedIn::<f32>::new(
                    rate as usize,
                    TARGET_RATE as usize,
                    BLOCK_IN,
                    SUB_BLOCKS,
                    1,
                )
                .map_err(|e| ResampleError::Rate {
                    rate,
                    detail: e.to_string(),
                })?,
            ),
        };
        Ok(Resampler {
            rate: from_rate,
            out: Aligner {
                skip: fft.as_ref().map_or(0, |r| r.output_delay()),
                emitted: 0,
            },
            fft,
            pending: Vec::new(),
            pushed: 0,
        })
    }

    /// Feeds samples; appends whatever aligned 16 kHz output is ready to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), ResampleError> {
        self.pushed += input.len() as u64;
        let Some(fft) = self.fft.as_mut() else {
            self.out.emit(input, out);
            return Ok(());
        };
        self.pending.extend_from_slice(input);
        let mut used = 0;
        while self.pending.len() - used >= BLOCK_IN {
            let block = fft
                .process(&[&self.pending[used..used + BLOCK_IN]], None)
                .map_err(|e| rate_error(self.rate, &e))?;
            used += BLOCK_IN;
            self.out.emit(&block[0], out);
        }
        self.pending.drain(..used);
        Ok(())
    }

    /// The end of the input: flushes the last partial block and what the filter still
    /// holds, so the output ends where the input did (`round(n × 16000 / rate)` in all).
    pub fn finish(mut self, out: &mut Vec<f32>) -> Result<(), ResampleError> {
        let want = self.target_len();
        let Some(mut fft) = self.fft.take() else {
            return Ok(());
        };
        if self.pushed == 0 {
            return Ok(());
        }
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            let block = fft
                .process_partial(Some(&[rest.as_slice()]), None)
                .map_err(|e| rate_error(self.rate, &e))?;
            self.out.emit(&block[0], out);
        }
        // Feed silence until the delayed tail is out; each flush yields at least a block.
        while self.out.emitted < want {
            let block = fft
                .process_partial::<&[f32]>(None, None)
                .map_err(|e| rate_error(self.rate, &e))?;
            if block[0].is_empty() {
                break;
            }
            self.out.emit(&block[0], out);
        }
        // Exactly `want`: cut what the flush overshot, pad what it fell short of.
        let extra = self.out.emitted.saturating_sub(want) as usize;
        out.truncate(out.len() - extra.min(out.len()));
        for _ in self.out.emitted..want {
            out.push(0.0);
        }
        Ok(())
    }

    /// Output samples the input pushed so far comes to, rounded to the nearest.
    fn target_len(&self) -> u64 {
        let rate = u64::from(self.rate);
        (self.pushed * u64::from(TARGET_RATE) + rate / 2) / rate
    }
}

fn rate_error(rate: u32, e: &dyn std::fmt::Display) -> ResampleError {
    ResampleError::Rate {
        rate,
        detail: e.to_string(),
    }
}

/// Resamples a whole mono clip from `rate` to 16 kHz: `round(n × 16000 / rate)` samples,
/// aligned with the input. The same [`Resampler`] the microphone streams through.
pub fn to_16k_mono(samples: &[f32], rate: u32) -> Result<Vec<f32>, ResampleError> {
    let mut r = Resampler::new(rate)?;
    let mut out = Vec::with_capacity(
        (samples.len() as u64 * u64::from(TARGET_RATE) / u64::from(rate)) as usize + BLOCK_IN,
    );
    r.push(samples, &mut out)?;
    r.finish(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, hz: f32, secs: f32) -> Vec<f32> {
        let n = (rate as f32 * secs) as usize;
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin() * 0.5)
            .collect()
    }

    #[test]
    fn common_rates_keep_length_and_tone() {
        for rate in [8_000, 11_025, 22_050, 44_100, 48_000, 96_000] {
            let input = sine(rate, 440.0, 1.0);
            let out = to_16k_mono(&input, rate).unwrap();
            assert_eq!(out.len(), 16_000, "rate {rate}");
            // Compare against the ideal 16 kHz sine away from the edges: same phase, so
            // the resampler's delay really was removed.
            let ideal = sine(16_000, 440.0, 1.0);
            let err: f32 = out[1000..15_000]
                .iter()
                .zip(&ideal[1000..15_000])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            // 0.05 of a 0.5 sine allows a third of a sample of residual delay (≈ 20 µs).
            assert!(err < 0.05, "rate {rate}: max error {err}");
        }
    }

    #[test]
    fn content_above_8khz_is_removed_not_aliased() {
        let input = sine(48_000, 12_000.0, 0.5);
        let out = to_16k_mono(&input, 48_000).unwrap();
        let rms = (out[500..7500].iter().map(|s| s * s).sum::<f32>() / 7000.0).sqrt();
        assert!(rms < 0.02, "12 kHz leaked through as {rms}");
    }

    #[test]
    fn sixteen_k_is_passed_through_and_odd_rates_work() {
        let input = sine(16_000, 300.0, 0.1);
        assert_eq!(to_16k_mono(&input, 16_000).unwrap(), input);
        let odd = sine(12_345, 300.0, 0.3);
        let out = to_16k_mono(&odd, 12_345).unwrap();
        assert_eq!(
            out.len(),
            (odd.len() as f64 * 16_000.0 / 12_345.0).round() as usize
        );
        assert!(to_16k_mono(&input, 0).is_err());
        assert!(to_16k_mono(&[], 44_100).unwrap().is_empty());
    }

    #[test]
    fn a_clip_shorter_than_one_chunk_survives() {
        let out = to_16k_mono(&[0.1; 100], 44_100).unwrap();
        assert_eq!(out.len(), 36);
    }

    #[test]
    fn streaming_in_any_pieces_gives_the_whole_clip_bit_for_bit() {
        // The microphone pushes whatever its callbacks held; a file is pushed whole. Both
        // must reach Whisper as the same samples.
        for rate in [8_000, 44_100, 48_000] {
            let input: Vec<f32> = sine(rate, 440.0, 1.3)
                .iter()
                .zip(sine(rate, 3_100.0, 1.3))
                .map(|(a, b)| a + 0.3 * b)
                .collect();
            let whole = to_16k_mono(&input, rate).unwrap();
            for piece in [1, 97, 480, 1024, 5_000] {
                let mut r = Resampler::new(rate).unwrap();
                let mut out = Vec::new();
                for c in input.chunks(piece) {
                    r.push(c, &mut out).unwrap();
                }
                r.finish(&mut out).unwrap();
                let bits = |v: &[f32]| v.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&out), bits(&whole), "rate {rate}, pieces of {piece}");
            }
        }
    }

    #[test]
    fn streaming_passes_16k_through_and_keeps_length_at_48k() {
        let mut r = Resampler::new(16_000).unwrap();
        let mut out = Vec::new();
        r.push(&[0.5; 100], &mut out).unwrap();
        assert_eq!(out, vec![0.5; 100]);

        let input = sine(48_000, 440.0, 1.0);
        let mut r = Resampler::new(48_000).unwrap();
        let mut out = Vec::new();
        for c in input.chunks(1234) {
            r.push(c, &mut out).unwrap();
        }
        r.finish(&mut out).unwrap();
        assert_eq!(out.len(), 16_000);
        // A 440 Hz tone stays 440 Hz: 2 × 440 × 0.9875 s = 869 zero crossings in 15,800 samples.
        let crossings = out[100..15_900]
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        assert!((867..=871).contains(&crossings), "{crossings}");
        // ... and keeps its level (RMS of 0.5 sine = 0.354).
        let rms = (out[100..15_900].iter().map(|x| x * x).sum::<f32>() / 15_800.0).sqrt();
        assert!((rms - 0.354).abs() < 0.01, "{rms}");
    }

    #[test]
    fn streaming_removes_what_16k_cannot_hold() {
        // 12 kHz at 48 kHz would alias to 4 kHz if merely decimated.
        let input = sine(48_000, 12_000.0, 1.0);
        let mut r = Resampler::new(48_000).unwrap();
        let mut out = Vec::new();
        r.push(&input, &mut out).unwrap();
        let rms =
            (out[1000..].iter().map(|x| x * x).sum::<f32>() / (out.len() - 1000) as f32).sqrt();
        assert!(rms < 0.01, "aliased energy {rms}");
    }
}
