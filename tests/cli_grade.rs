//! `ringcoach grade` run as a real binary: exit codes 0/1/2, the JSON report's stable shape,
//! and the error messages for bad input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ringcoach"));
    c.env_remove("RINGCOACH_PROMPTS");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

const GOOD: &str = "您好,广利物业,请问有什么可以帮您?";

#[test]
fn good_reply_passes_with_exit_0_and_the_stable_json_shape() {
    let o = run(&[
        "grade",
        "--scenario",
        "answer-call",
        "--org",
        "广利物业",
        "--rings",
        "2",
        "--text",
        GOOD,
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = json(&o);
    for key in [
        "scenario",
        "org",
        "transcript",
        "normalized",
        "score",
        "passed",
        "rubric_sha256",
        "checks",
    ] {
        assert!(r.get(key).is_some(), "missing {key}");
    }
    assert_eq!(r["scenario"], "answer-call");
    assert_eq!(r["org"], "广利物业");
    assert_eq!(r["org_source"], "--org");
    assert_eq!(r["transcript"], GOOD);
    assert_eq!(r["normalized"], "您好广利物业请问有什么可以帮您");
    assert_eq!(r["score"], 100);
    assert_eq!(r["passed"], true);
    assert_eq!(r["rubric_sha256"].as_str().unwrap().len(), 64);
    let checks = r["checks"].as_array().unwrap();
    let categories: Vec<&str> = checks
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    for cat in [
        "rings",
        "late_apology",
        "greeting",
        "organisation",
        "offer_help",
        "opening_order",
        "politeness",
        "banned_phrase",
    ] {
        assert!(categories.contains(&cat), "no {cat}");
    }
    for c in checks {
        for key in [
            "id", "category", "verdict", "weight", "critical", "evidence", "message",
        ] {
            assert!(c.get(key).is_some(), "check without {key}: {c}");
        }
        assert!(["pass", "fail", "uncertain", "not_applicable"]
            .contains(&c["verdict"].as_str().unwrap()));
        assert!(c["message"]["zh"].is_string() && c["message"]["en"].is_string());
    }
    let greeting = checks.iter().find(|c| c["id"] == "greeting").unwrap();
    assert_eq!(greeting["evidence"][0]["text"], "您好");
    assert_eq!(greeting["evidence"][0]["start"], 0);
    assert_eq!(greeting["evidence"][0]["end"], 2);

    // The text rendering of the same verdict.
    let o = run(&[
        "grade",
        "--scenario",
        "answer-call",
        "--rings",
        "2",
        "--text",
        GOOD,
    ]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.starts_with("PASSED"), "{out}");
    assert!(out.contains("广利物业 (default profile)"), "{out}");
}

#[test]
fn not_passed_exits_1() {
    let o = run(&[
        "grade",
        "--scenario",
        "answer-call",
        "--rings",
        "2",
        "--text",
        "喂,你好,广利物业",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["passed"], false);
    let wei = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "banned_phrase:wei")
        .unwrap();
    assert_eq!(wei["verdict"], "fail");
    assert_eq!(wei["critical"], true);

    // An empty transcript is graded, not an error.
    let o = run(&["grade", "--scenario", "answer-call", "--text", "", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(json(&o)["score"], 0);
}

#[test]
fn pickup_ms_turns_into_rings() {
    let o = run(&[
        "grade",
        "--scenario",
        "answer-call",
        "--pickup-ms",
        "16000",
        "--text",
        GOOD,
        "--json",
    ]);
    let r = json(&o);
    assert_eq!(r["rings"], 4);
    let late = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "late_apology")
        .unwrap();
    assert_eq!(late["verdict"], "fail");
    let o = run(&[
        "grade",
        "--scenario",
        "answer-call",
        "--rings",
        "2",
        "--pickup-ms",
        "100",
        "--text",
        GOOD,
    ]);
    assert_eq!(o.status.code(), Some(2), "--rings and --pickup-ms conflict");
}

#[test]
fn several_turns_from_repeated_text_and_from_a_file() {
    let turns = [
        "您好,广利物业,请问有什么可以帮您?",
        "对不起,他暂时不在办公室,有什么事情需要我转告他吗?",
        "谢谢您,再见。",
    ];
    let mut args = vec![
        "grade",
        "--scenario",
        "absent-colleague",
        "--rings",
        "1",
        "--json",
    ];
    for t in &turns {
        args.extend(["--text", t]);
    }
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["turns"].as_array().unwrap().len(), 3);

    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("reply.txt");
    std::fs::write(&f, turns.join("\n\n")).unwrap();
    let o = bin()
        .args([
            "grade",
            "--scenario",
            "absent-colleague",
            "--rings",
            "1",
            "--json",
            "--text-file",
        ])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["turns"].as_array().unwrap().len(), 3);
}

#[test]
fn unknown_scenario_lists_valid_ids_and_exits_2() {
    let o = run(&["grade", "--scenario", "answer", "--text", GOOD]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("unknown scenario `answer`")
            && e.contains("answer-call")
            && e.contains("end-call"),
        "{e}"
    );
    assert_eq!(e.trim().lines().count(), 1, "one clear line: {e}");
    assert!(o.stdout.is_empty());
}

#[test]
fn text_over_100_kb_is_refused() {
    let big = "您好".repeat(20_000); // 120,000 bytes
    let o = run(&["grade", "--scenario", "answer-call", "--text", &big]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the limit is 100 KB"), "{}", stderr(&o));

    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("big.txt");
    std::fs::write(&f, &big).unwrap();
    let o = bin()
        .args(["grade", "--scenario", "answer-call", "--text-file"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the limit is 100 KB"), "{}", stderr(&o));

    let o = piped(
        &["grade", "--scenario", "answer-call", "--text-file", "-"],
        big.as_bytes(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("stdin is") && stderr(&o).contains("100 KB"),
        "{}",
        stderr(&o)
    );
}

fn piped(args: &[&str], input: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The binary may stop reading at the limit; a broken pipe here is expected then.
    let _ = stdin.write_all(input);
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn invalid_utf8_is_refused_from_file_and_stdin() {
    let bad: &[u8] = b"\xe6\x82\xa8\xe5\xa5\xbd \xff\xfe broken";
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.txt");
    std::fs::write(&f, bad).unwrap();
    let o = bin()
        .args(["grade", "--scenario", "answer-call", "--text-file"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not valid UTF-8") && stderr(&o).contains("offset 7"),
        "{}",
        stderr(&o)
    );

    let o = piped(
        &["grade", "--scenario", "answer-call", "--text-file", "-"],
        bad,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("stdin is not valid UTF-8"),
        "{}",
        stderr(&o)
    );

    // Valid UTF-8 on stdin is graded.
    let o = piped(
        &[
            "grade",
            "--scenario",
            "answer-call",
            "--rings",
            "1",
            "--text-file",
            "-",
        ],
        GOOD.as_bytes(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn wav_and_text_together_are_a_usage_error() {
    let o = run(&[
        "grade",
        "--scenario",
        "answer-call",
        "reply.wav",
        "--text",
        "您好",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not both"), "{}", stderr(&o));
}

#[test]
fn missing_input_and_empty_org_are_usage_errors() {
    let o = run(&["grade", "--scenario", "answer-call"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nothing to grade"), "{}", stderr(&o));
    let o = run(&[
        "grade",
        "--scenario",
        "answer-call",
        "--org",
        " ",
        "--text",
        GOOD,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--org is empty"), "{}", stderr(&o));
}

#[test]
fn a_trainer_edited_scenario_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let edited = include_str!("../prompts/answer-call.toml").replace(
        "politeness = [\"您好\", \"请\"]",
        "politeness = [\"您好\", \"请\", \"谢谢\"]",
    );
    std::fs::write(dir.path().join("answer-call.toml"), edited).unwrap();
    let o = bin()
        .args([
            "grade",
            "--scenario",
            "answer-call",
            "--rings",
            "1",
            "--json",
            "--text",
            GOOD,
            "--prompts",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = json(&o);
    let pol = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "politeness")
        .unwrap();
    assert_eq!(pol["verdict"], "fail", "the edited rubric needs 谢谢");
}
