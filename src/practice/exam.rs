//! Exam mode of the practice state machine: a proctor screen starts the sitting, the calls
//! of a certification suite come in order, each taken once — no retry, no model answer and
//! no feedback between calls unless the suite allows them — and leaving early ends the
//! sitting as incomplete. The recording, pickup timing, grading and storage are practice's:
//! this file only changes which transitions are allowed, and asks the runtime to start,
//! record and seal the sitting ([`Effect::StartSitting`], [`Effect::EndSitting`]).

use super::{App, Effect, Key, Msg, Screen, Situation};
use crate::config::Lang;

/// What the exam screens know of the sitting.
#[derive(Debug, Clone, PartialEq)]
pub struct Exam {
    pub suite_id: String,
    pub suite_version: String,
    pub title_zh: String,
    pub title_en: String,
    pub candidate: String,
    pub employee_id: Option<String>,
    pub call_mark: u32,
    pub overall_mark: u32,
    pub calls_required: u32,
    /// The suite's critical checks (patterns).
    pub critical: Vec<String>,
    /// Show each call's feedback when it ends.
    pub show_feedback: bool,
    /// Show the model answer with that feedback.
    pub show_model_answer: bool,
    /// Per call: the line connects by itself after this many rings.
    pub forced_rings: Vec<Option<u32>>,
    /// The proctor started it (the sitting exists).
    pub started: bool,
    /// Calls finished and saved.
    pub taken: usize,
    /// "End the sitting now?" is on screen.
    pub confirm_leave: bool,
    /// Set once the runtime has sealed the sitting.
    pub ended: Option<Ended>,
}

/// How the sitting ended, as the runtime sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub sitting: String,
    pub complete: bool,
    /// SHA-256 of the seal.
    pub seal: String,
}

impl App {
    /// The exam screens for `calls` (one situation per call of the suite, in order).
    pub fn new_exam(calls: Vec<Situation>, lang: Lang, exam: Exam) -> App {
        let mut app = App::new(calls, lang, String::new());
        app.screen = Screen::Proctor;
        app.exam = Some(Box::new(exam));
        app
    }

    /// Number of calls of the sitting.
    pub fn total_calls(&self) -> usize {
        self.situations.len()
    }

    /// Exam mode's part of [`App::update`]: Some(effects) when exam mode decides, None when
    /// practice's handling applies unchanged.
    pub(super) fn exam_update(&mut self, msg: &Msg) -> Option<Vec<Effect>> {
        let total = self.total_calls();
        let selected = self.selected;
        let screen = self.screen.clone();
        let exam = self.exam.as_deref_mut()?;
        let in_call = matches!(screen, Screen::Ringing { .. } | Screen::Call { .. });
        let live = exam.started && exam.ended.is_none();
        match msg {
            Msg::Key(Key::Interrupt) => {
                let mut fx = vec![];
                if in_call {
                    fx.push(Effect::HangUp);
                }
                if live {
                    fx.push(Effect::EndSitting);
                }
                fx.push(Effect::Quit);
                Some(fx)
            }
            Msg::Key(k) if exam.confirm_leave => {
                exam.confirm_leave = false;
                if *k != Key::Yes {
                    return Some(vec![]);
                }
                let mut fx = vec![];
                if in_call {
                    fx.push(Effect::HangUp);
                }
                fx.push(Effect::EndSitting);
                self.screen = Screen::ExamEnd;
                Some(fx)
            }
            Msg::Key(_) if self.show_help => None,
            Msg::Key(k) => match (&screen, *k) {
                (_, Key::Help) => None,
                (Screen::Proctor, Key::Enter | Key::Space) => {
                    exam.started = true;
                    self.selected = 0;
                    self.screen = Screen::Card;
                    Some(vec![Effect::StartSitting])
                }
                (Screen::Proctor, Key::Back) => Some(vec![Effect::Quit]),
                // Before the sitting starts, the proctor may check the microphone; once it
                // has started, the calls come in order and nothing else.
                (Screen::Proctor, Key::Mic) => {
                    Some(self.check_microphone(super::CheckReason::OnDemand))
                }
                (Screen::MicCheck(_), _) => None,
                (Screen::Proctor, _) => Some(vec![]),
                (
                    Screen::Card | Screen::Ringing { .. } | Screen::Call { .. } | Screen::Between,
                    Key::Back,
                ) => {
                    exam.confirm_leave = true;
                    Some(vec![])
                }
                (Screen::Card, Key::Enter | Key::Space) => None,
                (Screen::Ringing { .. }, Key::Enter | Key::Space) => {
                    // A call that connects by itself cannot be picked up early.
                    exam.forced_rings
                        .get(selected)
                        .copied()
                        .flatten()
                        .map(|_| vec![])
                }
                (Screen::Call { .. }, Key::Enter | Key::Space) => None,
                (Screen::Feedback { .. }, Key::Up | Key::Down) => None,
                (
                    Screen::Feedback { .. } | Screen::Between,
                    Key::Enter | Key::Space | Key::Next,
                ) => {
                    if exam.taken >= total {
                        self.screen = Screen::ExamEnd;
                        Some(vec![Effect::StopPlayback])
                    } else {
                        self.selected = exam.taken;
                        self.screen = Screen::Card;
                        Some(vec![Effect::StopPlayback])
                    }
                }
                (Screen::ExamEnd, Key::Enter | Key::Space | Key::Back)
                    if exam.ended.is_some() || !live =>
                {
                    Some(vec![Effect::Quit])
                }
                // No retry, no replay, no list to go back to.
                _ => Some(vec![]),
            },
            Msg::AutoPickUp => {
                if let Screen::Ringing { .. } = screen {
                    self.screen = Screen::Call {
                        turn: 0,
                        elapsed_ms: 0,
                        level_db: -100.0,
                        heard_speech: false,
                    };
                    Some(vec![Effect::PickUp, Effect::StartTurn { turn: 0 }])
                } else {
                    Some(vec![])
                }
            }
            Msg::Graded(feedback) => {
                exam.taken += 1;
                let last = exam.taken >= total;
                self.screen = if exam.show_feedback {
                    Screen::Feedback {
                        feedback: feedback.clone(),
                        scroll: 0,
                    }
                } else {
                    Screen::Between
                };
                Some(if last {
                    vec![Effect::EndSitting]
                } else {
                    vec![]
                })
            }
            Msg::Sealed(ended) => {
                exam.ended = Some(ended.clone());
                if matches!(screen, Screen::Between) && exam.taken >= total {
                    self.screen = Screen::ExamEnd;
                }
                Some(vec![])
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::practice::Feedback;

    fn sit(id: &str) -> Situation {
        Situation {
            id: id.into(),
            title_zh: "接听来电".into(),
            title_en: "Answering a call".into(),
            direction: "incoming".into(),
            difficulty: 1,
            brief_zh: String::new(),
            brief_en: String::new(),
            caller_turns: vec![("(电话铃响)".into(), "(the phone rings)".into())],
            model_answer: "您好,广利物业,请问有什么可以帮您?".into(),
            best_score: None,
        }
    }

    pub(crate) fn exam(forced: Vec<Option<u32>>, show_feedback: bool) -> Exam {
        Exam {
            suite_id: "t".into(),
            suite_version: "1".into(),
            title_zh: "测试".into(),
            title_en: "Test".into(),
            candidate: "刘芳".into(),
            employee_id: Some("GL-0042".into()),
            call_mark: 85,
            overall_mark: 85,
            calls_required: 2,
            critical: vec!["banned_phrase:*".into()],
            show_feedback,
            show_model_answer: false,
            forced_rings: forced,
            started: false,
            taken: 0,
            confirm_leave: false,
            ended: None,
        }
    }

    fn fb() -> Box<Feedback> {
        Box::new(Feedback {
            transcript: String::new(),
            marks: vec![],
            checks: vec![],
            score: 90,
            passed: true,
            rings: 1,
            pickup_ms: 900,
            first_words_ms: None,
            chars_per_minute: None,
            saved_as: None,
        })
    }

    fn ended() -> Ended {
        Ended {
            sitting: "s".into(),
            complete: true,
            seal: "ab".into(),
        }
    }

    #[test]
    fn two_calls_in_order_without_retry_then_sealed() {
        let mut app = App::new_exam(
            vec![sit("answer-call"), sit("end-call")],
            Lang::En,
            exam(vec![None, None], false),
        );
        assert_eq!(app.screen, Screen::Proctor);
        assert_eq!(app.update(Msg::Key(Key::Enter)), vec![Effect::StartSitting]);
        for call in 0..2 {
            assert_eq!(app.selected, call);
            assert_eq!(app.update(Msg::Key(Key::Enter)), vec![Effect::StartRinging]);
            assert_eq!(
                app.update(Msg::Key(Key::Space)),
                vec![Effect::PickUp, Effect::StartTurn { turn: 0 }]
            );
            app.update(Msg::Key(Key::Enter));
            assert!(matches!(app.screen, Screen::Working { .. }));
            let fx = app.update(Msg::Graded(fb()));
            assert_eq!(app.screen, Screen::Between, "no feedback between calls");
            // No retry, no replay.
            assert_eq!(app.update(Msg::Key(Key::Retry)), vec![]);
            assert_eq!(app.update(Msg::Key(Key::Play)), vec![]);
            if call == 1 {
                assert_eq!(
                    fx,
                    vec![Effect::EndSitting],
                    "sealed when the last call ends"
                );
                app.update(Msg::Sealed(ended()));
                assert_eq!(app.screen, Screen::ExamEnd);
            } else {
                assert_eq!(fx, vec![]);
                app.update(Msg::Key(Key::Enter));
                assert_eq!(app.screen, Screen::Card);
            }
        }
        assert_eq!(app.update(Msg::Key(Key::Enter)), vec![Effect::Quit]);
    }

    #[test]
    fn leaving_early_asks_then_ends_the_sitting_as_it_stands() {
        let mut app = App::new_exam(
            vec![sit("answer-call"), sit("end-call")],
            Lang::Zh,
            exam(vec![None, None], false),
        );
        app.update(Msg::Key(Key::Enter));
        app.update(Msg::Key(Key::Enter));
        assert!(matches!(app.screen, Screen::Ringing { .. }));
        // q asks first; anything but y goes on.
        assert_eq!(app.update(Msg::Key(Key::Back)), vec![]);
        assert!(app.exam.as_ref().unwrap().confirm_leave);
        assert_eq!(app.update(Msg::Key(Key::Back)), vec![]);
        assert!(matches!(app.screen, Screen::Ringing { .. }));
        app.update(Msg::Key(Key::Back));
        assert_eq!(
            app.update(Msg::Key(Key::Yes)),
            vec![Effect::HangUp, Effect::EndSitting]
        );
        assert_eq!(app.screen, Screen::ExamEnd);
        // Ctrl-C during a sitting still seals it before quitting.
        let mut app = App::new_exam(vec![sit("a")], Lang::En, exam(vec![None], false));
        app.update(Msg::Key(Key::Enter));
        assert_eq!(
            app.update(Msg::Key(Key::Interrupt)),
            vec![Effect::EndSitting, Effect::Quit]
        );
    }

    #[test]
    fn the_proctor_may_check_the_microphone_before_the_sitting_only() {
        let mut app = App::new_exam(vec![sit("a")], Lang::En, exam(vec![None], false));
        assert_eq!(app.update(Msg::Key(Key::Mic)), vec![Effect::StartMicCheck]);
        assert!(
            matches!(&app.screen, Screen::MicCheck(c) if c.reason == crate::practice::CheckReason::OnDemand)
        );
        app.update(Msg::MicChecked(Box::new(crate::practice::CheckView {
            passed: false,
            advice: vec![],
            measured: None,
            remembered: None,
        })));
        assert_eq!(
            app.update(Msg::Key(Key::Retry)),
            vec![Effect::StartMicCheck]
        );
        // q leaves the check for the proctor's screen, not the exam.
        assert_eq!(app.update(Msg::Key(Key::Back)), vec![Effect::StopMicCheck]);
        assert_eq!(app.screen, Screen::Proctor);
        assert!(!app.exam.as_ref().unwrap().started);
        // Once the sitting has started, m does nothing.
        app.update(Msg::Key(Key::Enter));
        assert_eq!(app.screen, Screen::Card);
        assert_eq!(app.update(Msg::Key(Key::Mic)), vec![]);
        assert_eq!(app.screen, Screen::Card);
    }

    #[test]
    fn a_call_with_forced_rings_connects_by_itself() {
        let mut app = App::new_exam(vec![sit("a")], Lang::En, exam(vec![Some(5)], true));
        app.update(Msg::Key(Key::Enter));
        app.update(Msg::Key(Key::Enter));
        assert_eq!(
            app.update(Msg::Key(Key::Space)),
            vec![],
            "cannot pick up early"
        );
        assert_eq!(
            app.update(Msg::AutoPickUp),
            vec![Effect::PickUp, Effect::StartTurn { turn: 0 }]
        );
        app.update(Msg::Key(Key::Enter));
        app.update(Msg::Graded(fb()));
        assert!(
            matches!(app.screen, Screen::Feedback { .. }),
            "this suite shows feedback"
        );
        app.update(Msg::Key(Key::Next));
        assert_eq!(app.screen, Screen::ExamEnd);
    }
}
