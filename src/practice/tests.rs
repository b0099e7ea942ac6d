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
