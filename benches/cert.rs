//! Issuing and verifying a five-call certificate, with the evidence hashing an auditor's
//! `verify --evidence` does: five 8-second recordings (48 kHz mono 16-bit, 768 KB each, what a
//! desk microphone records). Also the one-off costs: making a key and unlocking it (bcrypt-pbkdf,
//! 16 rounds, deliberately slow), and exporting the evidence.
//!
//! `cargo bench --bench cert`. Prints the machine, min / median / max of each step.

mod bench_support;
#[path = "../tests/cert_support/mod.rs"]
mod cert_support;

use std::time::{Duration, Instant};

use bench_support::machine;
use cert_support::{make_recordings_at, record, t, PASS};
use ringcoach::cert::evidence::export_evidence;
use ringcoach::cert::{issue, verify, Class, Keyring, VerifyInput};

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
    println!("(files hashed from the page cache; a cold disk adds its read time)");
}
