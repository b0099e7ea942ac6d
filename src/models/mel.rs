//! The mel filter bank whisper.cpp reads from the model file. CTranslate2 models do not carry
//! it (CTranslate2 computes it at run time), so the converter computes it: librosa's
//! `filters.mel(sr=16000, n_fft=400, n_mels=N)` — Slaney mel scale, Slaney area
//! normalisation — which is what OpenAI's `mel_filters.npz` holds.

/// Whisper's sample rate.
pub const SAMPLE_RATE: f64 = 16_000.0;
/// Whisper's FFT size; the filters cover `N_FFT / 2 + 1` = 201 frequency bins.
pub const N_FFT: usize = 400;

// Slaney's scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// Hertz → Slaney mel.
pub fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step()
    } else {
        hz / F_SP
    }
}

/// Slaney mel → Hertz.
pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// The `n_mels × (N_FFT/2 + 1)` filter bank, row-major, f32 as whisper.cpp stores it.
/// Computed in f64 and rounded once, as librosa does.
pub fn mel_filters(n_mels: usize) -> Vec<f32> {
    let n_bins = N_FFT / 2 + 1;
    let fft_hz: Vec<f64> = (0..n_bins)
        .map(|k| k as f64 * SAMPLE_RATE / N_FFT as f64)
        .collect();
    let top = hz_to_mel(SAMPLE_RATE / 2.0);
    // n_mels + 2 band edges, equally spaced on the mel scale from 0 Hz to Nyquist.
    let edges: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(top * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut out = Vec::with_capacity(n_mels * n_bins);
    for m in 0..n_mels {
        let (lo, mid, hi) = (edges[m], edges[m + 1], edges[m + 2]);
        // Slaney normalisation: each triangle has unit area in Hz.
        let norm = 2.0 / (hi - lo);
        for &f in &fft_hz {
            let rising = (f - lo) / (mid - lo);
            let falling = (hi - f) / (hi - mid);
            let w = rising.min(falling).max(0.0);
            out.push((w * norm) as f32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values read from OpenAI's `whisper/assets/mel_filters.npz` (`mel_80`),
    /// openai-whisper 20250625, as (row, column, value).
    const OPENAI_MEL_80: &[(usize, usize, f32)] = &[
        (0, 1, 0.024_862_595),
        (1, 1, 0.001_990_822),
        (1, 2, 0.022_871_772),
        (10, 10, 0.019_908_218),
        (20, 19, 0.010_972_2),
        (20, 20, 0.013_890_394),
        (40, 43, 0.014_735_566),
        (60, 93, 0.006_591_093),
        (79, 190, 0.002_232_055),
        (79, 199, 0.000_448_759),
    ];

    #[test]
    fn matches_openai_reference_values() {
        let f = mel_filters(80);
        assert_eq!(f.len(), 80 * 201);
        for &(r, c, want) in OPENAI_MEL_80 {
            let got = f[r * 201 + c];
            assert!(
                (got - want).abs() <= want * 1e-5,
                "mel[{r}][{c}] = {got}, OpenAI has {want}"
            );
        }
    }

    #[test]
    fn zeros_where_the_reference_has_zeros() {
        let f = mel_filters(80);
        for &(r, c) in &[
            (0, 0),
            (0, 2),
            (1, 3),
            (20, 22),
            (40, 60),
            (60, 125),
            (79, 200),
        ] {
            assert_eq!(f[r * 201 + c], 0.0, "mel[{r}][{c}]");
        }
    }

    #[test]
    fn first_filter_by_hand() {
        // Below 1 kHz the scale is linear: the top (8 kHz) is 15 + ln 8 / (ln 6.4 / 27) mel,
        // 81 steps of it make the band edges, so filter 0 rises 0 → peak at one step and
        // falls to zero at two; bin 1 (40 Hz) lies on the falling side.
        let top = 15.0 + 8f64.ln() / (6.4f64.ln() / 27.0);
        let step_hz = top / 81.0 * 200.0 / 3.0;
        let falling = (2.0 * step_hz - 40.0) / step_hz;
        let want = falling * 2.0 / (2.0 * step_hz);
        let got = mel_filters(80)[1] as f64;
        assert!((got - want).abs() < 1e-8, "{got} vs {want}");
    }

    #[test]
    fn scale_round_trips_and_is_continuous_at_1khz() {
        for hz in [0.0, 100.0, 999.0, 1000.0, 4000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn large_v3_bank_has_128_rows() {
        assert_eq!(mel_filters(128).len(), 128 * 201);
    }
}
