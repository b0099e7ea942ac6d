//! Scenario files on disk: overriding and adding by id, malformed files reported with
//! file:line:col and skipped, and `ringcoach scenarios [check]` run as a real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ringcoach::grading::lint::check_files;
use ringcoach::scenario::{Catalog, Problem};

const ANSWER_CALL: &str = include_str!("../prompts/answer-call.toml");

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ringcoach"));
    c.env_remove("RINGCOACH_PROMPTS");
    c
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A minimal valid scenario with the given id and extra rubric lines.
fn scenario(id: &str, rubric_extra: &str) -> String {
    format!(
        r#"id = "{id}"
direction = "incoming"
title = {{ zh = "测试", en = "Test" }}
situation = {{ zh = "测试", en = "Test" }}

[[model_answers]]
turns = ["您好,{{org}},请问有什么可以帮您?"]

[rubric]
greeting = true
organisation = true
{rubric_extra}
"#
    )
}

fn located(problems: &[Problem], file_suffix: &str, line: usize, needle: &str) -> bool {
    problems
        .iter()
        .any(|p| p.file.ends_with(file_suffix) && p.line == line && p.message.contains(needle))
}

#[test]
fn a_directory_overrides_and_adds_by_id_and_skips_malformed_files() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "answer-call.toml",
        &ANSWER_CALL.replace("接听来电", "接听来电(本单位版)"),
    );
    write(dir.path(), "night-call.toml", &scenario("night-call", ""));
    write(
        dir.path(),
        "broken.toml",
        "id = \"broken\"\ntitle = { zh = \"x\" \n",
    );
    write(dir.path(), "notes.txt", "not a scenario");
    let c = Catalog::load(Some(dir.path())).unwrap();
    assert_eq!(c.get("answer-call").unwrap().title.zh, "接听来电(本单位版)");
    assert!(c.get("night-call").is_ok());
    assert_eq!(c.scenarios.len(), 14);
    assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
    assert!(c.problems[0].file.ends_with("broken.toml"));
    assert_eq!(c.problems[0].line, 2);
}

#[test]
fn the_directory_may_replace_the_org_profile_and_phrasebook() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "org.toml", "name = \"金泰物业\"\n");
    let c = Catalog::load(Some(dir.path())).unwrap();
    assert_eq!(c.org.name, "金泰物业");
    write(dir.path(), "phrases.toml", "[greeting]\nphrases = []\n");
    let c = Catalog::load(Some(dir.path())).unwrap();
    // A broken phrase book is reported and the built-in one kept.
    assert!(
        c.problems.iter().any(|p| p.file.ends_with("phrases.toml")),
        "{:?}",
        c.problems
    );
    assert!(!c.phrasebook.banned.is_empty());
}

#[test]
fn unknown_scenario_lists_the_valid_ids() {
    let c = Catalog::builtin().unwrap();
    let e = c.get("answer").unwrap_err().to_string();
    assert!(
        e.contains("unknown scenario `answer`")
            && e.contains("answer-call")
            && e.contains("silent-call"),
        "{e}"
    );
}

#[test]
fn check_reports_each_kind_of_problem_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let files = vec![
        write(d, "syntax.toml", "id = \"syntax\"\ndirection = incoming\n"),
        write(d, "unknown-key.toml", &scenario("unknown-key", "colour = \"red\"")),
        write(d, "empty-list.toml", &scenario("empty-list", "politeness = []")),
        write(
            d,
            "bad-pattern.toml",
            &scenario("bad-pattern", "\n[[rubric.banned]]\nid = \"x\"\nzh = \"x\"\nen = \"x\"\npatterns = [\"…投诉\"]"),
        ),
        write(
            d,
            "useless-unless.toml",
            &scenario("useless-unless", "\n[[rubric.banned]]\nid = \"y\"\nzh = \"y\"\nen = \"y\"\npatterns = [\"喂\"]\nunless = [\"您好\"]"),
        ),
        write(d, "dup-a.toml", &scenario("dup", "")),
        write(d, "dup-b.toml", &scenario("dup", "")),
        write(d, "bad-id.toml", &scenario("Bad Id", "")),
        write(d, "answer-fails.toml", &scenario("answer-fails", "closing = [\"goodbye\"]")),
        write(d, "direction.toml", &scenario("direction", "").replace("incoming", "sideways")),
        write(d, "good.toml", &scenario("good", "")),
    ];
    std::fs::write(d.join("latin1.toml"), b"id = \"caf\xe9\"\n").unwrap();
    let mut files = files;
    files.push(d.join("latin1.toml"));
    let problems = check_files(&files).unwrap();
    let all = problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(located(&problems, "syntax.toml", 2, ""), "{all}");
    assert!(
        located(&problems, "unknown-key.toml", 12, "colour"),
        "{all}"
    );
    assert!(
        located(&problems, "empty-list.toml", 12, "empty list"),
        "{all}"
    );
    assert!(
        located(&problems, "bad-pattern.toml", 17, "invalid pattern"),
        "{all}"
    );
    assert!(
        located(&problems, "useless-unless.toml", 18, "can never excuse"),
        "{all}"
    );
    assert!(
        located(&problems, "dup-b.toml", 1, "duplicate scenario id `dup`"),
        "{all}"
    );
    assert!(located(&problems, "bad-id.toml", 1, "lowercase"), "{all}");
    assert!(
        located(
            &problems,
            "answer-fails.toml",
            7,
            "does not pass its own rubric"
        ),
        "{all}"
    );
    assert!(located(&problems, "direction.toml", 2, "sideways"), "{all}");
    assert!(located(&problems, "latin1.toml", 1, "UTF-8"), "{all}");
    assert!(
        !problems
            .iter()
            .any(|p| p.file.ends_with("good.toml") || p.file.ends_with("dup-a.toml")),
        "{all}"
    );
    // Every problem line reads file:line:col: message.
    for p in &problems {
        let s = p.to_string();
        assert!(
            s.starts_with(&format!("{}:{}:{}: ", p.file, p.line, p.col)),
            "{s}"
        );
    }
}

#[test]
fn cli_check_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.toml", &scenario("good", ""));
    let bad = write(dir.path(), "bad.toml", &scenario("bad", "colour = 1"));

    let o = bin().args(["scenarios", "check"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));

    let o = bin()
        .args(["scenarios", "check"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));

    let o = bin()
        .args(["scenarios", "check"])
        .arg(&good)
        .arg(&bad)
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains(&format!("{}:12:1: ", bad.display())), "{err}");

    // With a prompts directory, `check` without files checks the directory too.
    let o = bin()
        .args(["scenarios", "check", "--prompts"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    let o = bin()
        .args(["scenarios", "check"])
        .env("RINGCOACH_PROMPTS", dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));

    let o = bin()
        .args(["scenarios", "check"])
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("missing.toml:1:1: cannot read"));
}

#[test]
fn cli_lists_scenarios_as_text_and_json() {
    let o = bin().arg("scenarios").output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let (out, _) = text(&o);
    assert!(
        out.contains("answer-call") && out.contains("接听来电") && out.contains("Answering a call"),
        "{out}"
    );

    let o = bin().args(["scenarios", "--json"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 13);
    let outgoing = items.iter().find(|i| i["id"] == "outgoing-call").unwrap();
    assert_eq!(outgoing["direction"], "outgoing");
    assert!(outgoing["graded"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g == "closing"));
    assert!(!outgoing["graded"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g == "rings"));
    for i in items {
        assert!(i["title"]["zh"].is_string() && i["title"]["en"].is_string());
        assert!(
            !i["caller_turns"].as_array().unwrap().is_empty(),
            "{}",
            i["id"]
        );
    }

    // A malformed file in the prompts directory is reported and skipped; the rest still list.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "broken.toml", "id = \n");
    let o = bin()
        .args(["scenarios", "--prompts"])
        .arg(dir.path())
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        err.contains("broken.toml:1:") && err.contains("skipped"),
        "{err}"
    );
    assert!(out.contains("answer-call"));
}

#[test]
fn check_without_files_locates_a_failing_model_answer_in_the_prompts_directory() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "answer-call.toml",
        &ANSWER_CALL.replace(
            "politeness = [\"您好\", \"请\"]",
            "politeness = [\"您好\", \"请\", \"谢谢\"]",
        ),
    );
    let o = bin()
        .args(["scenarios", "check", "--prompts"])
        .arg(dir.path())
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    // The first model answer is on line 14 of the built-in answer-call.toml.
    assert!(
        err.contains(&format!("{}:14:", f.display())) && err.contains("model answer 1"),
        "{err}"
    );
}
