//! Any sample rate → 16 kHz, the only rate Whisper, the VAD and the signal measurements
//! accept. One pure function over a whole clip; rubato's FFT resampler does the work
//! because it is exact for the usual ratios (44.1/48/8 kHz) and band-limits properly.

use rubato::{FftFixedIn, Resampler};

pub const TARGET_RATE: u32 = 16_000;

#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("cannot resample from {rate} Hz: {detail}; convert the file to 16 kHz first")]
    Rate { rate: u32, detail: String },
}

/// Resamples mono audio from `rate` to 16 kHz. The output has `round(n × 16000 / rate)`
/// samples and is aligned with the input (the resampler's delay is removed), so times
/// measured on it match times in the source.
pub fn to_16k_mono(samples: &[f32], rate: u32) -> Result<Vec<f32>, ResampleError> {
    if rate == TARGET_RATE {
        return Ok(samples.to_vec());
    }
    if rate == 0 {
        return Err(ResampleError::Rate {
            rate,
            detail: "a sample rate of 0 is meaningless".into(),
        });
    }
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    let err = |e: &dyn std::fmt::Display| ResampleError::Rate {
        rate,
        detail: e.to_string(),
    };
    let mut rs = FftFixedIn::<f32>::new(rate as usize, TARGET_RATE as usize, 1024, 2, 1)
        .map_err(|e| err(&e))?;
    let want = ((samples.len() as u64 * u64::from(TARGET_RATE) + u64::from(rate) / 2)
        / u64::from(rate)) as usize;
    let delay = rs.output_delay();
    let mut out: Vec<f32> = Vec::with_capacity(want + delay + rs.output_frames_max());

    let mut pos = 0;
    while samples.len() - pos >= rs.input_frames_next() {
        let n = rs.input_frames_next();
        let chunk = rs
            .process(&[&samples[pos..pos + n]], None)
            .map_err(|e| err(&e))?;
        out.extend_from_slice(&chunk[0]);
        pos += n;
    }
    if pos < samples.len() {
        let chunk = rs
            .process_partial(Some(&[&samples[pos..]]), None)
            .map_err(|e| err(&e))?;
        out.extend_from_slice(&chunk[0]);
    }
    // Flush what the resampler still holds back until the delayed tail is out.
    while out.len() < want + delay {
        let chunk = rs
            .process_partial::<&[f32]>(None, None)
            .map_err(|e| err(&e))?;
        if chunk[0].is_empty() {
            break;
        }
        out.extend_from_slice(&chunk[0]);
    }
    let mut aligned: Vec<f32> = out.into_iter().skip(delay).take(want).collect();
    aligned.resize(want, 0.0);
    Ok(aligned)
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
}
