//! Issuing and verifying a five-call certificate, with the evidence hashing an auditor's
//! `verify --evidence` does: five 8-second recordings (48 kHz mono 16-bit, 768 KB each, what a
//! desk microphone records). Also the one-off costs: making a key and unlocking it (bcrypt-pbkdf,
//! 16 rounds, deliberately slow), and exporting the evidence.
//!
//! The last rows take the path `ringcoach cert issue` takes: a sealed five-call sitting in a
//! real store (each attempt graded by the real grader from its text, its turn kept as an
//! 8 s recording), the seal checked (every sealed file re-hashed), the record built from the
//! store through `grading::settle`, signed and verified with its evidence.
//!
//! `cargo bench --bench cert`. Prints the machine, min / median / max of each step.

mod bench_support;
#[path = "../tests/cert_support/mod.rs"]
mod cert_support;

use std::time::{Duration, Instant};

use bench_support::machine;
use cert_support::{make_recordings_at, record, t, PASS};
use ringcoach::cert::evidence::export_evidence;
use ringcoach::cert::{issue, verify, Class, IssuerRef, Keyring, VerifyInput};
use ringcoach::exam::certify::record as sitting_record;
use ringcoach::exam::seal::{check, seal};
use ringcoach::exam::sitting::{Candidate, ModelInfo, Source, SuiteSnapshot, TakenCall, TurnAudio};
use ringcoach::exam::Sittings;
use ringcoach::grading::{Call, Heard, Org, Pickup, Verdict};
use ringcoach::scenario::Catalog;
use ringcoach::store::{AttemptInfo, AudioFormat, Outcome, Store, Timestamp};
use ringcoach::transcribe::Transcript;

fn time<T>(reps: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, Duration, T) {
    let mut times = Vec::with_capacity(reps);
    let mut last = None;
    for _ in 0..reps {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed());
    }
    times.sort();
    (times[0], times[reps / 2], times[reps - 1], last.unwrap())
}

fn row(what: &str, reps: usize, (min, med, max): (Duration, Duration, Duration)) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<52} {reps:>4} {:>9.3} {:>9.3} {:>9.3}",
        ms(min),
        ms(med),
        ms(max)
    );
}

fn main() {
    println!("machine: {}", machine());
    let dir = tempfile::tempdir().unwrap();
    let ring = Keyring::new(dir.path().join("issuers"));
    println!(
        "{:<52} {:>4} {:>9} {:>9} {:>9}",
        "step", "reps", "min ms", "median ms", "max ms"
    );

    let mut n = 0;
    let (a, b, c, _) = time(3, || {
        n += 1;
        ring.keygen(&format!("issuer {n}"), PASS, t("2026-11-27T08:00:00Z"))
            .unwrap()
    });
    row(
        "keygen (Ed25519, bcrypt-pbkdf, 4 fsynced files)",
        3,
        (a, b, c),
    );
    let (a, b, c, signer) = time(5, || ring.signer("issuer 1", PASS).unwrap());
    row("unlock the key (bcrypt-pbkdf 16 rounds)", 5, (a, b, c));

    let recording = make_recordings_at(dir.path(), 8.0, 48_000);
    let (a, b, c, rec) = time(10, || {
        record(signer.card(), [96, 90, 88, 80, 100], None, &recording)
    });
    row(
        "build the record, hashing 5 x 8 s WAVs (3.8 MB)",
        10,
        (a, b, c),
    );
    let (a, b, c, issued) = time(50, || {
        issue(&signer, rec.clone(), t("2026-11-28T09:00:00Z")).unwrap()
    });
    row("issue: evaluate, canonicalise, sign, SSHSIG", 50, (a, b, c));
    println!("certificate: {} bytes", issued.bytes.len());

    let trusted = ring.all_cards().unwrap();
    let evidence = dir.path().join("evidence");
    let (a, b, c, _) = time(5, || {
        export_evidence(&rec, &evidence, recording.clone()).unwrap()
    });
    row(
        "export evidence (copy + fsync 10 files, re-hash)",
        5,
        (a, b, c),
    );

    let input = VerifyInput {
        certificate: &issued.bytes,
        trusted: &trusted,
        evidence_dir: None,
        model_file: None,
        revocations: None,
    };
    let (a, b, c, v) = time(200, || verify(&input));
    assert_eq!(v.class, Class::Verified);
    row("verify: signature, issuer, window, result", 200, (a, b, c));
    let with_evidence = VerifyInput {
        evidence_dir: Some(&evidence),
        ..input
    };
    let (a, b, c, v) = time(20, || verify(&with_evidence));
    assert_eq!(v.class, Class::Verified, "{}", v.summary());
    row(
        "verify with evidence (5 WAVs + 5 transcripts hashed)",
        20,
        (a, b, c),
    );

    // --- The path of `cert issue`: a sealed sitting in a real store. ---
    let store = Store::open(&dir.path().join("data")).unwrap();
    let catalog = Catalog::builtin().unwrap();
    let suite = catalog.suite("property-hotline").unwrap();
    let snapshot = SuiteSnapshot::of(suite, &catalog);
    let sittings = Sittings::of(&store);
    let model = dir.path().join("model.bin");
    std::fs::write(&model, vec![7u8; 1 << 20]).unwrap();
    let mut sit = sittings
        .start(
            Candidate {
                name: "刘芳".into(),
                employee_id: Some("GL-0042".into()),
            },
            snapshot.clone(),
            Source::Import,
            "bench".into(),
            ModelInfo::of(&model).unwrap(),
            Timestamp::now(),
        )
        .unwrap();
    for call in &snapshot.calls {
        let sc = catalog.get(&call.scenario).unwrap();
        let answer = &sc.model_answers.get_ref()[0];
        let turns: Vec<Heard> = answer
            .turns
            .get_ref()
            .iter()
            .map(|t| Heard::text(t.get_ref().replace("{org}", &call.org)))
            .collect();
        let n = turns.len();
        let report = Call {
            turns,
            pickup: Pickup::Rings(1),
            org: Org::given(call.org.clone()),
        }
        .grade(sc, &catalog.phrasebook);
        let info = AttemptInfo {
            scenario: call.scenario.clone(),
            rubric_sha256: report.rubric_sha256.clone(),
            model: "model.bin".into(),
            trainee: "刘芳".into(),
            device: "bench".into(),
            org: call.org.clone(),
            started: Timestamp::now(),
            sitting: Some(sit.id.clone()),
        };
        let outcome = Outcome {
            transcript: Transcript {
                text: report.transcript.clone(),
                segments: vec![],
                cut_off: None,
            },
            report: serde_json::to_value(&report).unwrap(),
            score: f64::from(report.score),
            passed: report.passed,
            needs_review: report
                .checks
                .iter()
                .any(|c| c.verdict == Verdict::Uncertain),
            finished: Timestamp::now(),
        };
        let samples = vec![0i16; 16_000 * 8 * n];
        let summary = store
            .save(info, AudioFormat::SPEECH, &samples, outcome)
            .unwrap();
        sittings
            .record_call(
                &mut sit,
                TakenCall {
                    index: call.index,
                    scenario: call.scenario.clone(),
                    org: call.org.clone(),
                    attempt: summary.id,
                    rings: Some(1),
                    pickup_ms: None,
                    started: summary.started,
                    ended: Timestamp::now(),
                    turns: vec![],
                },
                (0..n)
                    .map(|_| TurnAudio::File(recording(call.index, 1)))
                    .collect(),
            )
            .unwrap();
    }
    sittings.end(&mut sit, Timestamp::now()).unwrap();
    let sealed = seal(&sittings, &store, &sit, Timestamp::now()).unwrap();
    println!(
        "sitting: 5 calls, {} turns, {} sealed files",
        sit.calls.iter().map(|c| c.turns.len()).sum::<usize>(),
        sealed.seal.files.len()
    );
    let (a, b, c, checked) = time(10, || check(&sittings, &sit.id).unwrap());
    row("check the seal (re-hash every sealed file)", 10, (a, b, c));
    let (a, b, c, draft) = time(10, || {
        sitting_record(
            &store,
            &sittings,
            &sit,
            &checked,
            IssuerRef::from_card(signer.card()),
            None,
        )
        .unwrap()
    });
    row(
        "record from the store (grading::settle per call)",
        10,
        (a, b, c),
    );
    let (a, b, c, issued) = time(10, || {
        let s = check(&sittings, &sit.id).unwrap();
        let r = sitting_record(
            &store,
            &sittings,
            &sit,
            &s,
            IssuerRef::from_card(signer.card()),
            None,
        )
        .unwrap();
        issue(&signer, r, Timestamp::now()).unwrap()
    });
    row("issue a sitting: seal check + record + sign", 10, (a, b, c));
    assert_eq!(draft.calls.len(), 5);
    let evidence = dir.path().join("sitting-evidence");
    let cred_record = serde_json::from_value::<ringcoach::cert::Credential>(
        serde_json::from_slice(&issued.bytes).unwrap(),
    )
    .unwrap()
    .record;
    export_evidence(&cred_record, &evidence, |call, turn| {
        sittings.turn_path(&sit.id, call, turn)
    })
    .unwrap();
    let input = VerifyInput {
        certificate: &issued.bytes,
        trusted: &trusted,
        evidence_dir: Some(&evidence),
        model_file: Some(&model),
        revocations: None,
    };
    let (a, b, c, v) = time(20, || verify(&input));
    assert_eq!(v.class, Class::Verified, "{}", v.summary());
    row(
        "verify it with evidence and the model (1 MB)",
        20,
        (a, b, c),
    );
    println!("(files hashed from the page cache; a cold disk adds its read time)");
}
