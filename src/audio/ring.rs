//! The telephone ring: cadence arithmetic ("which ring are we in at t ms", "how many rings
//! had the caller heard when the trainee picked up") and the ring-back tone as samples.
//! Pure: no clock, no device, no imports from the rest of `audio`. [`crate::audio::ringer`]
//! plays it through a sink; the grader counts `--pickup-ms` in rings with the same arithmetic.
//!
//! Default: the mainland China ring-back tone, 450 Hz, 1 s on / 4 s off (YD/T 1384 style
//! cadence as heard on PSTN lines). Where a different cadence comes from: the phrase book's
//! `[settings]` (`ring_on_ms`, `ring_off_ms`) set when the phone rings, for the ringer and the
//! grader alike; the user's config sets only the tone's pitch.

use serde::{Deserialize, Serialize};

/// How the phone rings. Times in milliseconds; `on_ms + off_ms` is one ring cycle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RingCadence {
    pub tone_hz: f32,
    pub on_ms: u64,
    pub off_ms: u64,
    /// Linear amplitude of the tone, 0.0–1.0. Ring-back is a quiet tone, not a bell.
    pub amplitude: f32,
}

impl Default for RingCadence {
    fn default() -> Self {
        RingCadence::MAINLAND_CHINA
    }
}

/// Where in the cadence a moment falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingPosition {
    /// 1-based: the ring that started most recently (ring 1 starts at t = 0).
    pub ring: u32,
    /// True while the tone of that ring sounds, false in the pause after it.
    pub sounding: bool,
    /// Milliseconds since that ring started.
    pub ms_into_ring: u64,
}

/// Why a cadence is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CadenceError {
    #[error("the ring has no tone time (0 ms on): ring for e.g. 1000 ms on, 4000 ms off")]
    NoTone,
    #[error(
        "ring tone {0} Hz is not audible or not representable: use 100–3400 Hz (telephone band)"
    )]
    BadFrequency(f32),
    #[error("ring amplitude {0} is outside 0.0–1.0: use e.g. 0.3")]
    BadAmplitude(f32),
}

impl RingCadence {
    /// 450 Hz, 1 s on, 4 s off.
    pub const MAINLAND_CHINA: RingCadence = RingCadence {
        tone_hz: 450.0,
        on_ms: 1000,
        off_ms: 4000,
        amplitude: 0.3,
    };

    /// The mainland tone with another cadence: `on_ms` of tone, then `off_ms` of silence.
    pub const fn timed(on_ms: u64, off_ms: u64) -> RingCadence {
        RingCadence {
            on_ms,
            off_ms,
            ..RingCadence::MAINLAND_CHINA
        }
    }

    /// Checks the values a phrase book, config file or flag may have got wrong. The one
    /// check of a cadence: everything that rings or counts rings goes through it.
    pub fn validate(&self) -> Result<(), CadenceError> {
        if self.on_ms == 0 {
            return Err(CadenceError::NoTone);
        }
        if !(100.0..=3400.0).contains(&self.tone_hz) {
            return Err(CadenceError::BadFrequency(self.tone_hz));
        }
        if !(0.0..=1.0).contains(&self.amplitude) {
            return Err(CadenceError::BadAmplitude(self.amplitude));
        }
        Ok(())
    }

    pub fn period_ms(&self) -> u64 {
        self.on_ms + self.off_ms
    }

    /// The ring in progress `t_ms` after ringing started.
    pub fn position(&self, t_ms: u64) -> RingPosition {
        // A zero period can only come from an unvalidated cadence; treat it as one endless ring
        // rather than dividing by zero.
        let period = self.period_ms().max(1);
        let ms_into_ring = t_ms % period;
        RingPosition {
            ring: u32::try_from(t_ms / period + 1).unwrap_or(u32::MAX),
            sounding: ms_into_ring < self.on_ms,
            ms_into_ring,
        }
    }

    /// How many rings the caller had heard start when the trainee picked up at `pickup_ms`:
    /// picking up during ring 3 or the pause after it counts as 3 rings.
    pub fn rings_at_pickup(&self, pickup_ms: u64) -> u32 {
        self.position(pickup_ms).ring
    }

    /// When ring `n` (1-based) starts; the deadline for "answer within n rings" is the start
    /// of ring n + 1.
    pub fn ring_starts_at_ms(&self, n: u32) -> u64 {
        u64::from(n.saturating_sub(1)) * self.period_ms()
    }
}

/// Edges of each tone burst are ramped (raised cosine) so the ring does not click.
const RAMP_MS: f64 = 10.0;

/// The ring-back tone as an endless signal at any sample rate, phase-continuous, starting at
/// the beginning of ring 1. Allocation-free, so it can run inside an audio callback.
#[derive(Debug, Clone)]
pub struct RingTone {
    cadence: RingCadence,
    /// Frames produced so far, at the rate of the current `fill` calls.
    frame: u64,
}

impl RingTone {
    pub fn new(cadence: RingCadence) -> Self {
        RingTone { cadence, frame: 0 }
    }

    /// Sample `frame` of the tone at `rate` Hz.
    pub fn sample_at(cadence: &RingCadence, frame: u64, rate: u32) -> f32 {
        let rate_f = f64::from(rate.max(1));
        let t_s = frame as f64 / rate_f;
        let period_s = cadence.period_ms().max(1) as f64 / 1000.0;
        let on_s = cadence.on_ms as f64 / 1000.0;
        let into = t_s % period_s;
        if into >= on_s {
            return 0.0;
        }
        let ramp_s = (RAMP_MS / 1000.0).min(on_s / 2.0);
        let envelope = if into < ramp_s {
            0.5 - 0.5 * (std::f64::consts::PI * into / ramp_s).cos()
        } else if on_s - into < ramp_s {
            0.5 - 0.5 * (std::f64::consts::PI * (on_s - into) / ramp_s).cos()
        } else {
            1.0
        };
        let phase = 2.0 * std::f64::consts::PI * f64::from(cadence.tone_hz) * t_s;
        (f64::from(cadence.amplitude) * envelope * phase.sin()) as f32
    }

    /// Convenience for tests and for writing the ring to a file: `ms` of tone at `rate`.
    pub fn render(cadence: &RingCadence, rate: u32, ms: u64) -> Vec<f32> {
        let frames = ms * u64::from(rate) / 1000;
        (0..frames)
            .map(|f| Self::sample_at(cadence, f, rate))
            .collect()
    }

    /// The next `out.len()` samples at `rate` Hz; the tone never ends, so all are written.
    pub fn fill(&mut self, out: &mut [f32], rate: u32) -> usize {
        for s in out.iter_mut() {
            *s = Self::sample_at(&self.cadence, self.frame, rate);
            self.frame += 1;
        }
        out.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: RingCadence = RingCadence::MAINLAND_CHINA;

    #[test]
    fn ring_one_starts_at_zero_and_sounds_for_one_second() {
        assert_eq!(
            C.position(0),
            RingPosition {
                ring: 1,
                sounding: true,
                ms_into_ring: 0
            }
        );
        assert!(C.position(999).sounding);
        assert!(!C.position(1000).sounding);
        assert_eq!(C.position(4999).ring, 1);
        assert!(!C.position(4999).sounding);
    }

    #[test]
    fn rings_advance_every_five_seconds() {
        let p = C.position(5000);
        assert_eq!((p.ring, p.sounding, p.ms_into_ring), (2, true, 0));
        let p = C.position(12_345);
        assert_eq!((p.ring, p.sounding, p.ms_into_ring), (3, false, 2345));
    }

    #[test]
    fn pickup_counts_the_ring_in_progress() {
        assert_eq!(C.rings_at_pickup(0), 1);
        assert_eq!(C.rings_at_pickup(4_999), 1);
        assert_eq!(C.rings_at_pickup(5_000), 2);
        assert_eq!(C.rings_at_pickup(14_999), 3);
        assert_eq!(C.rings_at_pickup(15_000), 4);
        // "within three rings" means before ring 4 starts.
        assert_eq!(C.ring_starts_at_ms(4), 15_000);
        assert_eq!(C.ring_starts_at_ms(1), 0);
    }

    #[test]
    fn custom_cadence_is_honoured() {
        let uk_like = RingCadence {
            on_ms: 400,
            off_ms: 200,
            ..C
        };
        assert_eq!(uk_like.rings_at_pickup(1_199), 2);
        assert_eq!(uk_like.rings_at_pickup(1_200), 3);
        assert!(!uk_like.position(450).sounding);
    }

    #[test]
    fn bad_cadences_are_refused_with_a_fix() {
        assert_eq!(
            RingCadence { on_ms: 0, ..C }.validate(),
            Err(CadenceError::NoTone)
        );
        assert!(RingCadence { tone_hz: 20.0, ..C }.validate().is_err());
        assert!(RingCadence {
            amplitude: 1.5,
            ..C
        }
        .validate()
        .is_err());
        assert!(C.validate().is_ok());
        // Unvalidated zero period must not divide by zero.
        let z = RingCadence {
            on_ms: 0,
            off_ms: 0,
            ..C
        };
        assert_eq!(z.position(10).ring, 11);
    }

    #[test]
    fn tone_is_450_hz_during_the_burst_and_silent_after() {
        let rate = 16_000;
        let s = RingTone::render(&C, rate, 5_000);
        assert_eq!(s.len(), 80_000);
        // Zero crossings over the steady middle 0.5 s of the burst: 2 per cycle.
        let mid = &s[4_000..12_000];
        let crossings = mid
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        assert!(
            (448..=452).contains(&crossings),
            "{crossings} crossings in 0.5 s"
        );
        let peak = mid.iter().fold(0f32, |m, x| m.max(x.abs()));
        assert!((peak - 0.3).abs() < 0.01, "peak {peak}");
        // Silence from 1 s to 5 s.
        assert!(s[16_000..].iter().all(|&x| x == 0.0));
    }

    #[test]
    fn burst_edges_ramp_instead_of_clicking() {
        let s = RingTone::render(&C, 48_000, 1_000);
        assert!(s[0].abs() < 1e-6);
        // The first 2 ms stay well below full amplitude.
        let early = s[..96].iter().fold(0f32, |m, x| m.max(x.abs()));
        assert!(early < 0.05, "early peak {early}");
        let last = *s.last().unwrap();
        assert!(last.abs() < 0.01, "last sample {last}");
    }

    #[test]
    fn signal_fill_is_continuous_across_calls() {
        let mut tone = RingTone::new(C);
        let mut a = vec![0.0; 1000];
        let mut b = vec![0.0; 1000];
        assert_eq!(tone.fill(&mut a, 16_000), 1000);
        assert_eq!(tone.fill(&mut b, 16_000), 1000);
        let whole = RingTone::render(&C, 16_000, 125);
        assert_eq!(&whole[..1000], &a[..]);
        assert_eq!(&whole[1000..2000], &b[..]);
    }
}
