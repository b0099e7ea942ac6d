//! Certification suites as data, through the real binary: the shipped suite listed and
//! checked, a prompts directory's suites added, broken suite files and import manifests
//! refused with file:line:col before anything is heard or written.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ringcoach");

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("RINGCOACH_DATA_DIR", dir.join("data"))
        .env_remove("RINGCOACH_PROMPTS")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_shipped_suite_is_listed_with_its_rules_calls_and_hash() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["suites", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = v
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "property-hotline")
        .expect("the shipped suite");
    assert_eq!(s["rules"]["call_mark"], 85);
    assert_eq!(s["rules"]["calls_required"], 4);
    assert_eq!(s["rules"]["critical"][0], "banned_phrase:*");
    assert_eq!(s["calls"].as_array().unwrap().len(), 5);
    assert_eq!(s["calls"][0]["scenario"], "answer-call");
    assert_eq!(s["calls"][0]["org"], "广利物业");
    assert_eq!(s["exam"]["show_feedback"], false);
    assert_eq!(s["sha256"].as_str().unwrap().len(), 64);

    let out = run(dir.path(), &["suites"]);
    let t = text(&out.stdout);
    assert!(
        t.contains("property-hotline v1 — 物业服务热线接听认证"),
        "{t}"
    );
    assert!(t.contains("4 of 5 calls"), "{t}");

    let out = run(dir.path(), &["suites", "check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("ok:"));
}

#[test]
fn the_hash_covers_the_rubrics_a_prompts_directory_changes() {
    let dir = tempfile::tempdir().unwrap();
    let hash = |args: &[&str]| -> String {
        let mut a = vec!["suites", "--json"];
        a.extend_from_slice(args);
        let out = run(dir.path(), &a);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "property-hotline")
            .unwrap()["sha256"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let builtin = hash(&[]);
    // The same suite over a changed rubric is another suite.
    let prompts = dir.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    let answer = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/answer-call.toml"),
    )
    .unwrap();
    std::fs::write(
        prompts.join("answer-call.toml"),
        answer.replace("politeness = [\"您好\", \"请\"]", "politeness = [\"您好\"]"),
    )
    .unwrap();
    assert_ne!(hash(&["--prompts", "prompts"]), builtin);
    // So is the same rubric under another phrase book setting.
    std::fs::remove_file(prompts.join("answer-call.toml")).unwrap();
    let book =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/phrases.toml"))
            .unwrap();
    std::fs::write(
        prompts.join("phrases.toml"),
        book.replace("max_rings = 3", "max_rings = 4"),
    )
    .unwrap();
    assert_ne!(hash(&["--prompts", "prompts"]), builtin);
    std::fs::remove_file(prompts.join("phrases.toml")).unwrap();
    assert_eq!(hash(&["--prompts", "prompts"]), builtin);
}

#[test]
fn broken_suite_files_are_located_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let suites = dir.path().join("prompts/suites");
    std::fs::create_dir_all(&suites).unwrap();
    std::fs::write(
        suites.join("bad.toml"),
        "id = \"bad\"\nversion = \"1\"\ntitle = { zh = \"坏\", en = \"Bad\" }\n[pass]\ncall_mark = 101\noverall_mark = 80\ncritical = [\"banned-phrase:*\"]\n[[call]]\nscenario = \"answer-cal\"\n",
    )
    .unwrap();
    std::fs::write(
        suites.join("good.toml"),
        "id = \"good\"\nversion = \"1\"\ntitle = { zh = \"好\", en = \"Good\" }\n[pass]\ncall_mark = 80\noverall_mark = 80\n[[call]]\nscenario = \"answer-call\"\nrings = 5\n",
    )
    .unwrap();
    let out = run(dir.path(), &["suites", "check", "--prompts", "prompts"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.toml:5:13: mark 101 is above 100"),
        "{err}"
    );
    assert!(err.contains("bad.toml:7:13: critical check"), "{err}");
    // The listing goes on without the broken file, saying it was skipped.
    let out = run(dir.path(), &["suites", "--json", "--prompts", "prompts"]);
    assert!(out.status.success());
    assert!(text(&out.stderr).contains("(file skipped)"));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["good", "property-hotline"]);
    assert_eq!(v[0]["calls"][0]["pickup"]["after_rings"], 5);

    // A file checked on its own: an unknown scenario, located.
    std::fs::write(
        suites.join("bad.toml"),
        "id = \"bad\"\nversion = \"1\"\ntitle = { zh = \"坏\", en = \"Bad\" }\n[pass]\ncall_mark = 80\noverall_mark = 80\n[[call]]\nscenario = \"answer-cal\"\n",
    )
    .unwrap();
    let out = run(dir.path(), &["suites", "check", "prompts/suites/bad.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.toml:8:12: unknown scenario `answer-cal`"),
        "{err}"
    );
}

#[test]
fn an_import_manifest_out_of_order_is_refused_before_anything_is_heard() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("call1")).unwrap();
    std::fs::write(dir.path().join("call1/turn1.wav"), b"not yet a wav").unwrap();
    std::fs::write(
        dir.path().join("sitting.toml"),
        "[[call]]\nscenario = \"answer-call\"\nturns = [\"call1/turn1.wav\"]\n\n[[call]]\nscenario = \"end-call\"\nturns = [\"call2/turn1.wav\"]\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &[
            "exam",
            "import",
            "--suite",
            "property-hotline",
            "--candidate",
            "刘芳",
            "sitting.toml",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    // The pickup is missing where the rubric grades rings; call 2 is the wrong scenario.
    assert!(
        err.contains("sitting.toml:2:12: call 1 (`answer-call`) grades the pickup"),
        "{err}"
    );
    assert!(
        err.contains("sitting.toml:6:12: call 2 of suite property-hotline is `absent-colleague`, not `end-call`"),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(!dir.path().join("data/sittings").exists());
}
