//! Live level and end of speech, computed on the 16 kHz mono chunks a source delivers. Pure:
//! time is counted in samples, never read from a clock, so the practice loop, tests and
//! replays of a saved WAV all agree.
//!
//! - [`level`]: RMS and peak in dBFS of one chunk (the live meter).
//! - [`SpeechDetector`]: energy-based voice activity with an adaptive noise floor and a
//!   hang-over, telling the practice loop when the trainee started and stopped talking.

use serde::{Deserialize, Serialize};

/// What silence reads as, so the UI never has to print `-inf`.
pub const SILENCE_DBFS: f32 = -100.0;

/// Level of one chunk.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Level {
    pub rms_dbfs: f32,
    pub peak_dbfs: f32,
}

/// Amplitude (full scale = 1.0) to dBFS, floored at [`SILENCE_DBFS`].
pub fn to_dbfs(amplitude: f32) -> f32 {
    if amplitude <= 0.0 || !amplitude.is_finite() {
        return SILENCE_DBFS;
    }
    (20.0 * amplitude.log10()).max(SILENCE_DBFS)
}

/// RMS and peak level of `samples` (f32, full scale ±1.0). Empty input is silence.
pub fn level(samples: &[f32]) -> Level {
    if samples.is_empty() {
        return Level {
            rms_dbfs: SILENCE_DBFS,
            peak_dbfs: SILENCE_DBFS,
        };
    }
    let mut sum = 0f64;
    let mut peak = 0f32;
    for &s in samples {
        sum += f64::from(s) * f64::from(s);
        peak = peak.max(s.abs());
    }
    let rms = (sum / samples.len() as f64).sqrt() as f32;
    Level {
        rms_dbfs: to_dbfs(rms),
        peak_dbfs: to_dbfs(peak),
    }
}

/// How far back the noise floor looks.
const FLOOR_WINDOW_MS: u32 = 3000;
/// Noise floor reported before any frame was seen.
const INITIAL_FLOOR_DBFS: f32 = -70.0;

/// Tuning of [`SpeechDetector`]. The defaults suit a desk microphone and the composed test
/// voices; the hang-over is what the trainee experiences as "it noticed I stopped".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DetectorConfig {
    pub sample_rate: u32,
    /// Analysis frame length.
    pub frame_ms: u32,
    /// A frame is voiced only if louder than this, whatever the noise floor: low enough
    /// that a microphone turned down or a voice at arm's length (−60 dBFS) still starts and
    /// ends a turn, high enough that a quiet room's hiss (−59 to −67 dBFS in a real
    /// recording's pause, judged against the digital silence a stream may start with) does
    /// not hold a turn open; the noise floor does the rest.
    pub min_speech_dbfs: f32,
    /// ... and louder than the running noise floor by this much.
    pub margin_db: f32,
    /// Voiced time needed before speech counts as started (ignores clicks and bumps).
    pub min_speech_ms: u32,
    /// Unvoiced time after the last voiced frame before speech counts as ended.
    pub hangover_ms: u32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            sample_rate: 16_000,
            frame_ms: 20,
            min_speech_dbfs: -63.0,
            margin_db: 12.0,
            min_speech_ms: 100,
            hangover_ms: 1000,
        }
    }
}

/// What the detector noticed. Times are ms from the first sample pushed (pickup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpeechEvent {
    /// Speech began at `at_ms` (the first voiced frame of the stretch that qualified).
    Started { at_ms: u64 },
    /// The last voiced frame ended at `at_ms`; noticed `hangover_ms` later, at `noticed_ms`.
    Ended { at_ms: u64, noticed_ms: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Quiet,
    /// Voiced frames are accumulating since `since_frame`.
    Onset {
        since_frame: u64,
        voiced_frames: u64,
    },
    Speaking {
        last_voiced_frame: u64,
        /// Voiced frames in a row up to now: after a gap, speech resumes only with a run as
        /// long as an onset's, so a room's noise flickering over the floor in a pause
        /// does not hold the turn open.
        run: u64,
    },
}

/// Energy-based end-of-speech detector with an adaptive noise floor and a hang-over.
#[derive(Debug, Clone)]
pub struct SpeechDetector {
    cfg: DetectorConfig,
    frame_len: usize,
    /// Partial frame carried between pushes.
    pending: Vec<f32>,
    frames_done: u64,
    /// Frame levels of the last [`FLOOR_WINDOW_MS`]; the noise floor is their minimum
    /// (minimum statistics: speech has gaps between words, steady noise has none).
    floor_window: Vec<f32>,
    floor_len: usize,
    noise_floor_db: f32,
    state: State,
    first_words_ms: Option<u64>,
}

impl SpeechDetector {
    pub fn new(cfg: DetectorConfig) -> Self {
        let frame_len =
            (u64::from(cfg.sample_rate) * u64::from(cfg.frame_ms.max(1)) / 1000).max(1) as usize;
        SpeechDetector {
            cfg,
            frame_len,
            pending: Vec::with_capacity(frame_len),
            frames_done: 0,
            // Empty at first: the floor is the quietest frame seen so far. Whatever sounds from
            // the very first frame is taken as background until it dips; nobody answers within
            // a human reaction time of picking up, and room noise at pickup must not count
            // as first words.
            floor_window: Vec::new(),
            floor_len: (FLOOR_WINDOW_MS / cfg.frame_ms.max(1)).max(1) as usize,
            noise_floor_db: INITIAL_FLOOR_DBFS,
            state: State::Quiet,
            first_words_ms: None,
        }
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.cfg
    }

    /// Feeds samples; returns what happened within them, in order.
    pub fn push(&mut self, samples: &[f32]) -> Vec<SpeechEvent> {
        let mut events = Vec::new();
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (self.frame_len - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == self.frame_len {
                let db = level(&self.pending).rms_dbfs;
                self.pending.clear();
                self.frame(db, &mut events);
            }
        }
        events
    }

    /// Time from the first sample to the first words, once speech has started.
    pub fn first_words_ms(&self) -> Option<u64> {
        self.first_words_ms
    }

    /// True while the detector believes the trainee is talking (hang-over included).
    pub fn is_speaking(&self) -> bool {
        matches!(self.state, State::Speaking { .. })
    }

    /// Current noise-floor estimate, dBFS (for a diagnostic line in the UI).
    pub fn noise_floor_dbfs(&self) -> f32 {
        self.noise_floor_db
    }

    fn frame_ms(&self, frame: u64) -> u64 {
        frame * self.frame_len as u64 * 1000 / u64::from(self.cfg.sample_rate.max(1))
    }

    fn frame(&mut self, db: f32, events: &mut Vec<SpeechEvent>) {
        let idx = self.frames_done;
        self.frames_done += 1;
        // The window includes this frame: a sound present from the first frame on is
        // background until it dips; a loud onset cannot lower the floor it is judged against.
        if self.floor_window.len() < self.floor_len {
            self.floor_window.push(db);
        } else {
            let slot = (idx % self.floor_len as u64) as usize;
            self.floor_window[slot] = db;
        }
        self.noise_floor_db = self
            .floor_window
            .iter()
            .copied()
            .fold(f32::INFINITY, f32::min);
        let threshold = self
            .cfg
            .min_speech_dbfs
            .max(self.noise_floor_db + self.cfg.margin_db);
        let voiced = db > threshold;
        let frame_ms = u64::from(self.cfg.frame_ms.max(1));
        let min_frames = u64::from(self.cfg.min_speech_ms).div_ceil(frame_ms).max(1);
        let hang_frames = u64::from(self.cfg.hangover_ms).div_ceil(frame_ms);
        self.state = match (self.state, voiced) {
            (State::Quiet, true) if min_frames <= 1 => {
                self.start(idx, events);
                State::Speaking {
                    last_voiced_frame: idx,
                    run: 1,
                }
            }
            (State::Quiet, true) => State::Onset {
                since_frame: idx,
                voiced_frames: 1,
            },
            (State::Quiet, false) => State::Quiet,
            (
                State::Onset {
                    since_frame,
                    voiced_frames,
                },
                true,
            ) => {
                if voiced_frames + 1 >= min_frames {
                    self.start(since_frame, events);
                    State::Speaking {
                        last_voiced_frame: idx,
                        run: 1,
                    }
                } else {
                    State::Onset {
                        since_frame,
                        voiced_frames: voiced_frames + 1,
                    }
                }
            }
            // A single unvoiced frame inside an onset is tolerated (plosives, gaps between
            // syllables); a longer gap means it was a bump, not speech.
            (
                State::Onset {
                    since_frame,
                    voiced_frames,
                },
                false,
            ) => {
                if idx - since_frame > voiced_frames {
                    State::Quiet
                } else {
                    State::Onset {
                        since_frame,
                        voiced_frames,
                    }
                }
            }
            (
                State::Speaking {
                    last_voiced_frame,
                    run,
                },
                true,
            ) => {
                let run = run + 1;
                let resumed = idx == last_voiced_frame + 1 || run >= min_frames;
                State::Speaking {
                    last_voiced_frame: if resumed { idx } else { last_voiced_frame },
                    run,
                }
            }
            (
                State::Speaking {
                    last_voiced_frame, ..
                },
                false,
            ) => {
                if idx - last_voiced_frame >= hang_frames {
                    events.push(SpeechEvent::Ended {
                        at_ms: self.frame_ms(last_voiced_frame + 1),
                        noticed_ms: self.frame_ms(idx + 1),
                    });
                    State::Quiet
                } else {
                    State::Speaking {
                        last_voiced_frame,
                        run: 0,
                    }
                }
            }
        };
    }

    fn start(&mut self, frame: u64, events: &mut Vec<SpeechEvent>) {
        let at_ms = self.frame_ms(frame);
        self.first_words_ms.get_or_insert(at_ms);
        events.push(SpeechEvent::Started { at_ms });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(ms: u32, amp: f32) -> Vec<f32> {
        (0..ms * 16)
            .map(|i| amp * (i as f32 * 2.0 * std::f32::consts::PI * 220.0 / 16_000.0).sin())
            .collect()
    }

    fn silence(ms: u32) -> Vec<f32> {
        vec![0.0; (ms * 16) as usize]
    }

    #[test]
    fn level_of_full_scale_sine_and_silence() {
        let l = level(&tone(1000, 1.0));
        assert!((l.rms_dbfs - -3.01).abs() < 0.05, "{l:?}");
        assert!(l.peak_dbfs.abs() < 0.01, "{l:?}");
        let l = level(&tone(1000, 0.1));
        assert!((l.rms_dbfs - -23.01).abs() < 0.05, "{l:?}");
        assert_eq!(level(&silence(20)).rms_dbfs, SILENCE_DBFS);
        assert_eq!(level(&[]).peak_dbfs, SILENCE_DBFS);
        assert_eq!(to_dbfs(f32::NAN), SILENCE_DBFS);
        assert_eq!(to_dbfs(1e-30), SILENCE_DBFS);
    }

    #[test]
    fn start_and_end_with_hangover() {
        let mut d = SpeechDetector::new(DetectorConfig::default());
        let mut ev = d.push(&silence(500));
        ev.extend(d.push(&tone(2000, 0.2)));
        ev.extend(d.push(&silence(900)));
        assert_eq!(ev, vec![SpeechEvent::Started { at_ms: 500 }]);
        assert!(d.is_speaking());
        ev = d.push(&silence(200));
        assert_eq!(
            ev,
            vec![SpeechEvent::Ended {
                at_ms: 2500,
                noticed_ms: 3500
            }]
        );
        assert_eq!(d.first_words_ms(), Some(500));
        assert!(!d.is_speaking());
    }

    #[test]
    fn pauses_shorter_than_the_hangover_do_not_end_speech() {
        let mut d = SpeechDetector::new(DetectorConfig::default());
        let mut ev = d.push(&silence(200));
        ev.extend(d.push(&tone(800, 0.2)));
        ev.extend(d.push(&silence(700)));
        ev.extend(d.push(&tone(800, 0.2)));
        ev.extend(d.push(&silence(1500)));
        assert_eq!(
            ev,
            vec![
                SpeechEvent::Started { at_ms: 200 },
                SpeechEvent::Ended {
                    at_ms: 2500,
                    noticed_ms: 3500
                }
            ]
        );
    }

    #[test]
    fn a_sound_already_there_at_pickup_is_background_until_it_dips() {
        // The price of not mistaking room noise for first words: speech that starts on the
        // very first frame is found only from its first gap on.
        let mut d = SpeechDetector::new(DetectorConfig::default());
        let mut ev = d.push(&tone(600, 0.2));
        ev.extend(d.push(&silence(300)));
        ev.extend(d.push(&tone(600, 0.2)));
        assert_eq!(ev, vec![SpeechEvent::Started { at_ms: 900 }]);
    }

    #[test]
    fn clicks_are_not_speech() {
        let mut d = SpeechDetector::new(DetectorConfig::default());
        let mut ev = Vec::new();
        for _ in 0..5 {
            ev.extend(d.push(&tone(20, 0.9)));
            ev.extend(d.push(&silence(300)));
        }
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(d.first_words_ms(), None);
    }

    #[test]
    fn steady_room_noise_raises_the_floor_and_speech_still_shows() {
        // Deterministic "noise": a 1 kHz hum at -40 dBFS, above min_speech_dbfs.
        let hum: Vec<f32> = (0..16_000 * 3)
            .map(|i| 0.014 * (i as f32 * 2.0 * std::f32::consts::PI * 1000.0 / 16_000.0).sin())
            .collect();
        let mut d = SpeechDetector::new(DetectorConfig::default());
        // Sounding from the first frame on, the hum is background, never first words.
        let ev = d.push(&hum);
        assert_eq!(ev, vec![]);
        assert!(
            (d.noise_floor_dbfs() - -40.0).abs() < 0.5,
            "floor {}",
            d.noise_floor_dbfs()
        );
        assert!(!d.is_speaking());
        let ev = d.push(&tone(1000, 0.3));
        assert!(matches!(ev[..], [SpeechEvent::Started { .. }]), "{ev:?}");
    }

    #[test]
    fn a_quiet_voice_starts_and_ends_a_turn() {
        // -60 dBFS: a laptop microphone with its gain far down.
        let mut d = SpeechDetector::new(DetectorConfig::default());
        let mut ev = d.push(&silence(500));
        ev.extend(d.push(&tone(1000, 0.0014)));
        ev.extend(d.push(&silence(1500)));
        assert!(
            matches!(
                ev[..],
                [
                    SpeechEvent::Started { at_ms: 500 },
                    SpeechEvent::Ended { at_ms: 1500, .. }
                ]
            ),
            "{ev:?}"
        );
    }

    #[test]
    fn noise_flickering_over_the_floor_in_a_pause_does_not_hold_the_turn_open() {
        // Speech, then 1.5 s of room noise whose single 20 ms frames now and then rise
        // above the threshold (as in a real recording's pause), then speech again.
        let mut d = SpeechDetector::new(DetectorConfig::default());
        let mut ev = d.push(&tone(300, 0.0003)); // the room, -73 dBFS
        ev.extend(d.push(&tone(800, 0.1)));
        for k in 0..15 {
            let amp = if k % 3 == 0 { 0.0015 } else { 0.0004 };
            ev.extend(d.push(&tone(20, amp)));
            ev.extend(d.push(&tone(80, 0.0004)));
        }
        ev.extend(d.push(&tone(800, 0.1)));
        assert!(
            matches!(
                ev[..],
                [
                    SpeechEvent::Started { at_ms: 300 },
                    SpeechEvent::Ended {
                        at_ms: 1100..=1140,
                        ..
                    },
                    SpeechEvent::Started { at_ms: 2600 }
                ]
            ),
            "{ev:?}"
        );
    }

    #[test]
    fn chunking_does_not_change_the_result() {
        let mut signal = silence(300);
        signal.extend(tone(1200, 0.25));
        signal.extend(silence(1500));
        let mut whole = SpeechDetector::new(DetectorConfig::default());
        let a = whole.push(&signal);
        let mut bits = SpeechDetector::new(DetectorConfig::default());
        let b: Vec<_> = signal.chunks(77).flat_map(|c| bits.push(c)).collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn hangover_is_configurable() {
        let cfg = DetectorConfig {
            hangover_ms: 400,
            ..DetectorConfig::default()
        };
        let mut d = SpeechDetector::new(cfg);
        let mut ev = d.push(&silence(100));
        ev.extend(d.push(&tone(500, 0.2)));
        ev.extend(d.push(&silence(500)));
        assert_eq!(
            ev[1],
            SpeechEvent::Ended {
                at_ms: 600,
                noticed_ms: 1000
            }
        );
    }
}
