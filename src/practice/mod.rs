//! The trainee's practice as a pure state machine: (microphone check on a new microphone) →
//! pick → situation card → ringing → call (turn by turn) → transcribing → feedback. [`App::update`] takes one [`Msg`] (a key, a
//! ring or level report, a worker result) and returns the [`Effect`]s the runtime carries
//! out (ring, record, play, transcribe, grade, save). The state machine has no clock, no
//! audio and no model; the views only render this state.
//!
//! The folder has the review's shape:
//! - [`keys`]: terminal keys → [`Key`];
//! - [`model`]: what the screens show of a scenario and of a report, built once
//!   ([`Situation`], [`Feedback`]), so rendering never computes a grade;
//! - [`guesser`]: transcribing at each pause while the trainee is still speaking;
//! - [`miccheck`]: the microphone check's screen (say a line, a level meter, the verdict
//!   with what to change), and [`mic_record`], the microphones that passed it;
//! - [`trace`]: the practice log's account of every transcription request;
//! - [`run`](mod@run): the runtime (audio, transcription worker, grader, store) and the
//!   screens as [`crate::tui`]'s event loop drives them;
//! - [`views`] and [`strings`]: rendering, in both languages.

pub mod exam;
pub mod guesser;
pub mod keys;
pub mod mic_record;
pub mod miccheck;
pub mod model;
pub mod run;
pub mod sitting;
pub mod strings;
pub mod trace;
pub mod views;

#[cfg(test)]
mod snapshots;
#[cfg(test)]
mod tests;

use crate::config::Lang;

pub use exam::{Ended, Exam};
pub use guesser::Guesser;
pub use keys::Key;
pub use miccheck::{CheckReason, CheckStage, MicCheckPlan, MicCheckScreen};
pub use model::{CheckRow, CheckView, Feedback, Mark, Situation, Verdict};
pub use run::{run, Options, PracticeError};

#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Pick,
    Card,
    Ringing {
        rings: u32,
        elapsed_ms: u64,
    },
    Call {
        turn: usize,
        elapsed_ms: u64,
        level_db: f32,
        heard_speech: bool,
    },
    Working {
        done_turns: usize,
        elapsed_ms: u64,
    },
    Feedback {
        feedback: Box<Feedback>,
        scroll: u16,
    },
    /// Exam mode: the proctor's screen, before the sitting starts.
    Proctor,
    /// Exam mode: a call has ended and is saved; the next one waits for the candidate.
    Between,
    /// Exam mode: the sitting has ended (sealed once [`Exam::ended`] is set).
    ExamEnd,
    /// The microphone check: on a new microphone before the first call, or on demand (`m`).
    MicCheck(Box<MicCheckScreen>),
}

/// Input to the state machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(Key),
    /// Ring progress from the runtime's ringer (rings started so far, ms since ringing began).
    Ringing {
        rings: u32,
        elapsed_ms: u64,
    },
    /// Recording progress of the current turn (or of the microphone check): ms since it
    /// began, level in dBFS.
    Level {
        elapsed_ms: u64,
        level_db: f32,
        heard_speech: bool,
    },
    /// The end-of-speech detector (or the max-wait timer) ended the current turn.
    TurnEnded,
    /// The worker finished transcribing a turn.
    TurnTranscribed {
        turn: usize,
    },
    /// Elapsed time while waiting for the transcriber/grader.
    Waiting {
        elapsed_ms: u64,
    },
    /// The whole call is graded.
    Graded(Box<Feedback>),
    /// Something went wrong in the runtime; shown as a one-line status, the loop goes on.
    Failed(String),
    /// Exam mode: the call connects by itself (the suite's ring count was reached).
    AutoPickUp,
    /// Exam mode: the sitting has ended and is sealed.
    Sealed(Ended),
    /// The desk's upload queue to the training room's shared store changed.
    Uploads(crate::db::QueueState),
    /// The microphone check has been judged.
    MicChecked(Box<CheckView>),
    /// The microphone check could not listen (the microphone failed): why.
    MicCheckFailed(String),
}

/// What the runtime must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    StartRinging,
    /// Stop the ring: the trainee picked up.
    PickUp,
    /// The call was abandoned (q/Esc while ringing or during the call): stop everything, discard.
    HangUp,
    /// Play the caller's line of this turn (if the scenario has audio) and start recording the reply.
    StartTurn {
        turn: usize,
    },
    /// Stop recording this turn and hand its audio to the transcriber.
    EndTurn {
        turn: usize,
    },
    /// All turns are recorded: grade the whole call once the transcripts are in, and save it.
    FinishCall,
    /// Play back the trainee's own recording of the last attempt.
    PlayRecording,
    StopPlayback,
    /// Exam mode: the proctor started the sitting.
    StartSitting,
    /// Exam mode: end the sitting (complete or not) and seal it.
    EndSitting,
    /// Listen to the trainee saying the check line (afresh).
    StartMicCheck,
    /// Stop listening and judge what was heard.
    EndMicCheck,
    /// Stop listening, nothing judged (the check was left).
    StopMicCheck,
    Quit,
}

#[derive(Debug, Clone)]
pub struct App {
    pub lang: Lang,
    pub org: String,
    pub situations: Vec<Situation>,
    pub selected: usize,
    pub screen: Screen,
    pub show_help: bool,
    /// A transient one-line message (errors, hints).
    pub status: Option<String>,
    /// Exam mode (a certification sitting), if this is one.
    pub exam: Option<Box<Exam>>,
    /// The upload queue, when a shared store is configured (from its sync worker).
    pub uploads: Option<crate::db::QueueState>,
}

impl App {
    pub fn new(situations: Vec<Situation>, lang: Lang, org: String) -> App {
        App {
            lang,
            org,
            situations,
            selected: 0,
            screen: Screen::Pick,
            show_help: false,
            status: None,
            exam: None,
            uploads: None,
        }
    }

    pub fn current(&self) -> Option<&Situation> {
        self.situations.get(self.selected)
    }

    /// Number of trainee turns in the current situation (one per caller line, at least one).
    pub fn turns(&self) -> usize {
        self.current().map_or(1, |s| s.caller_turns.len().max(1))
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        if let Some(fx) = self.exam_update(&msg) {
            return fx;
        }
        if let Some(fx) = self.mic_check_update(&msg) {
            return fx;
        }
        match msg {
            Msg::Key(k) => self.key(k),
            Msg::Ringing { rings, elapsed_ms } => {
                if let Screen::Ringing { .. } = self.screen {
                    self.screen = Screen::Ringing { rings, elapsed_ms };
                }
                vec![]
            }
            Msg::Level {
                elapsed_ms,
                level_db,
                heard_speech,
            } => {
                if let Screen::Call { turn, .. } = self.screen {
                    self.screen = Screen::Call {
                        turn,
                        elapsed_ms,
                        level_db,
                        heard_speech,
                    };
                }
                vec![]
            }
            Msg::TurnEnded => self.end_turn(),
            Msg::TurnTranscribed { turn } => {
                if let Screen::Working {
                    done_turns,
                    elapsed_ms,
                } = self.screen
                {
                    self.screen = Screen::Working {
                        done_turns: done_turns.max(turn + 1),
                        elapsed_ms,
                    };
                }
                vec![]
            }
            Msg::Waiting { elapsed_ms } => {
                if let Screen::Working { done_turns, .. } = self.screen {
                    self.screen = Screen::Working {
                        done_turns,
                        elapsed_ms,
                    };
                }
                vec![]
            }
            Msg::Graded(feedback) => {
                if let Some(score) = self
                    .situations
                    .get_mut(self.selected)
                    .map(|s| &mut s.best_score)
                {
                    *score = Some(score.map_or(feedback.score, |b| b.max(feedback.score)));
                }
                self.screen = Screen::Feedback {
                    feedback,
                    scroll: 0,
                };
                vec![]
            }
            Msg::Failed(message) => {
                self.status = Some(message);
                // A failure while waiting for a grade cannot be recovered here: go back to the card.
                if let Screen::Working { .. } = self.screen {
                    self.screen = Screen::Card;
                }
                vec![]
            }
            Msg::Uploads(q) => {
                self.uploads = Some(q);
                vec![]
            }
            Msg::AutoPickUp | Msg::Sealed(_) | Msg::MicChecked(_) | Msg::MicCheckFailed(_) => {
                vec![]
            }
        }
    }

    fn end_turn(&mut self) -> Vec<Effect> {
        let Screen::Call { turn, .. } = self.screen else {
            return vec![];
        };
        let mut fx = vec![Effect::EndTurn { turn }];
        if turn + 1 < self.turns() {
            self.screen = Screen::Call {
                turn: turn + 1,
                elapsed_ms: 0,
                level_db: -100.0,
                heard_speech: false,
            };
            fx.push(Effect::StartTurn { turn: turn + 1 });
        } else {
            self.screen = Screen::Working {
                done_turns: 0,
                elapsed_ms: 0,
            };
            fx.push(Effect::FinishCall);
        }
        fx
    }

    fn key(&mut self, key: Key) -> Vec<Effect> {
        if self.show_help {
            // Any key closes help; it never acts behind the overlay.
            self.show_help = false;
            return vec![];
        }
        if key == Key::Help {
            self.show_help = true;
            return vec![];
        }
        self.status = None;
        match (&mut self.screen, key) {
            (Screen::Pick, Key::Up) => {
                self.selected = self.selected.saturating_sub(1);
                vec![]
            }
            (Screen::Pick, Key::Down) => {
                if self.selected + 1 < self.situations.len() {
                    self.selected += 1;
                }
                vec![]
            }
            (Screen::Pick, Key::Enter | Key::Space) if !self.situations.is_empty() => {
                self.screen = Screen::Card;
                vec![]
            }
            (_, Key::Interrupt) => {
                let mut fx = vec![];
                if matches!(self.screen, Screen::Ringing { .. } | Screen::Call { .. }) {
                    fx.push(Effect::HangUp);
                }
                fx.push(Effect::Quit);
                fx
            }
            (Screen::Pick, Key::Back) => vec![Effect::Quit],
            (Screen::Pick | Screen::Card, Key::Mic) => self.check_microphone(CheckReason::OnDemand),
            (Screen::Card, Key::Enter | Key::Space) => {
                self.screen = Screen::Ringing {
                    rings: 0,
                    elapsed_ms: 0,
                };
                vec![Effect::StartRinging]
            }
            (Screen::Card, Key::Back) => {
                self.screen = Screen::Pick;
                vec![]
            }
            (Screen::Ringing { .. }, Key::Enter | Key::Space) => {
                self.screen = Screen::Call {
                    turn: 0,
                    elapsed_ms: 0,
                    level_db: -100.0,
                    heard_speech: false,
                };
                vec![Effect::PickUp, Effect::StartTurn { turn: 0 }]
            }
            (Screen::Ringing { .. } | Screen::Call { .. }, Key::Back) => {
                self.screen = Screen::Card;
                vec![Effect::HangUp]
            }
            (Screen::Call { .. }, Key::Enter | Key::Space) => self.end_turn(),
            (Screen::Feedback { scroll, .. }, Key::Down) => {
                *scroll = scroll.saturating_add(1);
                vec![]
            }
            (Screen::Feedback { scroll, .. }, Key::Up) => {
                *scroll = scroll.saturating_sub(1);
                vec![]
            }
            (Screen::Feedback { .. }, Key::Retry) => {
                self.screen = Screen::Ringing {
                    rings: 0,
                    elapsed_ms: 0,
                };
                vec![Effect::StopPlayback, Effect::StartRinging]
            }
            (Screen::Feedback { .. }, Key::Play) => vec![Effect::PlayRecording],
            (Screen::Feedback { .. }, Key::Next) => {
                self.selected = (self.selected + 1) % self.situations.len().max(1);
                self.screen = Screen::Card;
                vec![Effect::StopPlayback]
            }
            (Screen::Feedback { .. }, Key::Back) => {
                self.screen = Screen::Pick;
                vec![Effect::StopPlayback]
            }
            // While transcribing, other keys wait: the result is seconds away.
            _ => vec![],
        }
    }
}
