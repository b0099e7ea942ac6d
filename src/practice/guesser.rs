//! Transcribing while the trainee is still on the line (see [`Guesser`]).

use crate::audio::resample::TARGET_RATE;
use crate::transcribe::{self, Transcript};

/// Transcribing while the trainee is still on the line: at each pause the reply so far is
/// sent to the worker. If no word follows before the hang-over ends the turn, that result
/// is the turn's transcript and the trainee waits for nothing; if they speak again, the next
/// pause sends a newer guess and the worker drops the stale one (newest wins).
/// Pure bookkeeping over sample counts and request ids; the runtime does the sending.
#[derive(Debug, Default)]
pub struct Guesser {
    /// Sample index just after the last voiced chunk of the current turn.
    last_voiced: usize,
    guess: Option<Guess>,
}

#[derive(Debug)]
struct Guess {
    id: u64,
    /// `last_voiced` when it was sent: still equal at the end of the turn means it heard it all.
    upto: usize,
    result: Option<Transcript>,
}

/// Silence after a word long enough to send a guess (the hang-over that ends a turn is longer).
const GUESS_AFTER_PAUSE_MS: usize = 300;

impl Guesser {
    /// A new turn starts at sample `at`.
    pub fn start_turn(&mut self, at: usize) {
        *self = Guesser {
            last_voiced: at,
            guess: None,
        };
    }

    /// The audio up to sample `upto` ended with a voiced chunk.
    pub fn voiced(&mut self, upto: usize) {
        self.last_voiced = upto;
    }

    /// Whether the reply so far (`len` samples) should be sent now: the trainee has spoken,
    /// has paused long enough, and nothing was sent for this much speech yet.
    pub fn should_send(&self, len: usize, heard_speech: bool) -> bool {
        let pause_ms = len.saturating_sub(self.last_voiced) * 1000 / TARGET_RATE as usize;
        let fresh = self
            .guess
            .as_ref()
            .is_none_or(|g| g.upto != self.last_voiced);
        heard_speech && pause_ms >= GUESS_AFTER_PAUSE_MS && fresh
    }

    /// The reply so far was sent as request `id`.
    pub fn sent(&mut self, id: u64) {
        self.guess = Some(Guess {
            id,
            upto: self.last_voiced,
            result: None,
        });
    }

    /// A transcription finished; true if it was this turn's guess (kept, or forgotten if it
    /// failed, so that the end of the turn asks properly).
    pub fn done(
        &mut self,
        id: u64,
        result: Result<Transcript, transcribe::TranscribeError>,
    ) -> bool {
        if self.guess.as_ref().is_none_or(|g| g.id != id) {
            return false;
        }
        match result {
            Ok(t) => {
                if let Some(g) = self.guess.as_mut() {
                    g.result = Some(t);
                }
            }
            Err(_) => self.guess = None,
        }
        true
    }

    /// The worker dropped request `id` unheard.
    pub fn superseded(&mut self, id: u64) {
        if self.guess.as_ref().is_some_and(|g| g.id == id) {
            self.guess = None;
        }
    }

    /// The turn ended. If the last guess heard all of it: its request id and its transcript
    /// if already back (else it arrives as that id's result). None: ask for the whole turn.
    pub fn end_turn(&mut self) -> Option<(u64, Option<Transcript>)> {
        match self.guess.take() {
            Some(g) if g.upto == self.last_voiced => Some((g.id, g.result)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: usize = TARGET_RATE as usize / 1000;

    fn heard(text: &str) -> Transcript {
        Transcript {
            text: text.into(),
            segments: vec![],
            cut_off: None,
        }
    }

    /// Speech until `ms`, then silence: is a guess due at `now_ms`?
    fn speak_then_wait(g: &mut Guesser, speech_ms: usize, now_ms: usize) -> bool {
        g.voiced(speech_ms * MS);
        g.should_send(now_ms * MS, true)
    }

    #[test]
    fn a_guess_is_sent_once_per_pause_and_only_after_speech() {
        let mut g = Guesser::default();
        g.start_turn(0);
        assert!(!g.should_send(2000 * MS, false), "nothing said yet");
        assert!(
            !speak_then_wait(&mut g, 1000, 1200),
            "200 ms is not a pause"
        );
        assert!(speak_then_wait(&mut g, 1000, 1300));
        g.sent(1);
        assert!(
            !g.should_send(1500 * MS, true),
            "already sent for this speech"
        );
        assert!(
            speak_then_wait(&mut g, 2000, 2400),
            "more speech, new pause"
        );
    }

    #[test]
    fn a_result_back_before_the_turn_ends_is_the_turns_transcript() {
        // The bug this type was extracted for: the result came back during the hang-over
        // and was dropped, so the call waited forever.
        let mut g = Guesser::default();
        g.start_turn(0);
        speak_then_wait(&mut g, 3000, 3300);
        g.sent(7);
        assert!(g.done(7, Ok(heard("喂,你找谁?"))));
        assert_eq!(g.end_turn(), Some((7, Some(heard("喂,你找谁?")))));
    }

    #[test]
    fn a_guess_still_running_at_the_end_is_adopted_by_its_id() {
        let mut g = Guesser::default();
        g.start_turn(0);
        speak_then_wait(&mut g, 3000, 3300);
        g.sent(7);
        assert_eq!(g.end_turn(), Some((7, None)));
        // Its result now belongs to the turn, not to a guess.
        assert!(!g.done(7, Ok(heard("x"))));
    }

    #[test]
    fn speech_after_the_guess_means_the_whole_turn_is_asked_for() {
        let mut g = Guesser::default();
        g.start_turn(0);
        speak_then_wait(&mut g, 1000, 1300);
        g.sent(1);
        assert!(g.done(1, Ok(heard("您好"))));
        g.voiced(2500 * MS);
        assert_eq!(g.end_turn(), None);
    }

    #[test]
    fn a_failed_or_dropped_guess_is_forgotten() {
        let mut g = Guesser::default();
        g.start_turn(0);
        speak_then_wait(&mut g, 1000, 1300);
        g.sent(1);
        let err = transcribe::TranscribeError::Engine { detail: "x".into() };
        assert!(g.done(1, Err(err)));
        assert_eq!(g.end_turn(), None);

        g.start_turn(0);
        speak_then_wait(&mut g, 1000, 1300);
        g.sent(2);
        g.superseded(2);
        assert!(
            g.should_send(1400 * MS, true),
            "a dropped guess is sent again"
        );
        assert_eq!(g.end_turn(), None);
    }

    #[test]
    fn results_for_other_requests_are_not_taken() {
        let mut g = Guesser::default();
        g.start_turn(0);
        speak_then_wait(&mut g, 1000, 1300);
        g.sent(2);
        assert!(!g.done(1, Ok(heard("stale"))));
        assert_eq!(g.end_turn(), Some((2, None)));
    }
}
