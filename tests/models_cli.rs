//! `ringcoach models …` as a user runs it, and the failure paths of model resolution on
//! real files: missing, truncated, not ggml, the wrong kind. No network: the CTranslate2
//! input is the tiny synthetic model; the truncated Whisper file is cut from the real one
//! when the machine has it (tests/models_real.rs fetches it), else from a tiny conversion.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ringcoach::models::{self, synthetic, ModelError, ModelKind, ModelPaths};

fn ringcoach(args: &[&str], model_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ringcoach"))
        .args(args)
        .env(models::ENV_MODEL_DIR, model_dir)
        .env_remove(models::ENV_MODEL)
        .env_remove(models::ENV_VAD_MODEL)
        .output()
        .expect("run ringcoach")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A CTranslate2 directory holding the tiny model split in two parts, as the wheels do.
fn split_ct2_dir(root: &Path) -> PathBuf {
    let dir = root.join("ct2");
    fs::create_dir_all(&dir).unwrap();
    let bin = synthetic::tiny_whisper(0.0);
    let (a, b) = bin.split_at(1000);
    fs::write(dir.join("model.bin.part1"), a).unwrap();
    fs::write(dir.join("model.bin.part2"), b).unwrap();
    let mut vocab = synthetic::TINY_TOKENS.join("\n");
    vocab.push('\n');
    fs::write(dir.join("vocabulary.txt"), vocab).unwrap();
    dir
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn convert_ct2_joins_parts_and_writes_a_valid_model() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = split_ct2_dir(tmp.path());
    let out = tmp.path().join("out").join("tiny.bin");
    fs::create_dir_all(out.parent().unwrap()).unwrap();
    let o = ringcoach(
        &[
            "models",
            "convert-ct2",
            dir.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let info = models::validate_ggml(&out).unwrap();
    assert_eq!(info.n_tensors, 11 + 15 + 24);
    // stdout names the file and its SHA-256.
    let hash = models::atomic::sha256_file(&out).unwrap();
    assert!(text(&o.stdout).contains(&hash), "{}", text(&o.stdout));
    assert_eq!(dir_names(out.parent().unwrap()), vec!["tiny.bin"]);
}

#[test]
fn a_failed_conversion_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = split_ct2_dir(tmp.path());
    // Cut the second part short: the model is incomplete.
    let p2 = dir.join("model.bin.part2");
    let len = fs::metadata(&p2).unwrap().len();
    let data = fs::read(&p2).unwrap();
    fs::write(&p2, &data[..(len / 2) as usize]).unwrap();
    let outdir = tmp.path().join("out");
    fs::create_dir_all(&outdir).unwrap();
    let out = outdir.join("tiny.bin");
    let o = ringcoach(
        &[
            "models",
            "convert-ct2",
            dir.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("truncated"), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "one clear line: {err}");
    assert!(dir_names(&outdir).is_empty(), "no output, no temp file");

    // Only the first part: say what is missing.
    fs::remove_file(&p2).unwrap();
    let o = ringcoach(
        &[
            "models",
            "convert-ct2",
            dir.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("model.bin.part2"),
        "{}",
        text(&o.stderr)
    );
}

/// A real, complete Whisper ggml file: the machine's converted base model if present,
/// else a tiny conversion.
fn some_whisper_model(tmp: &Path) -> PathBuf {
    if let Ok(p) = ModelPaths::from_env() {
        if models::validate_ggml(&p.whisper()).is_ok() {
            return p.whisper();
        }
    }
    let out = tmp.join("tiny.bin");
    models::convert::convert_ct2_dir(&split_ct2_dir(tmp), &out, &mut |_| {}).unwrap();
    out
}

#[test]
fn resolution_reports_missing_truncated_foreign_and_wrong_kind_files() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = ModelPaths::new(tmp.path().join("empty-cache"));
    let good = some_whisper_model(tmp.path());

    // Missing cache: names the file and `models fetch`.
    match cache.resolve(ModelKind::Whisper, None) {
        Err(e @ ModelError::Missing { .. }) => {
            let m = e.to_string();
            assert!(
                m.contains("ggml-base.bin") && m.contains("ringcoach models fetch"),
                "{m}"
            );
        }
        other => panic!("{other:?}"),
    }

    // A user's own complete model given explicitly is accepted as is.
    assert_eq!(
        cache.resolve(ModelKind::Whisper, Some(&good)).unwrap(),
        good
    );

    // Truncated: every cut point is caught, without loading weights.
    let bytes = fs::read(&good).unwrap();
    let cut = tmp.path().join("cut.bin");
    for n in [3, 20, 44, 100, bytes.len() / 3, bytes.len() - 1] {
        fs::write(&cut, &bytes[..n]).unwrap();
        match cache.resolve(ModelKind::Whisper, Some(&cut)) {
            Err(e @ ModelError::Truncated { .. }) => {
                assert!(e.to_string().contains("command line"), "{e}")
            }
            other => panic!("cut at {n}: {other:?}"),
        }
    }

    // Not ggml at all: wrong magic, a GGUF file, an empty file.
    let foreign = tmp.path().join("foreign.bin");
    fs::write(&foreign, b"RIFF\x24\x00\x00\x00WAVEfmt ").unwrap();
    let e = cache
        .resolve(ModelKind::Whisper, Some(&foreign))
        .unwrap_err();
    assert!(matches!(e, ModelError::NotGgml { .. }), "{e:?}");
    assert!(e.to_string().contains("\"RIFF\""), "{e}");
    fs::write(&foreign, b"GGUF\x03\x00\x00\x00").unwrap();
    let e = cache
        .resolve(ModelKind::Whisper, Some(&foreign))
        .unwrap_err();
    assert!(e.to_string().contains("GGUF"), "{e}");
    fs::write(&foreign, b"").unwrap();
    let e = cache
        .resolve(ModelKind::Whisper, Some(&foreign))
        .unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");

    // A corrupted header (implausible layer count) is not a crash inside whisper.cpp.
    let mut bad = bytes[..bytes.len().min(4096)].to_vec();
    bad[20..24].copy_from_slice(&100_000i32.to_le_bytes()); // n_audio_layer
    fs::write(&foreign, &bad).unwrap();
    let e = cache
        .resolve(ModelKind::Whisper, Some(&foreign))
        .unwrap_err();
    assert!(matches!(e, ModelError::Corrupt { .. }), "{e:?}");

    // A Whisper model where the VAD is wanted.
    let e = cache
        .resolve(ModelKind::SileroVad, Some(&good))
        .unwrap_err();
    assert!(matches!(e, ModelError::WrongKind { .. }), "{e:?}");
    assert!(e.to_string().contains("not a Silero VAD model"), "{e}");
}

#[test]
fn verify_and_list_on_an_empty_cache_say_what_to_run() {
    let tmp = tempfile::tempdir().unwrap();
    let o = ringcoach(&["models", "verify"], tmp.path());
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(
        out.contains("missing") && out.contains("ringcoach models fetch"),
        "{out}"
    );

    let o = ringcoach(&["models", "list", "--json"], tmp.path());
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let statuses: Vec<&str> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["missing", "missing", "missing"]);
    assert!(v["whisper_in_use"].is_null());
}

#[test]
fn verify_given_files_checks_each_and_fails_on_any_bad_one() {
    let tmp = tempfile::tempdir().unwrap();
    let good = some_whisper_model(tmp.path());
    let junk = tmp.path().join("junk.bin");
    fs::write(&junk, vec![0u8; 100]).unwrap();
    let o = ringcoach(
        &[
            "models",
            "verify",
            good.to_str().unwrap(),
            junk.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(out.contains("ok ") && out.contains("Whisper"), "{out}");
    assert!(out.contains("BAD") && out.contains("junk.bin"), "{out}");
    let o = ringcoach(&["models", "verify", good.to_str().unwrap()], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
}
