//! The review state machine driven by keys and messages, without a store or a terminal,
//! plus the pure parts of the view models (evidence → time, audit lines, re-grading).

use super::model::{audit_line, evidence_ms, regrade, TurnView};
use super::*;
use crate::config::Lang;
use crate::store::{AttemptStatus, AuditAction, AuditEntry};
use crate::transcribe::{Segment, Token, Transcript};

pub(super) fn id(n: u32) -> AttemptId {
    AttemptId::parse(&format!("20261127T0{n}0000.000000Z-0000000{n}")).unwrap()
}

pub(super) fn summary(n: u32, trainee: &str, passed: Option<bool>) -> AttemptSummary {
    AttemptSummary {
        id: id(n),
        status: if passed.is_some() {
            AttemptStatus::Finished
        } else {
            AttemptStatus::Interrupted
        },
        scenario: "answer-call".into(),
        rubric_sha256: String::new(),
        model: "ggml-base-q5_1".into(),
        trainee: trainee.into(),
        device: "default".into(),
        org: String::new(),
        started: Timestamp::parse(&format!("2026-11-2{n}T09:1{n}:00Z")).unwrap(),
        finished: None,
        duration_ms: 4200,
        score: passed.map(|p| if p { 90.0 } else { 40.0 }),
        passed,
        needs_review: n == 2,
        reviewed: n == 3,
        overrules: u32::from(n == 3),
        corrected: false,
        regraded: false,
        text: "喂你好光力物业有什么事".into(),
    }
}

pub(super) fn view() -> AttemptView {
    AttemptView {
        id: id(1),
        trainee: "li.na".into(),
        scenario: "answer-call".into(),
        started: Timestamp::parse("2026-11-21T09:11:00Z").unwrap(),
        duration_ms: 4200,
        status: AttemptStatus::Finished,
        score: Some(40),
        passed: Some(false),
        needs_review: true,
        normalized: "喂你好光力物业有什么事".into(),
        transcript: "喂,你好,光力物业,有什么事?".into(),
        turns: vec![TurnView {
            caller: Some(("(电话铃响)".into(), "(the phone rings)".into())),
            text: "喂,你好,光力物业,有什么事?".into(),
            start: 0,
            end: 11,
        }],
        corrected: false,
        regraded: false,
        reviewed: false,
        checks: vec![
            CheckView {
                id: "banned:喂".into(),
                category: "banned_phrase".into(),
                graded: crate::grading::Verdict::Fail,
                verdict: "fail".into(),
                critical: true,
                name_zh: "忌语「喂」".into(),
                name_en: "banned 「喂」".into(),
                message_zh: "说了服务忌语「喂」".into(),
                message_en: "said the banned 「喂」".into(),
                evidence: vec![(0, 1)],
                at_ms: Some(300),
                overruled_by: None,
                no_longer_matches: None,
            },
            CheckView {
                id: "org_name".into(),
                category: "opening".into(),
                graded: crate::grading::Verdict::Uncertain,
                verdict: "uncertain".into(),
                critical: false,
                name_zh: "报单位".into(),
                name_en: "organisation named".into(),
                message_zh: "听到「光力物业」,与「广利物业」同音,请回听".into(),
                message_en: "heard 「光力物业」, a homophone of 「广利物业」; listen to confirm"
                    .into(),
                evidence: vec![(3, 7)],
                at_ms: Some(1200),
                overruled_by: None,
                no_longer_matches: None,
            },
            CheckView {
                id: "greeting".into(),
                category: "opening".into(),
                graded: crate::grading::Verdict::Fail,
                verdict: "fail".into(),
                critical: false,
                name_zh: "问好".into(),
                name_en: "greeting".into(),
                message_zh: "没有以「您好」开头".into(),
                message_en: "did not open with 您好".into(),
                evidence: vec![],
                at_ms: None,
                overruled_by: None,
                no_longer_matches: None,
            },
        ],
        audit: vec![],
    }
}

fn queue() -> Review {
    let mut r = Review::new("wang", "/data", Lang::En);
    r.tz = jiff::tz::TimeZone::UTC;
    r.update(Msg::Listed(vec![
        summary(1, "li.na", Some(false)),
        summary(2, "zhang", Some(true)),
        summary(3, "li.na", None),
    ]));
    r
}

fn typed(r: &mut Review, s: &str) -> Vec<Effect> {
    s.chars()
        .flat_map(|c| r.update(Msg::Key(Key::Char(c))))
        .collect()
}

fn opened() -> Review {
    let mut r = queue();
    r.update(Msg::Opened(Box::new(view())));
    r
}

#[test]
fn starting_lists_the_newest_attempts_first() {
    let r = Review::new("wang", "/data", Lang::En);
    assert_eq!(
        r.start(),
        vec![Effect::List(Query {
            descending: true,
            limit: Some(QUEUE_LIMIT),
            ..Query::default()
        })]
    );
}

#[test]
fn filters_become_store_queries() {
    let mut r = queue();
    assert_eq!(r.update(Msg::Key(Key::Char('t'))), vec![]);
    assert!(typed(&mut r, "li.na").is_empty(), "typing does not query");
    let fx = r.update(Msg::Key(Key::Enter));
    let Effect::List(q) = &fx[0] else {
        panic!("{fx:?}")
    };
    assert_eq!(q.trainee_prefix.as_deref(), Some("li.na"));

    let fx = r.update(Msg::Key(Key::Char('n')));
    assert!(matches!(&fx[0], Effect::List(q) if q.needs_review == Some(true)));
    let fx = r.update(Msg::Key(Key::Char('u')));
    assert!(matches!(&fx[0], Effect::List(q) if q.reviewed == Some(false)));
    let fx = r.update(Msg::Key(Key::Char('v')));
    assert!(matches!(&fx[0], Effect::List(q) if q.verdict == Some(Verdict::Passed)));
    let fx = r.update(Msg::Key(Key::Char('v')));
    assert!(matches!(&fx[0], Effect::List(q) if q.verdict == Some(Verdict::Failed)));
    let fx = r.update(Msg::Key(Key::Char('o')));
    assert!(matches!(&fx[0], Effect::List(q) if q.sort == SortKey::Score && q.descending));
    let fx = r.update(Msg::Key(Key::Char('o')));
    assert!(matches!(&fx[0], Effect::List(q) if q.sort == SortKey::Trainee && !q.descending));

    r.update(Msg::Key(Key::Char('/')));
    typed(&mut r, "物业");
    let fx = r.update(Msg::Key(Key::Enter));
    assert!(matches!(&fx[0], Effect::List(q) if q.sounds_like.as_deref() == Some("物业")));

    let fx = r.update(Msg::Key(Key::Char('x')));
    assert_eq!(
        fx,
        vec![Effect::List(Query {
            descending: true,
            limit: Some(QUEUE_LIMIT),
            ..Query::default()
        })]
    );
    assert!(r.filter.is_empty());
}

#[test]
fn a_bad_since_date_keeps_the_input_open_and_says_why() {
    let mut r = queue();
    r.update(Msg::Key(Key::Char('d')));
    typed(&mut r, "last week");
    assert_eq!(r.update(Msg::Key(Key::Enter)), vec![]);
    assert!(matches!(r.input, Some(Input::Filter(Field::Since, _))));
    assert!(
        r.status.as_deref().unwrap().contains("not a time"),
        "{:?}",
        r.status
    );
    // Fix it in place.
    for _ in 0..9 {
        r.update(Msg::Key(Key::Backspace));
    }
    typed(&mut r, "2026-11-20");
    let fx = r.update(Msg::Key(Key::Enter));
    assert!(
        matches!(&fx[0], Effect::List(q) if q.since == Some(Timestamp::parse("2026-11-20").unwrap()))
    );
    // The same syntax as everywhere: an age is that long before now, a date is local.
    r.update(Msg::Key(Key::Char('d')));
    for _ in 0..10 {
        r.update(Msg::Key(Key::Backspace));
    }
    typed(&mut r, "7d");
    let fx = r.update(Msg::Key(Key::Enter));
    let week_ago = Timestamp::now().unix_ms() - 7 * 86_400_000;
    assert!(
        matches!(&fx[0], Effect::List(q) if q.since.is_some_and(|t| (t.unix_ms() - week_ago).abs() < 60_000)),
        "{fx:?}"
    );
    r.tz = jiff::tz::TimeZone::posix("CST-8").unwrap();
    r.update(Msg::Key(Key::Char('d')));
    for _ in 0..2 {
        r.update(Msg::Key(Key::Backspace));
    }
    typed(&mut r, "2026-11-20");
    let fx = r.update(Msg::Key(Key::Enter));
    assert!(
        matches!(&fx[0], Effect::List(q) if q.since == Some(Timestamp::parse("2026-11-19T16:00:00Z").unwrap())),
        "{fx:?}"
    );
}

#[test]
fn esc_cancels_an_input_without_changing_the_filter() {
    let mut r = queue();
    r.update(Msg::Key(Key::Char('s')));
    typed(&mut r, "end-call");
    assert_eq!(r.update(Msg::Key(Key::Esc)), vec![]);
    assert_eq!(r.filter.scenario, None);
    assert_eq!(r.input, None);
    // q typed into an input is text, not quit.
    r.update(Msg::Key(Key::Char('/')));
    assert_eq!(r.update(Msg::Key(Key::Char('q'))), vec![]);
}

#[test]
fn the_line_editor_moves_and_edits_by_character() {
    let mut l = Line::new("您好物业");
    l.edit(Key::Left);
    l.edit(Key::Left);
    l.edit(Key::Char('广'));
    l.edit(Key::Char('利'));
    assert_eq!(l.text, "您好广利物业");
    l.edit(Key::Home);
    l.edit(Key::Delete);
    assert_eq!(l.text, "好广利物业");
    l.edit(Key::End);
    l.edit(Key::Backspace);
    assert_eq!((l.text.as_str(), l.cursor), ("好广利物", 4));
    assert!(!l.edit(Key::Enter));
}

#[test]
fn enter_opens_the_selected_attempt_and_g_shows_its_trainee() {
    let mut r = queue();
    r.update(Msg::Key(Key::Down));
    assert_eq!(r.update(Msg::Key(Key::Enter)), vec![Effect::Open(id(2))]);
    assert_eq!(
        r.update(Msg::Key(Key::Char('g'))),
        vec![Effect::Progress("zhang".into())]
    );
    r.update(Msg::Key(Key::Down));
    r.update(Msg::Key(Key::Down));
    assert_eq!(r.selected, 2, "the cursor stops at the last row");
}

#[test]
fn an_empty_queue_opens_nothing() {
    let mut r = Review::new("wang", "/data", Lang::En);
    assert_eq!(r.update(Msg::Key(Key::Enter)), vec![]);
    assert_eq!(r.update(Msg::Key(Key::Char('g'))), vec![]);
}

#[test]
fn enter_on_a_check_plays_from_its_evidence_and_p_toggles_from_the_start() {
    // It opens on the uncertain check, org_name.
    let mut r = opened();
    assert_eq!(
        r.update(Msg::Key(Key::Enter)),
        vec![Effect::Play {
            id: id(1),
            from_ms: 1200
        }]
    );
    r.update(Msg::Key(Key::Down));
    assert_eq!(
        r.update(Msg::Key(Key::Enter)),
        vec![Effect::Play {
            id: id(1),
            from_ms: 0
        }],
        "no evidence: from the start"
    );
    r.update(Msg::Key(Key::Char('p')));
    r.update(Msg::Playing { from_ms: 0 });
    r.update(Msg::PlayAt(800));
    assert_eq!(r.playing, Some(800));
    assert_eq!(r.update(Msg::Key(Key::Char('p'))), vec![Effect::StopPlay]);
    assert_eq!(r.playing, None);
}

#[test]
fn overruling_needs_a_note_and_says_from_what_to_what() {
    let mut r = opened();
    r.update(Msg::Key(Key::Char('o')));
    assert!(matches!(&r.input, Some(Input::Note { verdict, .. }) if verdict == "pass"));
    assert_eq!(r.update(Msg::Key(Key::Enter)), vec![], "no note yet");
    assert_eq!(r.status.as_deref(), Some(S_NOTE));
    r.update(Msg::Key(Key::Tab));
    assert!(matches!(&r.input, Some(Input::Note { verdict, .. }) if verdict == "fail"));
    r.update(Msg::Key(Key::Tab));
    r.update(Msg::Key(Key::Tab));
    typed(&mut r, "说的是广利物业");
    assert_eq!(
        r.update(Msg::Key(Key::Enter)),
        vec![Effect::Overrule {
            id: id(1),
            check: "org_name".into(),
            original: "uncertain".into(),
            verdict: "pass".into(),
            note: "说的是广利物业".into(),
        }]
    );
    assert_eq!(r.input, None);
}

const S_NOTE: &str = "An overrule needs a note saying why.";

#[test]
fn correcting_starts_from_the_transcript_and_ignores_no_change() {
    let mut r = opened();
    r.update(Msg::Key(Key::Char('e')));
    assert!(
        matches!(&r.input, Some(Input::Transcript { turn: 0, lines }) if lines[0].text == "喂,你好,光力物业,有什么事?")
    );
    assert_eq!(r.update(Msg::Key(Key::Enter)), vec![]);
    assert!(r.status.is_some());
    r.update(Msg::Key(Key::Char('e')));
    r.update(Msg::Key(Key::Home));
    r.update(Msg::Key(Key::Delete));
    r.update(Msg::Key(Key::Delete));
    assert_eq!(
        r.update(Msg::Key(Key::Enter)),
        vec![Effect::Correct {
            id: id(1),
            turns: vec!["你好,光力物业,有什么事?".into()]
        }]
    );
}

#[test]
fn reopening_after_an_action_keeps_the_selected_check_and_q_goes_back_to_the_queue() {
    let mut r = opened();
    r.update(Msg::Key(Key::Down));
    assert_eq!(
        r.update(Msg::Key(Key::Char('m'))),
        vec![Effect::MarkReviewed(id(1))]
    );
    let mut v = view();
    v.reviewed = true;
    r.update(Msg::Opened(Box::new(v)));
    assert_eq!(r.selected_check(), Some(2), "greeting stays selected");
    // m again takes the mark back rather than logging it twice.
    assert_eq!(
        r.update(Msg::Key(Key::Char('m'))),
        vec![Effect::UnmarkReviewed(id(1))]
    );
    r.update(Msg::Playing { from_ms: 0 });
    let fx = r.update(Msg::Key(Key::Char('q')));
    assert_eq!(fx[0], Effect::StopPlay);
    assert!(matches!(fx[1], Effect::List(_)));
    assert_eq!(r.screen, Screen::Queue);
}

#[test]
fn ctrl_c_quits_from_an_input_and_q_quits_from_the_queue() {
    let mut r = opened();
    r.update(Msg::Key(Key::Char('o')));
    assert_eq!(
        r.update(Msg::Key(Key::Interrupt)),
        vec![Effect::StopPlay, Effect::Quit]
    );
    let mut q = queue();
    assert!(q.update(Msg::Key(Key::Char('q'))).contains(&Effect::Quit));
}

#[test]
fn help_opens_with_question_mark_and_any_key_closes_it() {
    let mut r = queue();
    r.update(Msg::Key(Key::Char('?')));
    assert!(r.help);
    assert_eq!(r.update(Msg::Key(Key::Char('q'))), vec![]);
    assert!(!r.help);
}

fn tok(text: &str, start_ms: u64) -> Token {
    Token {
        text: text.into(),
        start_ms,
        end_ms: start_ms + 200,
        p: 0.9,
    }
}

fn transcript(tokens: Vec<Token>) -> Transcript {
    Transcript {
        text: tokens.iter().map(|t| t.text.as_str()).collect(),
        segments: vec![Segment {
            start_ms: 0,
            end_ms: 3000,
            text: String::new(),
            tokens,
        }],
        cut_off: None,
    }
}

#[test]
fn evidence_maps_to_the_time_of_its_first_token() {
    let t = transcript(vec![
        tok("[_BEG_]", 0),
        tok("您好", 100),
        tok(",", 500),
        tok("广利", 600),
        tok("物业", 900),
    ]);
    assert_eq!(evidence_ms("您好广利物业", 0, "您好", &t), Some(100));
    assert_eq!(evidence_ms("您好广利物业", 3, "利物", &t), Some(600));
    assert_eq!(evidence_ms("您好广利物业", 4, "物业", &t), Some(900));
    // The report's text differs (a corrected transcript): found by its text instead.
    assert_eq!(evidence_ms("你好广利物业", 2, "广利", &t), Some(600));
    assert_eq!(evidence_ms("你好广利物业", 0, "你好", &t), None);
    assert_eq!(evidence_ms("您好", 0, "您好", &Transcript::default()), None);
}

#[test]
fn audit_lines_say_who_did_what_when_and_why() {
    let e = AuditEntry {
        time: Timestamp::parse("2026-11-27T09:12:34Z").unwrap(),
        trainer: "wang".into(),
        action: AuditAction::Overrule {
            check: "greeting".into(),
            original: "fail".into(),
            verdict: "pass".into(),
            graded: Some("fail".into()),
            report: Some(0),
        },
        note: "heard 您好".into(),
    };
    let utc = jiff::tz::TimeZone::UTC;
    let shanghai = jiff::tz::TimeZone::posix("CST-8").unwrap();
    let ids = |id: &str| id.to_string();
    let names = |id: &str| {
        if id == "greeting" {
            "问好".into()
        } else {
            id.to_string()
        }
    };
    assert_eq!(
        audit_line(&e, strings(Lang::En), &utc, &ids),
        "2026-11-27 09:12 wang overruled greeting fail → pass: heard 您好"
    );
    // Local time, and the check by its name.
    assert_eq!(
        audit_line(&e, strings(Lang::Zh), &shanghai, &names),
        "2026-11-27 17:12 wang 推翻判定 问好 未通过 → 通过:heard 您好"
    );
    let corrected = AuditEntry {
        action: AuditAction::Correction {
            original_text: "你好,光力物业\n在见".into(),
            corrected_text: "您好,广利物业\n再见".into(),
        },
        note: String::new(),
        ..e.clone()
    };
    assert_eq!(
        audit_line(&corrected, strings(Lang::En), &utc, &ids),
        "2026-11-27 09:12 wang corrected the transcript: 「你好,光力物业 / 在见」 → 「您好,广利物业 / 再见」"
    );
    let regraded = AuditEntry {
        action: AuditAction::Regrade {
            original_score: Some(69.0),
            original_passed: Some(false),
            score: 100.0,
            passed: true,
        },
        note: String::new(),
        ..e
    };
    assert_eq!(
        audit_line(&regraded, strings(Lang::Zh), &utc, &ids),
        "2026-11-27 09:12 wang 重新评分 69 → 100"
    );
}

#[test]
fn status_messages_are_in_the_review_language() {
    let mut zh = Review::new("wang", "/data", Lang::Zh);
    zh.update(Msg::Opened(Box::new(view())));
    zh.update(Msg::Done(Done::Overruled {
        check: "org_name".into(),
        original: "uncertain".into(),
        verdict: "pass".into(),
    }));
    assert_eq!(
        zh.status.as_deref(),
        Some("报单位:不确定 → 通过,已记入操作记录")
    );
    // An overrule without a note is refused in Chinese too.
    zh.update(Msg::Key(Key::Char('o')));
    zh.update(Msg::Key(Key::Enter));
    assert_eq!(
        zh.status.as_deref(),
        Some("推翻判定必须填写备注,说明理由。")
    );
    assert!(matches!(zh.input, Some(Input::Note { .. })));

    let mut en = Review::new("wang", "/data", Lang::En);
    en.update(Msg::Done(Done::Corrected { score: 100 }));
    assert_eq!(
        en.status.as_deref(),
        Some("transcript corrected and re-graded: 100/100 (the original is kept)")
    );
    en.update(Msg::Done(Done::Reviewed));
    assert_eq!(en.status.as_deref(), Some("marked reviewed"));
}

#[test]
fn both_languages_word_every_verdict() {
    for lang in [Lang::Zh, Lang::En] {
        let s = strings(lang);
        let words: Vec<&str> = ["pass", "fail", "uncertain", "not_applicable"]
            .iter()
            .map(|v| s.verdict(v))
            .collect();
        let mut unique = words.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 4, "{lang:?}: {words:?}");
    }
    assert_eq!(strings(Lang::Zh).verdict("uncertain"), "不确定");
}

#[test]
fn regrading_keeps_the_scenario_org_and_rings_of_the_original() {
    use crate::grading::{Call, Heard, Org, OrgSource, Pickup};
    let cat = crate::scenario::Catalog::builtin().unwrap();
    let sc = cat.get("answer-call").unwrap();
    let original = Call {
        turns: vec![Heard::text("喂,你好,光力物业,有什么事?")],
        pickup: Pickup::Rings(2),
        org: Org::given("广利物业"),
    }
    .grade(sc, &cat.phrasebook);
    assert!(!original.passed, "{original:?}");
    let fixed = regrade(
        &cat,
        &original,
        &["您好,广利物业,请问有什么可以帮您?".to_string()],
    )
    .unwrap();
    assert!(fixed.passed, "{fixed:?}");
    assert!(fixed.score > original.score);
    assert_eq!(fixed.org, "广利物业");
    assert_eq!(fixed.org_source, OrgSource::Given);
    assert_eq!(fixed.rings, Some(2));
    assert_eq!(fixed.scenario, "answer-call");
}

#[test]
fn a_correction_is_one_text_per_turn_and_never_merges_turns() {
    use crate::grading::{Call, Heard, Org, Pickup};
    let cat = crate::scenario::Catalog::builtin().unwrap();
    let sc = cat.get("end-call").unwrap();
    let original = Call {
        turns: vec![
            Heard::text("请问您还有其他咨询事项吗?"),
            Heard::text("不客气,感谢您的来电,在见!"),
        ],
        pickup: Pickup::Rings(1),
        org: Org::given("广利物业"),
    }
    .grade(sc, &cat.phrasebook);
    // One text for two turns (a lost line break) is refused, not merged into turn 1.
    let merged = "请问您还有其他咨询事项吗?不客气,感谢您的来电,再见!".to_string();
    let e = regrade(&cat, &original, &[merged]).unwrap_err();
    assert!(e.to_string().contains("2 trainee turn(s) but 1"), "{e}");
    let fixed = regrade(
        &cat,
        &original,
        &[
            "请问您还有其他咨询事项吗?".to_string(),
            "不客气,感谢您的来电,再见!".to_string(),
        ],
    )
    .unwrap();
    assert_eq!(fixed.turns.len(), 2);
    assert!(fixed.score > original.score);
}

#[test]
fn the_transcript_editor_edits_one_turn_at_a_time() {
    let mut r = queue();
    let mut v = view();
    v.turns.push(TurnView {
        caller: None,
        text: "再见".into(),
        start: 11,
        end: 13,
    });
    r.update(Msg::Opened(Box::new(v)));
    r.update(Msg::Key(Key::Char('e')));
    let Some(Input::Transcript { turn, lines }) = &r.input else {
        panic!("{:?}", r.input)
    };
    assert_eq!((*turn, lines.len()), (0, 2));
    r.update(Msg::Key(Key::Down));
    r.update(Msg::Key(Key::Home));
    r.update(Msg::Key(Key::Char('您')));
    let Some(Input::Transcript { turn, lines }) = &r.input else {
        panic!()
    };
    assert_eq!(*turn, 1);
    assert_eq!(lines[0].text, "喂,你好,光力物业,有什么事?");
    assert_eq!(lines[1].text, "您再见");
    r.update(Msg::Key(Key::Up));
    assert!(matches!(&r.input, Some(Input::Transcript { turn: 0, .. })));
}

#[test]
fn home_and_end_jump_to_the_first_and_last_row_of_the_queue_and_the_checks() {
    let mut r = queue();
    r.update(Msg::Key(Key::End));
    assert_eq!(r.selected, 2);
    assert_eq!(r.update(Msg::Key(Key::Enter)), vec![Effect::Open(id(3))]);
    r.update(Msg::Key(Key::Home));
    assert_eq!(r.selected, 0);
    let mut r = opened();
    let n = match &r.screen {
        Screen::Attempt(a) => a.rows(r.open).len(),
        _ => unreachable!(),
    };
    r.update(Msg::Key(Key::End));
    assert_eq!(r.row, n - 1);
    r.update(Msg::Key(Key::Home));
    assert_eq!(r.row, 0);
}

#[test]
fn correcting_an_attempt_kept_without_a_grade_says_how_to_grade_it() {
    // An ungraded attempt (transcription cut off) was called "interrupted", with no way on.
    let e = run::ReviewError::NoReport { id: id(1) }.to_string();
    assert!(
        e.contains(&format!("ringcoach store regrade {}", id(1))),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1);
}
