use super::*;

fn situation(id: &str, turns: usize) -> Situation {
    Situation {
        id: id.into(),
        title_zh: "接听电话".into(),
        title_en: "Answering a call".into(),
        direction: "incoming".into(),
        difficulty: 1,
        brief_zh: "业主来电".into(),
        brief_en: "An owner calls".into(),
        caller_turns: (0..turns)
            .map(|i| (format!("第{i}句"), format!("line {i}")))
            .collect(),
        model_answer: "您好,广利物业,请问有什么可以帮您?".into(),
        best_score: None,
    }
}

fn app(turns: usize) -> App {
    App::new(
        vec![situation("answer-call", turns), situation("end-call", 1)],
        Lang::Zh,
        "广利物业".into(),
    )
}

fn feedback(score: u8) -> Box<Feedback> {
    Box::new(Feedback {
        transcript: "您好广利物业".into(),
        marks: vec![(0, 2, Mark::Found)],
        checks: vec![],
        score,
        passed: score >= 60,
        rings: 1,
        pickup_ms: 800,
        first_words_ms: Some(400),
        chars_per_minute: Some(240.0),
        saved_as: None,
    })
}

#[test]
fn a_whole_single_turn_call() {
    let mut a = app(1);
    assert_eq!(a.update(Msg::Key(Key::Down)), vec![]);
    assert_eq!(a.selected, 1);
    a.update(Msg::Key(Key::Up));
    assert_eq!(a.update(Msg::Key(Key::Enter)), vec![]);
    assert_eq!(a.screen, Screen::Card);
    assert_eq!(a.update(Msg::Key(Key::Enter)), vec![Effect::StartRinging]);
    a.update(Msg::Ringing {
        rings: 2,
        elapsed_ms: 5200,
    });
    assert_eq!(
        a.screen,
        Screen::Ringing {
            rings: 2,
            elapsed_ms: 5200
        }
    );
    assert_eq!(
        a.update(Msg::Key(Key::Space)),
        vec![Effect::PickUp, Effect::StartTurn { turn: 0 }]
    );
    a.update(Msg::Level {
        elapsed_ms: 900,
        level_db: -20.0,
        heard_speech: true,
    });
    assert!(matches!(
        a.screen,
        Screen::Call {
            heard_speech: true,
            ..
        }
    ));
    assert_eq!(
        a.update(Msg::TurnEnded),
        vec![Effect::EndTurn { turn: 0 }, Effect::FinishCall]
    );
    assert!(matches!(a.screen, Screen::Working { .. }));
    a.update(Msg::Graded(feedback(80)));
    assert!(matches!(a.screen, Screen::Feedback { .. }));
    assert_eq!(a.situations[0].best_score, Some(80));
}

#[test]
fn multi_turn_calls_go_turn_by_turn() {
    let mut a = app(3);
    a.update(Msg::Key(Key::Enter));
    a.update(Msg::Key(Key::Enter));
    a.update(Msg::Key(Key::Enter));
    assert_eq!(
        a.update(Msg::TurnEnded),
        vec![Effect::EndTurn { turn: 0 }, Effect::StartTurn { turn: 1 }]
    );
    // Enter also ends a turn by hand.
    assert_eq!(
        a.update(Msg::Key(Key::Enter)),
        vec![Effect::EndTurn { turn: 1 }, Effect::StartTurn { turn: 2 }]
    );
    assert_eq!(
        a.update(Msg::TurnEnded),
        vec![Effect::EndTurn { turn: 2 }, Effect::FinishCall]
    );
}

#[test]
fn stray_turn_end_outside_a_call_does_nothing() {
    let mut a = app(1);
    assert_eq!(a.update(Msg::TurnEnded), vec![]);
    assert_eq!(a.screen, Screen::Pick);
}

#[test]
fn back_hangs_up_a_ringing_phone_and_quits_from_the_list() {
    let mut a = app(1);
    a.update(Msg::Key(Key::Enter));
    a.update(Msg::Key(Key::Enter));
    assert_eq!(a.update(Msg::Key(Key::Back)), vec![Effect::HangUp]);
    assert_eq!(a.screen, Screen::Card);
    assert_eq!(a.update(Msg::Key(Key::Back)), vec![]);
    assert_eq!(a.screen, Screen::Pick);
    assert_eq!(a.update(Msg::Key(Key::Back)), vec![Effect::Quit]);
}

#[test]
fn ctrl_c_quits_from_anywhere_and_hangs_up_first() {
    let mut a = app(1);
    a.update(Msg::Key(Key::Enter));
    a.update(Msg::Key(Key::Enter));
    a.update(Msg::Key(Key::Enter));
    assert_eq!(
        a.update(Msg::Key(Key::Interrupt)),
        vec![Effect::HangUp, Effect::Quit]
    );
}

#[test]
fn feedback_keys_retry_play_next() {
    let mut a = app(1);
    a.screen = Screen::Feedback {
        feedback: feedback(50),
        scroll: 0,
    };
    assert_eq!(a.update(Msg::Key(Key::Play)), vec![Effect::PlayRecording]);
    a.update(Msg::Key(Key::Down));
    assert!(matches!(a.screen, Screen::Feedback { scroll: 1, .. }));
    assert_eq!(
        a.update(Msg::Key(Key::Retry)),
        vec![Effect::StopPlayback, Effect::StartRinging]
    );
    a.screen = Screen::Feedback {
        feedback: feedback(50),
        scroll: 0,
    };
    assert_eq!(a.update(Msg::Key(Key::Next)), vec![Effect::StopPlayback]);
    assert_eq!((a.selected, &a.screen), (1, &Screen::Card));
}

#[test]
fn help_overlay_swallows_the_next_key() {
    let mut a = app(1);
    a.update(Msg::Key(Key::Help));
    assert!(a.show_help);
    assert_eq!(a.update(Msg::Key(Key::Back)), vec![]);
    assert!(!a.show_help);
    assert_eq!(a.screen, Screen::Pick);
}

#[test]
fn keys_wait_while_transcribing() {
    let mut a = app(1);
    a.screen = Screen::Working {
        done_turns: 0,
        elapsed_ms: 0,
    };
    assert_eq!(a.update(Msg::Key(Key::Enter)), vec![]);
    assert_eq!(a.update(Msg::Key(Key::Back)), vec![]);
    a.update(Msg::Failed("model crashed".into()));
    assert_eq!(a.screen, Screen::Card);
    assert_eq!(a.status.as_deref(), Some("model crashed"));
}

#[test]
fn best_score_keeps_the_maximum() {
    let mut a = app(1);
    a.screen = Screen::Working {
        done_turns: 0,
        elapsed_ms: 0,
    };
    a.update(Msg::Graded(feedback(90)));
    a.screen = Screen::Working {
        done_turns: 0,
        elapsed_ms: 0,
    };
    a.update(Msg::Graded(feedback(40)));
    assert_eq!(a.situations[0].best_score, Some(90));
}

#[test]
fn empty_catalog_never_opens_a_card() {
    let mut a = App::new(vec![], Lang::En, "X".into());
    assert_eq!(a.update(Msg::Key(Key::Enter)), vec![]);
    assert_eq!(a.screen, Screen::Pick);
    assert_eq!(a.update(Msg::Key(Key::Down)), vec![]);
}

#[test]
fn the_folded_banned_phrase_row_never_says_none_was_used_beside_one_that_was() {
    use crate::grading::{Call, Heard, Org, Pickup};
    let cat = crate::scenario::Catalog::builtin().unwrap();
    let grade = |text: &str| {
        let call = Call {
            turns: vec![Heard::text(text)],
            pickup: Pickup::Rings(1),
            org: Org::given("广利物业"),
        };
        let report = call.grade(cat.get("answer-call").unwrap(), &cat.phrasebook);
        model::feedback(&report, 0, None)
    };
    let folded = |fb: &Feedback| {
        fb.checks
            .iter()
            .find(|c| c.category == "banned_phrase")
            .cloned()
            .unwrap()
    };
    let fb = grade("您好,广利物业,这个我不知道。");
    assert!(
        fb.checks
            .iter()
            .any(|c| c.category == "banned_phrase:dont-know" && c.verdict == Verdict::Fail),
        "{:?}",
        fb.checks
    );
    let row = folded(&fb);
    assert!(
        row.message_en.starts_with("no other banned phrase used"),
        "{row:?}"
    );
    assert!(row.message_zh.starts_with("未使用其他服务忌语"), "{row:?}");
    let row = folded(&grade("您好,广利物业,请问有什么可以帮您?"));
    assert!(
        row.message_en.starts_with("no banned phrase used"),
        "{row:?}"
    );
}

fn check_view(passed: bool) -> Box<CheckView> {
    Box::new(CheckView {
        passed,
        advice: if passed {
            vec![]
        } else {
            vec![("声音太小".into(), "too quiet".into())]
        },
        measured: None,
        remembered: None,
    })
}

fn judged(a: &App) -> Option<bool> {
    match &a.screen {
        Screen::MicCheck(c) => match &c.stage {
            CheckStage::Judged(v) => Some(v.passed),
            CheckStage::Listening { .. } => None,
        },
        _ => None,
    }
}

#[test]
fn a_first_run_check_listens_judges_retries_and_goes_on_to_the_list() {
    let mut a = app(1);
    assert_eq!(
        a.check_microphone(CheckReason::NewMicrophone),
        vec![Effect::StartMicCheck]
    );
    // The meter follows the voice; keys other than the check's do nothing.
    a.update(Msg::Level {
        elapsed_ms: 1200,
        level_db: -24.0,
        heard_speech: true,
    });
    assert!(matches!(
        &a.screen,
        Screen::MicCheck(c) if c.stage == CheckStage::Listening { elapsed_ms: 1200, level_db: -24.0, heard_speech: true }
    ));
    assert_eq!(a.update(Msg::Key(Key::Down)), vec![]);
    assert_eq!(a.update(Msg::Key(Key::Retry)), vec![]);
    // Enter ends it early; the runtime's verdict is shown.
    assert_eq!(a.update(Msg::Key(Key::Enter)), vec![Effect::EndMicCheck]);
    a.update(Msg::MicChecked(check_view(false)));
    assert_eq!(judged(&a), Some(false));
    // A stray level report after the verdict changes nothing.
    a.update(Msg::Level {
        elapsed_ms: 5000,
        level_db: -10.0,
        heard_speech: true,
    });
    assert_eq!(judged(&a), Some(false));
    // r: again, from the start.
    assert_eq!(a.update(Msg::Key(Key::Retry)), vec![Effect::StartMicCheck]);
    assert_eq!(judged(&a), None);
    a.update(Msg::MicChecked(check_view(true)));
    assert_eq!(judged(&a), Some(true));
    // Enter goes on to where practice opens.
    assert_eq!(a.update(Msg::Key(Key::Enter)), vec![]);
    assert_eq!(a.screen, Screen::Pick);
}

#[test]
fn a_failed_check_can_be_passed_over_or_quit() {
    let mut a = app(1);
    a.screen = Screen::Card;
    a.check_microphone(CheckReason::NewMicrophone);
    a.update(Msg::MicChecked(check_view(false)));
    // Continue anyway: to the card practice opened on (--scenario).
    assert_eq!(a.update(Msg::Key(Key::Space)), vec![]);
    assert_eq!(a.screen, Screen::Card);

    // q on the first-run check quits ringcoach; while listening it stops listening first.
    let mut a = app(1);
    a.check_microphone(CheckReason::NewMicrophone);
    assert_eq!(
        a.update(Msg::Key(Key::Back)),
        vec![Effect::StopMicCheck, Effect::Quit]
    );
    let mut a = app(1);
    a.check_microphone(CheckReason::NewMicrophone);
    a.update(Msg::MicChecked(check_view(false)));
    assert_eq!(a.update(Msg::Key(Key::Back)), vec![Effect::Quit]);
    // Ctrl-C quits from the check as from anywhere.
    let mut a = app(1);
    a.check_microphone(CheckReason::NewMicrophone);
    assert_eq!(a.update(Msg::Key(Key::Interrupt)), vec![Effect::Quit]);
}

#[test]
fn m_checks_the_microphone_on_demand_and_comes_back() {
    let mut a = app(1);
    a.update(Msg::Key(Key::Down));
    a.update(Msg::Key(Key::Enter));
    assert_eq!(a.screen, Screen::Card);
    assert_eq!(a.update(Msg::Key(Key::Mic)), vec![Effect::StartMicCheck]);
    assert!(matches!(&a.screen, Screen::MicCheck(c) if c.reason == CheckReason::OnDemand));
    // q while listening: back to the card, not out of ringcoach.
    assert_eq!(a.update(Msg::Key(Key::Back)), vec![Effect::StopMicCheck]);
    assert_eq!((a.selected, &a.screen), (1, &Screen::Card));
    // From the list too; after the verdict, q or Enter come back.
    a.screen = Screen::Pick;
    a.update(Msg::Key(Key::Mic));
    a.update(Msg::MicChecked(check_view(true)));
    assert_eq!(a.update(Msg::Key(Key::Back)), vec![]);
    assert_eq!(a.screen, Screen::Pick);
    // Not during a call.
    a.screen = Screen::Ringing {
        rings: 1,
        elapsed_ms: 0,
    };
    assert_eq!(a.update(Msg::Key(Key::Mic)), vec![]);
    // Help opens over the check and the next key only closes it.
    a.screen = Screen::Pick;
    a.update(Msg::Key(Key::Mic));
    a.update(Msg::Key(Key::Help));
    assert!(a.show_help);
    assert_eq!(a.update(Msg::Key(Key::Enter)), vec![]);
    assert!(!a.show_help && judged(&a).is_none());
}

#[test]
fn a_microphone_that_cannot_be_listened_to_leaves_the_check_with_the_reason() {
    let mut a = app(1);
    a.check_microphone(CheckReason::NewMicrophone);
    // Another failure (the model did not load, say) is said, and the check goes on.
    a.update(Msg::Failed("the model did not load".into()));
    assert!(matches!(a.screen, Screen::MicCheck(_)));
    assert_eq!(a.status.as_deref(), Some("the model did not load"));
    a.update(Msg::MicCheckFailed("microphone \"USB\" stopped".into()));
    assert_eq!(a.screen, Screen::Pick);
    assert_eq!(a.status.as_deref(), Some("microphone \"USB\" stopped"));
    // A verdict arriving late is not shown over the list.
    a.update(Msg::MicChecked(check_view(true)));
    assert_eq!(a.screen, Screen::Pick);
}

#[test]
fn the_plan_checks_a_new_microphone_unless_told_or_files_play() {
    use MicCheckPlan::*;
    // (--check-mic, --no-mic-check, --input files, config mic_check)
    assert_eq!(MicCheckPlan::choose(false, false, false, true), FirstRun);
    assert_eq!(MicCheckPlan::choose(true, false, true, false), Always);
    assert_eq!(MicCheckPlan::choose(false, true, false, true), Never);
    assert_eq!(MicCheckPlan::choose(false, false, true, true), Never);
    assert_eq!(MicCheckPlan::choose(false, false, false, false), Never);
    assert_eq!(FirstRun.due(false), Some(CheckReason::NewMicrophone));
    assert_eq!(FirstRun.due(true), None);
    assert_eq!(Always.due(true), Some(CheckReason::Asked));
    assert_eq!(Never.due(false), None);
}
