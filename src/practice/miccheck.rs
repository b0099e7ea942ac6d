//! The microphone check as a screen of the practice state machine: the trainee says the
//! check line ([`crate::audio::quality::CHECK_LINE`]) while a level meter follows the voice;
//! a pause (or Enter) ends it and the verdict, with what to change, is shown; `r` checks
//! again, Enter goes on (anyway, after a failed check), `q` leaves.
//!
//! It comes by itself before the first practice on a microphone that has no passed check on
//! record ([`super::mic_record`]), and on demand with `m` on the pick list or the situation
//! card (and on an exam's proctor screen, before the sitting starts). The judgement is not
//! made here: the runtime has [`crate::audio::quality::MicCheck`] judge the recording and
//! sends its [`CheckView`].

use super::{App, CheckView, Effect, Key, Msg, Screen};

/// Whether practice checks the microphone before the first call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MicCheckPlan {
    /// When this input device has no passed check on record.
    #[default]
    FirstRun,
    /// Every time (`--check-mic`).
    Always,
    /// Never by itself (`--no-mic-check`, `[audio] mic_check = false`, a `--input` file, an
    /// exam); `m` still runs it.
    Never,
}

impl MicCheckPlan {
    /// From the flags and the config: `--check-mic` always checks (a `--input` file then plays
    /// as the microphone); otherwise `--no-mic-check`, the config's `mic_check = false` or
    /// recordings played as the microphone (tests, demos, scripts) skip it.
    pub fn choose(check_mic: bool, no_mic_check: bool, files: bool, config: bool) -> Self {
        if check_mic {
            MicCheckPlan::Always
        } else if no_mic_check || files || !config {
            MicCheckPlan::Never
        } else {
            MicCheckPlan::FirstRun
        }
    }

    /// Whether (and why) the check comes before the first call, given whether this
    /// microphone has passed one before.
    pub fn due(self, passed_before: bool) -> Option<CheckReason> {
        match self {
            MicCheckPlan::FirstRun if !passed_before => Some(CheckReason::NewMicrophone),
            MicCheckPlan::Always => Some(CheckReason::Asked),
            _ => None,
        }
    }
}

/// Why the check is on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckReason {
    /// Before the first call on a microphone with no passed check on record.
    NewMicrophone,
    /// Before the first call, as `--check-mic` asked.
    Asked,
    /// `m`, from a screen it goes back to.
    OnDemand,
}

impl CheckReason {
    /// It came before the first call: nothing else is open, so `q` quits ringcoach.
    pub fn at_start(self) -> bool {
        self != CheckReason::OnDemand
    }
}

/// The check screen's state.
#[derive(Debug, Clone, PartialEq)]
pub struct MicCheckScreen {
    pub stage: CheckStage,
    /// Where Enter goes once the check is done (and `q`, on demand).
    pub then: Box<Screen>,
    pub reason: CheckReason,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CheckStage {
    /// The trainee is saying the line.
    Listening {
        elapsed_ms: u64,
        level_db: f32,
        heard_speech: bool,
    },
    /// The verdict.
    Judged(Box<CheckView>),
}

impl CheckStage {
    fn listening() -> CheckStage {
        CheckStage::Listening {
            elapsed_ms: 0,
            level_db: -100.0,
            heard_speech: false,
        }
    }
}

impl App {
    /// Opens the check over the current screen, which it goes on (or back) to.
    pub fn check_microphone(&mut self, reason: CheckReason) -> Vec<Effect> {
        let then = std::mem::replace(&mut self.screen, Screen::Pick);
        self.screen = Screen::MicCheck(Box::new(MicCheckScreen {
            stage: CheckStage::listening(),
            then: Box::new(then),
            reason,
        }));
        vec![Effect::StartMicCheck]
    }

    /// The check screen's part of [`App::update`]: Some(effects) when it decides, None when
    /// the general handling applies (help, Ctrl-C, uploads, failures).
    pub(super) fn mic_check_update(&mut self, msg: &Msg) -> Option<Vec<Effect>> {
        let Screen::MicCheck(check) = &mut self.screen else {
            return None;
        };
        match msg {
            Msg::Level {
                elapsed_ms,
                level_db,
                heard_speech,
            } => {
                if let CheckStage::Listening { .. } = check.stage {
                    check.stage = CheckStage::Listening {
                        elapsed_ms: *elapsed_ms,
                        level_db: *level_db,
                        heard_speech: *heard_speech,
                    };
                }
                Some(vec![])
            }
            Msg::MicChecked(view) => {
                if let CheckStage::Listening { .. } = check.stage {
                    check.stage = CheckStage::Judged(view.clone());
                }
                Some(vec![])
            }
            Msg::MicCheckFailed(message) => {
                // The microphone could not be listened to: back where the check was asked
                // from (the pick list, on a first run), with the reason on the status line.
                // (Any other failure is only said: the check goes on.)
                self.status = Some(message.clone());
                self.screen = *check.then.clone();
                Some(vec![])
            }
            Msg::Key(_) if self.show_help => None,
            Msg::Key(Key::Help | Key::Interrupt) => None,
            Msg::Key(key) => {
                self.status = None;
                let listening = matches!(check.stage, CheckStage::Listening { .. });
                Some(match (listening, *key) {
                    (true, Key::Enter | Key::Space) => vec![Effect::EndMicCheck],
                    (false, Key::Retry) => {
                        check.stage = CheckStage::listening();
                        vec![Effect::StartMicCheck]
                    }
                    (false, Key::Enter | Key::Space) => {
                        self.screen = *check.then.clone();
                        vec![]
                    }
                    (_, Key::Back) => {
                        let mut fx = if listening {
                            vec![Effect::StopMicCheck]
                        } else {
                            vec![]
                        };
                        if check.reason.at_start() {
                            fx.push(Effect::Quit);
                        } else {
                            self.screen = *check.then.clone();
                        }
                        fx
                    }
                    _ => vec![],
                })
            }
            _ => None,
        }
    }
}
