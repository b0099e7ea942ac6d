//! Every practice screen rendered at a fixed 80×24 with ratatui's TestBackend and
//! compared with a stored snapshot.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::{
    App, CheckReason, CheckRow, CheckView, Feedback, Key, Mark, Msg, Screen, Situation, Verdict,
};
use crate::config::Lang;

fn situation() -> Situation {
    Situation {
        id: "answer-call".into(),
        title_zh: "接听来电".into(),
        title_en: "Answering a call".into(),
        direction: "incoming".into(),
        difficulty: 1,
        brief_zh: "业主打来电话。三声之内接起,先问好,再报单位,再用问候语。".into(),
        brief_en:
            "An owner calls. Pick up within three rings: greet, name the organisation, offer help."
                .into(),
        caller_turns: vec![("(电话铃响)".into(), "(the phone rings)".into())],
        model_answer: "您好,广利物业,请问有什么可以帮您?".into(),
        best_score: Some(85),
    }
}

fn app(lang: Lang) -> App {
    let mut second = situation();
    second.id = "complaint-call".into();
    second.title_zh = "电话投诉".into();
    second.title_en = "Complaint by phone".into();
    second.difficulty = 3;
    second.best_score = None;
    App::new(vec![situation(), second], lang, "广利物业".into())
}

fn render(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| super::views::render(app, f)).unwrap();
    format!("{}", t.backend())
}

fn feedback() -> Box<Feedback> {
    Box::new(Feedback {
        transcript: "喂你好光力物业有什么事".into(),
        marks: vec![(0, 1, Mark::Banned), (3, 7, Mark::Uncertain)],
        checks: vec![
            CheckRow {
                category: "rings".into(),
                name_zh: "三声内接听".into(),
                name_en: "picked up in time".into(),
                verdict: Verdict::Pass,
                critical: false,
                message_zh: "第2声接起".into(),
                message_en: "picked up on ring 2".into(),
            },
            CheckRow {
                category: "greeting".into(),
                name_zh: "问好".into(),
                name_en: "greeting".into(),
                verdict: Verdict::Fail,
                critical: false,
                message_zh: "没有以“您好”开头".into(),
                message_en: "did not open with 您好".into(),
            },
            CheckRow {
                category: "banned_phrase".into(),
                name_zh: "服务忌语".into(),
                name_en: "banned phrases".into(),
                verdict: Verdict::Fail,
                critical: true,
                message_zh: "说了服务忌语“喂”".into(),
                message_en: "said the banned 喂".into(),
            },
        ],
        score: 35,
        passed: false,
        rings: 2,
        pickup_ms: 5600,
        first_words_ms: Some(700),
        chars_per_minute: Some(250.0),
        saved_as: Some("2026-11-27/0001".into()),
    })
}

#[test]
fn pick_zh() {
    insta::assert_snapshot!(render(&app(Lang::Zh)));
}

#[test]
fn pick_en_with_help() {
    let mut a = app(Lang::En);
    a.update(Msg::Key(Key::Help));
    insta::assert_snapshot!(render(&a));
}

#[test]
fn card_en() {
    let mut a = app(Lang::En);
    a.screen = Screen::Card;
    insta::assert_snapshot!(render(&a));
}

#[test]
fn ringing_late() {
    let mut a = app(Lang::Zh);
    a.screen = Screen::Ringing {
        rings: 4,
        elapsed_ms: 15_300,
    };
    insta::assert_snapshot!(render(&a));
}

#[test]
fn call_hearing_you() {
    let mut a = app(Lang::Zh);
    a.screen = Screen::Call {
        turn: 0,
        elapsed_ms: 2_400,
        level_db: -18.0,
        heard_speech: true,
    };
    insta::assert_snapshot!(render(&a));
}

#[test]
fn working() {
    let mut a = app(Lang::En);
    a.screen = Screen::Working {
        done_turns: 0,
        elapsed_ms: 600,
    };
    insta::assert_snapshot!(render(&a));
}

#[test]
fn feedback_zh() {
    let mut a = app(Lang::Zh);
    a.screen = Screen::Feedback {
        feedback: feedback(),
        scroll: 0,
    };
    insta::assert_snapshot!(render(&a));
}

#[test]
fn feedback_en_nothing_heard() {
    let mut a = app(Lang::En);
    let mut fb = feedback();
    fb.transcript.clear();
    fb.marks.clear();
    a.screen = Screen::Feedback {
        feedback: fb,
        scroll: 0,
    };
    insta::assert_snapshot!(render(&a));
}

#[test]
fn too_small() {
    let mut t = Terminal::new(TestBackend::new(60, 20)).unwrap();
    t.draw(|f| super::views::render(&app(Lang::En), f)).unwrap();
    insta::assert_snapshot!(format!("{}", t.backend()));
}

#[test]
fn pick_en_uploads_waiting_while_the_server_is_away() {
    let mut a = app(Lang::En);
    a.update(Msg::Uploads(crate::db::QueueState {
        waiting: 3,
        offline: true,
    }));
    insta::assert_snapshot!(render(&a));
}

#[test]
fn card_zh_all_uploaded() {
    let mut a = app(Lang::Zh);
    a.update(Msg::Key(Key::Enter));
    a.update(Msg::Uploads(crate::db::QueueState {
        waiting: 0,
        offline: false,
    }));
    insta::assert_snapshot!(render(&a));
}

#[test]
fn a_long_status_line_wraps_and_keeps_its_cause() {
    let mut a = app(Lang::En);
    a.screen = Screen::Card;
    let msg = "transcription took longer than 13184 ms and was cut off; answer again, or use a faster machine / smaller --audio-ctx — the recording is kept as ungraded attempt 20261127T085245.123456Z-1a2b3c4d; `ringcoach store regrade 20261127T085245.123456Z-1a2b3c4d` grades it";
    a.update(Msg::Failed(msg.into()));
    let screen = render(&a);
    // Before, the line was cut at the 80th column and the attempt's id was lost.
    let joined: String = screen
        .lines()
        .map(|l| l.trim_matches('"').trim_end())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(joined.contains("ungraded attempt"), "{screen}");
    assert!(joined.contains("grades it"), "{screen}");
}

fn measured() -> Option<(String, String)> {
    Some((
        "录音:人声 -52 dBFS,底噪 -74 dBFS,信噪比 22 dB,回声衰减 40 ms".into(),
        "recording: voice -52 dBFS, noise floor -74 dBFS, speech over noise 22 dB, echo decay 40 ms".into(),
    ))
}

fn too_quiet() -> Box<CheckView> {
    Box::new(CheckView {
        passed: false,
        advice: vec![(
            "声音太小(-52 dBFS):请靠近话筒,或调高输入音量".into(),
            "too quiet (-52 dBFS): move closer to the microphone or raise its input gain".into(),
        )],
        measured: measured(),
        remembered: None,
    })
}

#[test]
fn mic_check_first_run_listening_zh() {
    let mut a = app(Lang::Zh);
    a.check_microphone(CheckReason::NewMicrophone);
    a.update(Msg::Level {
        elapsed_ms: 1_800,
        level_db: -21.0,
        heard_speech: true,
    });
    insta::assert_snapshot!(render(&a));
}

#[test]
fn mic_check_too_quiet_en() {
    let mut a = app(Lang::En);
    a.check_microphone(CheckReason::NewMicrophone);
    a.update(Msg::MicChecked(too_quiet()));
    insta::assert_snapshot!(render(&a));
}

#[test]
fn mic_check_too_quiet_zh() {
    let mut a = app(Lang::Zh);
    a.check_microphone(CheckReason::NewMicrophone);
    a.update(Msg::MicChecked(too_quiet()));
    insta::assert_snapshot!(render(&a));
}

#[test]
fn mic_check_passed_on_demand_en() {
    let mut a = app(Lang::En);
    a.screen = Screen::Card;
    a.update(Msg::Key(Key::Mic));
    a.update(Msg::MicChecked(Box::new(CheckView {
        passed: true,
        advice: vec![],
        measured: Some((
            String::new(),
            "recording: voice -24 dBFS, noise floor -71 dBFS, speech over noise 47 dB, echo decay 30 ms".into(),
        )),
        remembered: Some("Built-in Audio Analog Stereo".into()),
    })));
    insta::assert_snapshot!(render(&a));
}

#[test]
fn mic_check_nothing_heard_zh() {
    let mut a = app(Lang::Zh);
    a.update(Msg::Key(Key::Mic));
    a.update(Msg::MicChecked(Box::new(CheckView {
        passed: false,
        advice: vec![(
            "没有听到讲话(只有 -91 dBFS):请确认话筒没有静音、用的是这个话筒(ringcoach devices),再说一遍".into(),
            String::new(),
        )],
        measured: None,
        remembered: None,
    })));
    insta::assert_snapshot!(render(&a));
}
