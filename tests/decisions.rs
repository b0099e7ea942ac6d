//! A trainer's decision is final: overrules and corrections change the attempt's score, its
//! pass and its need for review everywhere at once — in the index (`store list`), after a
//! rebuild, in the review screens' view of the attempt and in the exports — because all of
//! them ask the one settling function. Real store on disk, reports from the real grader,
//! the real binary for the command-line views.

#[path = "review_fixture/mod.rs"]
mod fixture;

use std::path::Path;
use std::process::Command;

use fixture::{make, BIN};
use ringcoach::audio::playback::NullSink;
use ringcoach::review::run::Runtime;
use ringcoach::review::{Effect, Key, Msg};
use ringcoach::scenario::Catalog;
use ringcoach::store::{AttemptId, AuditAction, Store};

fn listed(data: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let o = Command::new(BIN)
        .args(["store", "list", "--json", "--data-dir"])
        .arg(data)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn row(data: &Path, id: &AttemptId) -> serde_json::Value {
    listed(data, &[])
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap()
}

/// `report --csv` for li.na: the header and the row of attempt `id`, as maps.
fn csv_row(data: &Path, dir: &Path, id: &AttemptId) -> std::collections::HashMap<String, String> {
    let out = dir.join("r.csv");
    let o = Command::new(BIN)
        .args(["report", "--trainee", "li.na", "--data-dir"])
        .arg(data)
        .arg("--csv")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let rows = fixture::parse_csv(text.trim_start_matches('\u{feff}'));
    let row = rows
        .iter()
        .find(|r| r.iter().any(|c| c == id.as_str()))
        .unwrap();
    rows[0].iter().cloned().zip(row.iter().cloned()).collect()
}

fn runtime(data: &Path) -> Runtime {
    Runtime::new(
        Store::open(data).unwrap(),
        Catalog::builtin().unwrap(),
        Box::new(NullSink),
        "wang",
    )
}

#[test]
fn overruling_a_critical_check_to_fail_fails_the_attempt_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = make(&data);
    // li.na's last attempt passes 100 as graded; the trainer hears a 喂 Whisper dropped.
    let id = &ids[3];
    assert_eq!(row(&data, id)["passed"], true);
    Store::open(&data)
        .unwrap()
        .overrule(
            id,
            "wang",
            "banned_phrase:wei",
            "pass",
            "fail",
            "录音开头有「喂」",
        )
        .unwrap();

    let r = row(&data, id);
    assert_eq!(r["passed"], false, "{r}");
    let failed = listed(&data, &["--verdict", "failed", "--trainee", "li.na"]);
    assert!(failed.iter().any(|r| r["id"] == id.as_str()));
    let csv = csv_row(&data, dir.path(), id);
    assert_eq!(csv["passed"], "false", "{csv:?}");
    assert_eq!(csv["check:banned_phrase:wei"], "fail", "{csv:?}");

    let view = runtime(&data).open(id).unwrap();
    assert_eq!(view.passed, Some(false));
    let wei = view
        .checks
        .iter()
        .find(|c| c.id == "banned_phrase:wei")
        .unwrap();
    assert_eq!(
        (wei.verdict.as_str(), wei.overruled_by.as_deref()),
        ("fail", Some("wang"))
    );

    // The index is rebuilt from the files alike.
    let o = Command::new(BIN)
        .args(["store", "rebuild", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(row(&data, id)["passed"], false);
    let o = Command::new(BIN)
        .args(["store", "check", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "index and files agree: {}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn overruling_the_only_uncertain_check_raises_the_score_and_clears_needs_review() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = make(&data);
    // 光力物业 for 广利物业: organisation is uncertain, the only uncertain check.
    let id = &ids[0];
    let before = row(&data, id);
    assert_eq!(before["needs_review"], true);
    assert_eq!(before["score"], 36.0);
    let needing = listed(&data, &["--needs-review"]);
    assert!(needing.iter().any(|r| r["id"] == id.as_str()));

    Store::open(&data)
        .unwrap()
        .overrule(
            id,
            "wang",
            "organisation",
            "uncertain",
            "pass",
            "录音里是广利物业",
        )
        .unwrap();
    let after = row(&data, id);
    assert_eq!(after["needs_review"], false, "{after}");
    assert!(
        after["score"].as_f64().unwrap() > 36.0,
        "the pass earns the whole weight: {after}"
    );
    let needing = listed(&data, &["--needs-review"]);
    assert!(
        !needing.iter().any(|r| r["id"] == id.as_str()),
        "{needing:?}"
    );
    let csv = csv_row(&data, dir.path(), id);
    assert_eq!(csv["needs_review"], "false");
    assert_eq!(
        csv["score"],
        format!("{}", after["score"].as_f64().unwrap())
    );
    let view = runtime(&data).open(id).unwrap();
    assert_eq!(view.score.map(f64::from), after["score"].as_f64());
    assert!(!view.needs_review);
}

#[test]
fn a_correction_asks_about_an_earlier_overrule_it_no_longer_matches() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = make(&data);
    let id = &ids[0];
    let mut rt = runtime(&data);
    // The trainer first takes 光力物业 for a wrong name: organisation uncertain → fail.
    rt.effect(Effect::Overrule {
        id: id.clone(),
        check: "organisation".into(),
        original: "uncertain".into(),
        verdict: "fail".into(),
        note: "名称说错了".into(),
    });
    // Then listens again and corrects the transcript: 您好,广利物业 … — the re-grade passes
    // organisation, so the old fail no longer matches what it overruled.
    let msgs = rt.effect(Effect::Correct {
        id: id.clone(),
        turns: vec!["您好,广利物业,请问有什么可以帮您?".into()],
    });
    assert!(
        !msgs.iter().any(|m| matches!(m, Msg::Failed(_))),
        "{msgs:?}"
    );
    let view = rt.open(id).unwrap();
    let org = view.checks.iter().find(|c| c.id == "organisation").unwrap();
    assert_eq!(
        org.verdict, "pass",
        "the re-graded verdict counts, not the old fail"
    );
    let old = org.no_longer_matches.as_ref().expect("asked about");
    assert_eq!(
        (old.verdict.as_str(), old.trainer.as_str()),
        ("fail", "wang")
    );
    assert!(view.needs_review, "the question is open");
    assert_eq!(view.passed, Some(true));
    assert_eq!(row(&data, id)["needs_review"], true);

    // The review asks as soon as the attempt opens, on that check.
    let mut review = ringcoach::review::Review::new("wang", "", ringcoach::config::Lang::En);
    review.update(Msg::Opened(Box::new(view.clone())));
    let k = view
        .checks
        .iter()
        .position(|c| c.id == "organisation")
        .unwrap();
    assert_eq!(
        review.input,
        Some(ringcoach::review::Input::Stale { check: k })
    );
    assert_eq!(review.selected_check(), Some(k));
    // Keep it: the fail counts again, made on the re-graded report.
    let fx = review.update(Msg::Key(ringcoach::review::Key::Char('y')));
    for f in fx {
        rt.effect(f);
    }
    let kept = rt.open(id).unwrap();
    let org = kept.checks.iter().find(|c| c.id == "organisation").unwrap();
    assert_eq!(org.verdict, "fail");
    assert!(org.no_longer_matches.is_none());
    assert!(!kept.needs_review);
    let a = rt.store.load(id).unwrap();
    let AuditAction::Overrule { graded, report, .. } = &a.audit.last().unwrap().action else {
        panic!("{:?}", a.audit)
    };
    assert_eq!((graded.as_deref(), *report), (Some("pass"), Some(1)));
    assert_eq!(a.audit.last().unwrap().note, "名称说错了");
    let r = row(&data, id);
    assert_eq!(
        (r["needs_review"].as_bool(), r["score"].as_f64()),
        (Some(false), kept.score.map(f64::from))
    );
}

#[test]
fn dropping_an_overrule_that_no_longer_matches_takes_the_regrade() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = make(&data);
    let id = &ids[0];
    let mut rt = runtime(&data);
    rt.effect(Effect::Overrule {
        id: id.clone(),
        check: "organisation".into(),
        original: "uncertain".into(),
        verdict: "fail".into(),
        note: "名称说错了".into(),
    });
    rt.effect(Effect::Correct {
        id: id.clone(),
        turns: vec!["您好,广利物业,请问有什么可以帮您?".into()],
    });
    let mut review = ringcoach::review::Review::new("wang", "", ringcoach::config::Lang::En);
    review.update(Msg::Opened(Box::new(rt.open(id).unwrap())));
    for f in review.update(Msg::Key(ringcoach::review::Key::Char('n'))) {
        rt.effect(f);
    }
    let v = rt.open(id).unwrap();
    let org = v.checks.iter().find(|c| c.id == "organisation").unwrap();
    assert_eq!(org.verdict, "pass");
    assert!(org.no_longer_matches.is_none() && !v.needs_review);
    assert_eq!((v.score, v.passed), (Some(100), Some(true)));
    assert_eq!(row(&data, id)["passed"], true);
}

#[test]
fn correcting_one_turn_of_a_two_turn_call_keeps_the_turns_and_their_audio_apart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = Store::open(&data).unwrap();
    // Whisper heard 在见 for 再见 in the second turn.
    let id = fixture::call_attempt(
        &store,
        "li.na",
        "end-call",
        &["请问您还有其他咨询事项吗?", "不客气,感谢您的来电,在见!"],
        "2026-11-25T09:00:00Z",
    );
    drop(store);
    let mut rt = runtime(&data);
    let before = rt.open(&id).unwrap();
    assert_eq!(before.turns.len(), 2);
    let rate = |r: &ringcoach::grading::Report| {
        r.checks
            .iter()
            .find(|c| c.id == "speech_rate")
            .map(|c| c.verdict)
    };
    let a = rt.store.load(&id).unwrap();
    let original: ringcoach::grading::Report =
        serde_json::from_value(a.report.clone().unwrap()).unwrap();
    assert_eq!(rate(&original), Some(ringcoach::grading::Verdict::Pass));
    let cpm = original.speech_rate_cpm().unwrap();

    // The trainer opens the editor, moves to the second turn and fixes the word.
    let mut review = ringcoach::review::Review::new("wang", "", ringcoach::config::Lang::En);
    review.update(Msg::Opened(Box::new(before)));
    review.update(Msg::Key(Key::Char('e')));
    review.update(Msg::Key(Key::Tab));
    review.update(Msg::Key(Key::End));
    review.update(Msg::Key(Key::Backspace));
    review.update(Msg::Key(Key::Backspace));
    review.update(Msg::Key(Key::Backspace));
    for c in "再见!".chars() {
        review.update(Msg::Key(Key::Char(c)));
    }
    let fx = review.update(Msg::Key(Key::Enter));
    assert_eq!(
        fx,
        vec![Effect::Correct {
            id: id.clone(),
            turns: vec![
                "请问您还有其他咨询事项吗?".into(),
                "不客气,感谢您的来电,再见!".into()
            ],
        }]
    );
    for f in fx {
        let msgs = rt.effect(f);
        assert!(
            !msgs.iter().any(|m| matches!(m, Msg::Failed(_))),
            "{msgs:?}"
        );
    }

    let a = rt.store.load(&id).unwrap();
    let regraded: ringcoach::grading::Report =
        serde_json::from_value(a.regraded_report.clone().unwrap()).unwrap();
    assert_eq!(regraded.turns.len(), 2, "the turns stay apart");
    for (new, old) in regraded.turns.iter().zip(&original.turns) {
        assert!(new.audio.is_some(), "every turn keeps its audio facts");
        assert_eq!(new.audio, old.audio);
    }
    assert_eq!(regraded.turns[1].transcript, "不客气,感谢您的来电,再见!");
    assert_eq!(rate(&regraded), Some(ringcoach::grading::Verdict::Pass));
    assert!(
        (regraded.speech_rate_cpm().unwrap() - cpm).abs() < 1.0,
        "the rate is measured per turn as before: {} vs {cpm}",
        regraded.speech_rate_cpm().unwrap()
    );
    assert_eq!(
        a.corrected_transcript.unwrap().text,
        "请问您还有其他咨询事项吗?\n不客气,感谢您的来电,再见!"
    );
    let view = rt.open(&id).unwrap();
    assert_eq!(view.turns.len(), 2);
    assert_eq!(
        view.turns[0].caller.as_ref().unwrap().1,
        "OK, that's all then."
    );
}

#[test]
fn needs_review_clears_when_a_correction_regrades_the_uncertain_check_away() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = make(&data);
    let id = &ids[0];
    assert!(listed(&data, &["--needs-review"])
        .iter()
        .any(|r| r["id"] == id.as_str()));
    let mut rt = runtime(&data);
    let msgs = rt.effect(Effect::Correct {
        id: id.clone(),
        turns: vec!["喂,你好,广利物业,有什么事?".into()],
    });
    assert!(
        !msgs.iter().any(|m| matches!(m, Msg::Failed(_))),
        "{msgs:?}"
    );
    let r = row(&data, id);
    assert_eq!(r["needs_review"], false, "{r}");
    assert_eq!(r["regraded"], true);
    assert!(!listed(&data, &["--needs-review"])
        .iter()
        .any(|r| r["id"] == id.as_str()));
    // The queue's `?` comes from the same row: the review lists it without one.
    let msgs = rt.effect(Effect::List(ringcoach::store::Query {
        needs_review: Some(true),
        ..Default::default()
    }));
    let [Msg::Listed(rows)] = &msgs[..] else {
        panic!("{msgs:?}")
    };
    assert!(rows.iter().all(|r| &r.id != id), "{rows:?}");
}

#[test]
fn esc_puts_the_question_off_and_the_attempt_keeps_needing_review() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = make(&data);
    let id = &ids[0];
    let mut rt = runtime(&data);
    rt.effect(Effect::Overrule {
        id: id.clone(),
        check: "organisation".into(),
        original: "uncertain".into(),
        verdict: "fail".into(),
        note: "名称说错了".into(),
    });
    rt.effect(Effect::Correct {
        id: id.clone(),
        turns: vec!["您好,广利物业,请问有什么可以帮您?".into()],
    });
    let mut review = ringcoach::review::Review::new("wang", "", ringcoach::config::Lang::En);
    review.update(Msg::Opened(Box::new(rt.open(id).unwrap())));
    assert!(matches!(
        review.input,
        Some(ringcoach::review::Input::Stale { .. })
    ));
    assert_eq!(review.update(Msg::Key(Key::Esc)), vec![]);
    assert_eq!(review.input, None, "put off");
    // Reopened after another action on it: not asked again while it stays open.
    review.update(Msg::Opened(Box::new(rt.open(id).unwrap())));
    assert_eq!(review.input, None);
    // Nothing was decided: the attempt still needs review, in the index and the queue.
    assert_eq!(row(&data, id)["needs_review"], true);
    assert!(listed(&data, &["--needs-review"])
        .iter()
        .any(|r| r["id"] == id.as_str()));
    // Opened again later, the question is asked again.
    review.update(Msg::Opened(Box::new(rt.open(&ids[1]).unwrap())));
    review.update(Msg::Opened(Box::new(rt.open(id).unwrap())));
    assert!(matches!(
        review.input,
        Some(ringcoach::review::Input::Stale { .. })
    ));
}
