//! Is a recording good enough for the recogniser to be trusted? Too quiet, too noisy, too
//! far from the microphone (echoes), judged from a clip's [`AudioFacts`], with advice a
//! trainee can act on. Pure: the grader's `audio` finding and the microphone check before
//! practice ([`MicCheck`], for `ringcoach devices --listen` and the practice screen alike)
//! use the same judgement.

use serde::Serialize;

use super::facts::{self, AudioFacts};
use super::level::{DetectorConfig, SpeechDetector};

/// What the trainee says to check the microphone: an opening as practice will hear it.
pub const CHECK_LINE: &str = "您好,请问有什么可以帮您?";

/// The recogniser's limits, measured on voices composed at arm's length from a desk
/// microphone (`compose.py --room-ms 200–500`, gains 0 to −20 dB, noise at 15–30 dB SNR)
/// and on real speakers: below them a correct phrase is often misheard.
pub mod limits {
    /// Quieter than this, the voice is lost in the microphone's own hiss.
    pub const QUIET_DBFS: f32 = -45.0;
    /// Speech less than this far above the noise is drowned by it.
    pub const NOISY_SNR_DB: f32 = 12.0;
    /// A voice that takes this long to fall 15 dB rings on in the room (about 0.5 s of
    /// reverberation): too far from the microphone.
    pub const ECHO_DECAY_MS: u32 = 120;
    /// Marginal audio, which makes the transcript untrustworthy when the recogniser was
    /// also unsure of what it heard (mean token probability under `UNSURE_P`).
    pub const MARGINAL_DBFS: f32 = -30.0;
    pub const MARGINAL_SNR_DB: f32 = 25.0;
    pub const MARGINAL_DECAY_MS: u32 = 50;
    pub const UNSURE_P: f32 = 0.75;
    /// What a microphone check asks for, with no transcript to lean on: comfortably inside
    /// the limits above.
    pub const GOOD_DBFS: f32 = -35.0;
    pub const GOOD_SNR_DB: f32 = 20.0;
    pub const GOOD_DECAY_MS: u32 = 80;
}

/// What is wrong with a recording, if anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Trouble {
    pub quiet: bool,
    pub noisy: bool,
    pub far: bool,
}

impl Trouble {
    pub fn any(&self) -> bool {
        self.quiet || self.noisy || self.far
    }

    /// A graded turn: outright past a limit, or marginal where the recogniser was unsure
    /// of what it heard (`mean_p`, the mean probability of the transcript's tokens).
    pub fn of_turn(f: &AudioFacts, mean_p: Option<f32>) -> Trouble {
        use limits::*;
        let (level, snr, decay) = signal(f);
        let mut t = Trouble {
            quiet: level < QUIET_DBFS,
            noisy: snr < NOISY_SNR_DB,
            far: decay >= ECHO_DECAY_MS,
        };
        if mean_p.is_some_and(|p| p < UNSURE_P) {
            t.quiet |= level < MARGINAL_DBFS;
            t.noisy |= snr < MARGINAL_SNR_DB;
            t.far |= decay >= MARGINAL_DECAY_MS;
        }
        t
    }

    /// A microphone check (no transcript): what practice needs, with room to spare.
    pub fn of_check(f: &AudioFacts) -> Trouble {
        use limits::*;
        let (level, snr, decay) = signal(f);
        Trouble {
            quiet: level < GOOD_DBFS,
            noisy: snr < GOOD_SNR_DB,
            far: decay >= GOOD_DECAY_MS,
        }
    }

    /// One line of advice per problem, `(zh, en)`, with the measurement behind it.
    pub fn advice(&self, f: &AudioFacts) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.quiet {
            out.push((
                format!(
                    "声音太小({:.0} dBFS):请靠近话筒,或调高输入音量",
                    f.loudness_dbfs
                ),
                format!(
                    "too quiet ({:.0} dBFS): move closer to the microphone or raise its input gain",
                    f.loudness_dbfs
                ),
            ));
        }
        if self.noisy {
            let snr = f.snr_db.map_or("—".to_string(), |s| format!("{s:.0} dB"));
            out.push((
                format!("噪音太大(信噪比{snr}):请到安静处,或用耳麦"),
                format!(
                    "too noisy (speech {snr} over the noise): find a quieter place or use a headset"
                ),
            ));
        }
        if self.far {
            let d = f.decay_ms.unwrap_or(0);
            out.push((
                format!("回声大,离话筒太远(衰减{d} ms):请靠近话筒,或用耳麦"),
                format!(
                    "echoey, too far from the microphone (decay {d} ms): move closer or use a headset"
                ),
            ));
        }
        out
    }
}

/// A microphone check: the trainee said [`CHECK_LINE`] into the microphone; is what arrived
/// good enough to practise with, and if not, what should change? The one judgement behind
/// `ringcoach devices --listen` and the practice screen's check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MicCheck {
    pub facts: AudioFacts,
    /// The end-of-speech detector heard speech at all (a muted or wrong microphone: not).
    pub heard: bool,
    /// What keeps it from being good enough; nothing when no speech was heard.
    pub trouble: Trouble,
}

impl MicCheck {
    /// Judges a recording (16 kHz mono) made for the check.
    pub fn judge(samples_16k: &[f32]) -> MicCheck {
        let mut detector = SpeechDetector::new(DetectorConfig::default());
        detector.push(samples_16k);
        let heard = detector.first_words_ms().is_some();
        let facts = facts::measure(samples_16k);
        let trouble = if heard {
            Trouble::of_check(&facts)
        } else {
            Trouble::default()
        };
        MicCheck {
            facts,
            heard,
            trouble,
        }
    }

    pub fn passed(&self) -> bool {
        self.heard && !self.trouble.any()
    }

    /// What to change, one line per problem, `(zh, en)`; empty when it passed.
    pub fn advice(&self) -> Vec<(String, String)> {
        if !self.heard {
            return vec![(
                format!(
                    "没有听到讲话(只有 {:.0} dBFS):请确认话筒没有静音、用的是这个话筒(ringcoach devices),再说一遍",
                    self.facts.loudness_dbfs
                ),
                format!(
                    "no speech heard (only {:.0} dBFS): check that the microphone is not muted and is the one in use (`ringcoach devices`), then say the line again",
                    self.facts.loudness_dbfs
                ),
            )];
        }
        self.trouble.advice(&self.facts)
    }

    /// The measurements the judgement rests on, in one line, `(zh, en)`.
    pub fn measured(&self) -> (String, String) {
        let f = &self.facts;
        let snr = |none: &str| f.snr_db.map_or(none.to_string(), |s| format!("{s:.0} dB"));
        let decay = |none: &str| f.decay_ms.map_or(none.to_string(), |d| format!("{d} ms"));
        (
            format!(
                "录音:人声 {:.0} dBFS,底噪 {:.0} dBFS,信噪比 {},回声衰减 {}",
                f.loudness_dbfs,
                f.noise_floor_dbfs,
                snr("未测出"),
                decay("未测出")
            ),
            format!(
                "recording: voice {:.0} dBFS, noise floor {:.0} dBFS, speech over noise {}, echo decay {}",
                f.loudness_dbfs,
                f.noise_floor_dbfs,
                snr("not measured"),
                decay("not measured")
            ),
        )
    }
}

fn signal(f: &AudioFacts) -> (f32, f32, u32) {
    (
        f.loudness_dbfs,
        f.snr_db.unwrap_or(f32::INFINITY),
        f.decay_ms.unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(level: f32, snr: Option<f32>, decay: Option<u32>) -> AudioFacts {
        AudioFacts {
            duration_ms: 5000,
            first_words_ms: Some(500),
            speaking_ms: 3000,
            pauses: 1,
            longest_pause_ms: 400,
            loudness_dbfs: level,
            peak_dbfs: level + 12.0,
            clipped_fraction: 0.0,
            noise_floor_dbfs: level - snr.unwrap_or(60.0),
            snr_db: snr,
            decay_ms: decay,
        }
    }

    #[test]
    fn a_close_clear_voice_is_no_trouble_to_a_turn_or_a_check() {
        let f = facts(-22.0, Some(45.0), Some(30));
        assert!(!Trouble::of_turn(&f, Some(0.5)).any());
        assert!(!Trouble::of_check(&f).any());
        assert!(Trouble::default().advice(&f).is_empty());
    }

    #[test]
    fn each_limit_is_its_own_finding_with_its_measurement() {
        let t = Trouble::of_turn(&facts(-50.0, Some(40.0), Some(30)), Some(0.9));
        assert_eq!(
            t,
            Trouble {
                quiet: true,
                ..Trouble::default()
            }
        );
        let t = Trouble::of_turn(&facts(-20.0, Some(8.0), Some(30)), Some(0.9));
        assert!(t.noisy && !t.quiet && !t.far);
        let f = facts(-20.0, Some(40.0), Some(150));
        let t = Trouble::of_turn(&f, Some(0.9));
        assert!(t.far && !t.noisy && !t.quiet);
        let advice = t.advice(&f);
        assert_eq!(advice.len(), 1);
        assert!(advice[0].1.contains("150 ms"), "{}", advice[0].1);
    }

    #[test]
    fn marginal_audio_counts_only_when_the_recogniser_was_unsure() {
        let f = facts(-33.0, Some(20.0), Some(60));
        assert!(!Trouble::of_turn(&f, Some(0.9)).any());
        assert!(!Trouble::of_turn(&f, None).any());
        let t = Trouble::of_turn(&f, Some(0.6));
        assert!(t.quiet && t.noisy && t.far);
    }

    #[test]
    fn a_microphone_check_asks_for_room_to_spare() {
        // Inside the grader's limits but too close to them for a check before practice.
        let f = facts(-40.0, Some(15.0), Some(100));
        assert!(!Trouble::of_turn(&f, Some(0.9)).any());
        let t = Trouble::of_check(&f);
        assert!(t.quiet && t.noisy && t.far);
    }

    /// `seconds` of a 220 Hz tone at `amplitude` between two half-second stretches of a
    /// faint hiss, as a microphone delivers a short phrase.
    fn phrase(amplitude: f32, seconds: f32) -> Vec<f32> {
        let hiss = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|i| 0.0005 * ((i as f32 * 12.9898).sin() * 43_758.547).fract())
                .collect()
        };
        let mut s = hiss(8_000);
        let n = (seconds * 16_000.0) as usize;
        s.extend(
            (0..n).map(|i| {
                amplitude * (i as f32 * 2.0 * std::f32::consts::PI * 220.0 / 16_000.0).sin()
            }),
        );
        s.extend(hiss(24_000));
        s
    }

    #[test]
    fn a_microphone_check_hears_judges_and_says_what_to_change() {
        let good = MicCheck::judge(&phrase(0.2, 2.0));
        assert!(good.heard && good.passed(), "{good:?}");
        assert!(good.advice().is_empty());
        assert!(good.measured().1.starts_with("recording: voice "));
        assert!(good.measured().0.starts_with("录音:人声 "));

        let quiet = MicCheck::judge(&phrase(0.004, 2.0));
        assert!(quiet.heard && !quiet.passed(), "{quiet:?}");
        assert!(quiet.trouble.quiet, "{quiet:?}");
        let advice = quiet.advice();
        assert!(advice[0].1.contains("move closer"), "{advice:?}");

        let silence = MicCheck::judge(&vec![0.0; 32_000]);
        assert!(!silence.heard && !silence.passed());
        assert_eq!(silence.trouble, Trouble::default());
        let advice = silence.advice();
        assert_eq!(advice.len(), 1);
        assert!(advice[0].1.starts_with("no speech heard"), "{advice:?}");
        assert!(advice[0].0.starts_with("没有听到讲话"), "{advice:?}");
    }

    #[test]
    fn unmeasured_noise_or_decay_is_not_called_a_problem() {
        let f = facts(-25.0, None, None);
        assert!(!Trouble::of_turn(&f, Some(0.5)).any());
        assert!(!Trouble::of_check(&f).any());
    }
}
