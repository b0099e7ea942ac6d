//! Certificates end to end on real files: keys in a keyring on disk, issuing, verifying,
//! tampering, evidence, rotation and revocation.

mod cert_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use cert_support::{evidence_files, make_recordings, record, t, PASS};
use ringcoach::cert::evidence::export_evidence;
use ringcoach::cert::jcs::to_file_bytes;
use ringcoach::cert::keyring::write_new;
use ringcoach::cert::revocation::revoke;
use ringcoach::cert::verify::{Revocation, StepStatus};
use ringcoach::cert::{
    evaluate, issue, CertError, Class, Credential, IssuerCard, Keyring, ResultStatus,
    RevocationEntry, VerifyInput,
};
use ringcoach::grading::Verdict;

const ISSUER: &str = "广利物业 培训部";

fn verify_bytes(bytes: &[u8], trusted: &[IssuerCard]) -> ringcoach::cert::Verification {
    ringcoach::cert::verify(&VerifyInput {
        certificate: bytes,
        trusted,
        evidence_dir: None,
        model_file: None,
        revocations: None,
    })
}

fn failed_steps(v: &ringcoach::cert::Verification) -> Vec<String> {
    v.steps
        .iter()
        .filter(|s| s.status == StepStatus::Failed)
        .map(|s| format!("{}: {}", s.name, s.detail))
        .collect()
}

#[test]
fn keygen_stores_a_protected_key_with_owner_only_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let ring = Keyring::new(dir.path().join("issuers"));
    let card = ring
        .keygen(ISSUER, PASS, t("2026-11-27T08:00:00Z"))
        .unwrap();
    assert_eq!(card.issuer, ISSUER);
    assert!(card.public_key_multibase.starts_with("z6Mk"));
    assert!(card.fingerprint.starts_with("SHA256:"));
    assert_eq!(card.valid_from, t("2026-11-27T08:00:00Z"));
    assert_eq!(card.valid_until, None);

    let idir = dir.path().join("issuers").join(ISSUER);
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&idir), 0o700);
    let names: Vec<String> = fs::read_dir(&idir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
    let key = names
        .iter()
        .find(|n| n.ends_with(".key"))
        .expect("a key file");
    let key_path = idir.join(key);
    assert_eq!(mode(&key_path), 0o600);
    let pem = fs::read_to_string(&key_path).unwrap();
    assert!(pem.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    // Passphrase-protected: the seed is not in the file in the clear.
    let parsed = ssh_key::PrivateKey::from_openssh(&pem).unwrap();
    assert!(parsed.is_encrypted());
    assert_eq!(parsed.cipher(), ssh_key::Cipher::Aes256Ctr);
    assert!(matches!(parsed.kdf(), ssh_key::Kdf::Bcrypt { .. }));

    // The card on disk is signed by its own key and checks out.
    let cards = ring.cards(ISSUER).unwrap();
    assert_eq!(cards, vec![card.clone()]);
    let card_path = idir.join(key.replace(".key", ".card.json"));
    let mut bytes = fs::read(&card_path).unwrap();
    let at = bytes.windows(7).position(|w| w == b"validFr").unwrap() + 15;
    bytes[at] ^= 1;
    assert!(matches!(
        IssuerCard::from_bytes(&bytes, "edited"),
        Err(CertError::BadCard { .. })
    ));

    // The right passphrase opens it; a wrong or empty one does not.
    assert_eq!(ring.signer(ISSUER, PASS).unwrap().card(), &card);
    match ring.signer(ISSUER, b"correct horse battery stapler") {
        Err(CertError::WrongPassphrase { path }) => assert_eq!(path, key_path),
        other => panic!("expected a wrong passphrase, got {other:?}"),
    }
    assert!(matches!(
        Keyring::new(dir.path().join("other")).keygen("x", b"", t("2026-11-27T08:00:00Z")),
        Err(CertError::EmptyPassphrase)
    ));
    assert!(matches!(
        ring.keygen(ISSUER, PASS, t("2026-11-27T08:00:00Z")),
        Err(CertError::IssuerExists { .. })
    ));
    assert!(matches!(
        ring.keygen("../escape", PASS, t("2026-11-27T08:00:00Z")),
        Err(CertError::BadIssuerName { .. })
    ));
    assert!(matches!(
        ring.signer("nobody", PASS),
        Err(CertError::NoIssuer { .. })
    ));

    // A key others can read is refused, with the fix in the message.
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o644)).unwrap();
    let err = ring.signer(ISSUER, PASS).unwrap_err();
    assert!(matches!(err, CertError::KeyPermissions { mode: 0o644, .. }));
    assert!(err.to_string().contains("chmod 600"), "{err}");
}

#[test]
fn issue_verify_round_trip_with_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let ring = Keyring::new(dir.path().join("issuers"));
    ring.keygen(ISSUER, PASS, t("2026-11-27T08:00:00Z"))
        .unwrap();
    let signer = ring.signer(ISSUER, PASS).unwrap();
    let rec = make_recordings(dir.path(), 0.5);
    let record = record(signer.card(), [96, 90, 88, 80, 100], None, &rec);
    assert_eq!(record.result.status, ResultStatus::Passed);
    let issued = issue(&signer, record.clone(), t("2026-11-28T09:00:00Z")).unwrap();
    assert!(issued.id.starts_with("urn:uuid:"));

    let path = dir.path().join("cert.ringcert.json");
    write_new(&path, &issued.bytes).unwrap();
    // A signed file is never overwritten.
    assert!(write_new(&path, b"{}").is_err());
    assert_eq!(fs::read(&path).unwrap(), issued.bytes);

    // The file is a VC 2.0 / Open Badges 3.0 credential, readable and laid out for people.
    let text = String::from_utf8(issued.bytes.clone()).unwrap();
    assert!(text.starts_with("{\n  \"@context\": [\n    \"https://www.w3.org/ns/credentials/v2\","));
    for needle in [
        "\"OpenBadgeCredential\"",
        "\"achievementType\": \"Certification\"",
        "\"cryptosuite\": \"eddsa-jcs-2022\"",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "\"ringcoach:certificate\": {",
        "\"trainer\": \"王老师\"",
        "刘芳",
    ] {
        assert!(text.contains(needle), "missing {needle}");
    }

    let trusted = ring.all_cards().unwrap();
    let v = verify_bytes(&issued.bytes, &trusted);
    assert_eq!(v.class, Class::Verified, "{}", v.summary());
    assert_eq!(v.exit_code(), 0);
    assert_eq!(v.certificate_id.as_deref(), Some(issued.id.as_str()));
    assert_eq!(v.digest, issued.digest);
    assert_eq!(v.status, Some(ResultStatus::Passed));
    assert!(matches!(v.revocation, Revocation::NotChecked { .. }));
    assert!(
        v.headline().contains("revocation NOT checked"),
        "{}",
        v.headline()
    );
    let cred = v.credential.as_ref().unwrap();
    assert_eq!(cred.record, record);

    // The evidence an auditor gets verifies too.
    let evidence = dir.path().join("evidence");
    let written = export_evidence(&record, &evidence, rec.clone()).unwrap();
    assert_eq!(written.len(), 10);
    let v = ringcoach::cert::verify(&VerifyInput {
        certificate: &issued.bytes,
        trusted: &trusted,
        evidence_dir: Some(&evidence),
        model_file: None,
        revocations: None,
    });
    assert_eq!(v.class, Class::Verified, "{}", v.summary());
    assert!(v.summary().contains("10 files match"), "{}", v.summary());
}

#[test]
fn a_swapped_recording_is_exit_3_naming_the_call_and_both_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let ring = Keyring::new(dir.path().join("issuers"));
    ring.keygen(ISSUER, PASS, t("2026-11-27T08:00:00Z"))
        .unwrap();
    let signer = ring.signer(ISSUER, PASS).unwrap();
    let rec = make_recordings(dir.path(), 0.5);
    let record = record(signer.card(), [96, 90, 88, 80, 100], None, &rec);
    let issued = issue(&signer, record.clone(), t("2026-11-28T09:00:00Z")).unwrap();
    let evidence = dir.path().join("evidence");
    export_evidence(&record, &evidence, rec.clone()).unwrap();

    // Call 3's recording replaced by call 4's; call 5's transcript edited by one character.
    let (wav3, _) = evidence_files(&evidence, 3, 1);
    let (wav4, _) = evidence_files(&evidence, 4, 1);
    fs::copy(&wav4, &wav3).unwrap();
    let (_, txt5) = evidence_files(&evidence, 5, 1);
    fs::write(&txt5, "您好，广利物业，感谢您的来电，再见!").unwrap();

    let v = ringcoach::cert::verify(&VerifyInput {
        certificate: &issued.bytes,
        trusted: &ring.all_cards().unwrap(),
        evidence_dir: Some(&evidence),
        model_file: None,
        revocations: None,
    });
    assert_eq!(v.class, Class::Mismatch, "{}", v.summary());
    assert_eq!(v.exit_code(), 3);
    assert_eq!(v.evidence_mismatches.len(), 2);
    let m = &v.evidence_mismatches[0];
    assert_eq!(m.item, "call 3 turn 1 recording");
    assert_eq!(m.expected_sha256, record.calls[2].turns[0].audio_sha256);
    assert_eq!(
        m.found_sha256.as_deref(),
        Some(record.calls[3].turns[0].audio_sha256.as_str())
    );
    assert_eq!(v.evidence_mismatches[1].item, "call 5 turn 1 transcript");
    let headline = v.headline();
    assert!(headline.contains("call 3 turn 1 recording"), "{headline}");
    assert!(headline.contains(&m.expected_sha256), "{headline}");
    assert!(
        headline.contains(m.found_sha256.as_ref().unwrap()),
        "{headline}"
    );

    // A missing file is a mismatch too, named.
    fs::remove_file(&wav4).unwrap();
    let v = ringcoach::cert::verify(&VerifyInput {
        certificate: &issued.bytes,
        trusted: &ring.all_cards().unwrap(),
        evidence_dir: Some(&evidence),
        model_file: Some(&wav3),
        revocations: None,
    });
    assert_eq!(v.class, Class::Mismatch);
    assert!(
        v.summary().contains("call 4 turn 1 recording"),
        "{}",
        v.summary()
    );
    assert!(v.summary().contains("is missing"), "{}", v.summary());
    assert!(
        v.summary().contains("model ggml-base.bin"),
        "{}",
        v.summary()
    );
}

/// Applies every change in `changes` (position, new byte) to `original` one at a time and
/// demands that each is refused as tampered (class Untrusted, exit 1).
fn assert_all_refused(
    original: &[u8],
    trusted: &[IssuerCard],
    changes: impl Iterator<Item = (usize, u8)>,
) -> usize {
    let mut bytes = original.to_vec();
    let mut tried = 0;
    for (pos, new) in changes {
        let b = original[pos];
        if new == b {
            continue;
        }
        bytes[pos] = new;
        let v = verify_bytes(&bytes, trusted);
        assert_eq!(
            v.class,
            Class::Untrusted,
            "byte {pos} changed from {b:#04x} to {new:#04x} was not refused: {}",
            v.summary()
        );
        assert_eq!(v.exit_code(), 1);
        bytes[pos] = b;
        tried += 1;
    }
    tried
}

fn xorshift(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// "Any single changed byte in the certificate → exit 1". Every byte position of a small
/// (one-call) certificate, each changed twice (its low bit, and an arbitrary value), then a
/// large random sample of positions and values in a full five-call certificate.
#[test]
fn every_single_byte_change_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ring = Keyring::new(dir.path().join("issuers"));
    ring.keygen(ISSUER, PASS, t("2026-11-27T08:00:00Z"))
        .unwrap();
    let signer = ring.signer(ISSUER, PASS).unwrap();
    let trusted = ring.all_cards().unwrap();
    let rec = make_recordings(dir.path(), 0.1);

    let mut small = record(signer.card(), [96, 90, 88, 80, 100], None, &rec);
    small.calls.truncate(1);
    small.rubrics.truncate(1);
    small.rules.total_calls = 1;
    small.rules.calls_required = 1;
    small.result = evaluate(&small.rules, &small.calls).stated();
    let small = issue(&signer, small, t("2026-11-28T09:00:00Z"))
        .unwrap()
        .bytes;
    assert_eq!(verify_bytes(&small, &trusted).class, Class::Verified);
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let every = (0..small.len()).flat_map(|pos| {
        let r = (xorshift(&mut seed) & 0xff) as u8;
        [(pos, small[pos] ^ 0x01), (pos, r)]
    });
    let tried = assert_all_refused(&small, &trusted, every.collect::<Vec<_>>().into_iter());
    assert!(
        tried > small.len(),
        "{tried} changes of {} bytes",
        small.len()
    );

    let full = issue(
        &signer,
        record(signer.card(), [96, 90, 88, 80, 100], None, &rec),
        t("2026-11-28T09:00:00Z"),
    )
    .unwrap()
    .bytes;
    let sample: Vec<(usize, u8)> = (0..3000)
        .map(|_| {
            let x = xorshift(&mut seed);
            ((x >> 8) as usize % full.len(), (x & 0xff) as u8)
        })
        .collect();
    assert!(assert_all_refused(&full, &trusted, sample.into_iter()) > 2900);

    // Re-indenting the file (as `jq .` would) is an edit too, but the report says the
    // signed content is intact.
    let value: serde_json::Value = serde_json::from_slice(&full).unwrap();
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    let v = verify_bytes(&pretty, &trusted);
    assert_eq!(v.class, Class::Untrusted);
    assert!(
        v.summary().contains("signed content is intact"),
        "{}",
        v.summary()
    );
}

#[test]
fn untrusted_issuer_and_a_stated_result_that_disagrees_are_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let ring = Keyring::new(dir.path().join("issuers"));
    ring.keygen(ISSUER, PASS, t("2026-11-27T08:00:00Z"))
        .unwrap();
    let signer = ring.signer(ISSUER, PASS).unwrap();
    let rec = make_recordings(dir.path(), 0.1);
    let good = record(signer.card(), [96, 90, 88, 80, 100], None, &rec);
    let issued = issue(&signer, good.clone(), t("2026-11-28T09:00:00Z")).unwrap();

    // Nobody trusts this issuer: no field can be trusted.
    let v = verify_bytes(&issued.bytes, &[]);
    assert_eq!(v.class, Class::Untrusted);
    assert!(
        failed_steps(&v)[0].contains("in no trusted issuer card"),
        "{v:?}"
    );

    // Another machine's key with the same issuer name is not the issuer.
    let other = Keyring::new(dir.path().join("impostor"));
    other
        .keygen(ISSUER, PASS, t("2026-11-27T08:00:00Z"))
        .unwrap();
    let forged = issue(
        &other.signer(ISSUER, PASS).unwrap(),
        record(
            &other.current_card(ISSUER).unwrap(),
            [96, 90, 88, 80, 100],
            None,
            &rec,
        ),
        t("2026-11-28T09:00:00Z"),
    )
    .unwrap();
    assert_eq!(
        verify_bytes(&forged.bytes, &ring.all_cards().unwrap()).class,
        Class::Untrusted
    );

    // An issuer that signs a result the rules do not give (a critical 喂 in call 2, stated as
    // passed) is refused by `issue`, and by `verify` if signed by other means.
    let mut lying = record(signer.card(), [96, 90, 88, 80, 100], Some(2), &rec);
    assert_eq!(
        evaluate(&lying.rules, &lying.calls).status(),
        ResultStatus::Failed
    );
    lying.result.status = ResultStatus::Passed;
    lying.calls[1].passed = true;
    lying.result.calls_passed = 5;
    let err = issue(&signer, lying.clone(), t("2026-11-28T09:00:00Z")).unwrap_err();
    assert!(err.to_string().contains("the rules give Failed"), "{err}");
    let cred = Credential::new(lying, "urn:uuid:0".into(), t("2026-11-28T09:00:00Z"));
    let bytes = signer
        .sign_to_file_bytes(cred.to_value().unwrap(), t("2026-11-28T09:00:00Z"))
        .unwrap();
    let v = verify_bytes(&bytes, &ring.all_cards().unwrap());
    assert_eq!(v.class, Class::Untrusted, "{}", v.summary());
    let failed = failed_steps(&v).join("\n");
    assert!(failed.starts_with("result: "), "{failed}");
    assert!(
        failed.contains("call 2 is stated passed, the rules give failed"),
        "{failed}"
    );

    // A record with a verdict still uncertain cannot be certified.
    let mut unsettled = good;
    unsettled.calls[1].checks[1].final_verdict = Verdict::Uncertain;
    unsettled.calls[1].overrules.clear();
    let err = issue(&signer, unsettled, t("2026-11-28T09:00:00Z")).unwrap_err();
    assert!(err.to_string().contains("still uncertain"), "{err}");
}

#[test]
fn rotation_keeps_old_certificates_valid_and_retires_the_old_key() {
    let dir = tempfile::tempdir().unwrap();
    let ring = Keyring::new(dir.path().join("issuers"));
    ring.keygen(ISSUER, PASS, t("2026-01-01T00:00:00Z"))
        .unwrap();
    let old = ring.signer(ISSUER, PASS).unwrap();
    let old_card = old.card().clone();
    let rec = make_recordings(dir.path(), 0.1);
    let before = issue(
        &old,
        record(old.card(), [96, 90, 88, 80, 100], None, &rec),
        t("2026-03-01T00:00:00Z"),
    )
    .unwrap();

    // Rotate with a new passphrase; the old card gets an end, the new one starts then.
    let rotation = ring
        .rotate(ISSUER, PASS, b"new passphrase", t("2026-06-01T00:00:00Z"))
        .unwrap();
    assert_eq!(
        rotation.retired.valid_until,
        Some(t("2026-06-01T00:00:00Z"))
    );
    assert_eq!(
        rotation.retired.public_key_multibase,
        old_card.public_key_multibase
    );
    assert_eq!(rotation.current.valid_from, t("2026-06-01T00:00:00Z"));
    assert_ne!(
        rotation.current.public_key_multibase,
        old_card.public_key_multibase
    );
    assert!(matches!(
        ring.signer(ISSUER, PASS),
        Err(CertError::WrongPassphrase { .. })
    ));
    let new = ring.signer(ISSUER, b"new passphrase").unwrap();
    assert_eq!(new.card(), &rotation.current);
    let cards = ring.cards(ISSUER).unwrap();
    assert_eq!(cards.len(), 2);

    let after = issue(
        &new,
        record(new.card(), [96, 90, 88, 80, 100], None, &rec),
        t("2026-07-01T00:00:00Z"),
    )
    .unwrap();
    // Both verify against the issuer's cards: each was signed inside its key's window.
    assert_eq!(verify_bytes(&before.bytes, &cards).class, Class::Verified);
    assert_eq!(verify_bytes(&after.bytes, &cards).class, Class::Verified);
    // An employer holding only the first card does not know the new key yet.
    assert_eq!(
        verify_bytes(&after.bytes, std::slice::from_ref(&old_card)).class,
        Class::Untrusted
    );

    // The old key, used after its retirement (say, by someone who copied it), is refused,
    // even by an employer who also still holds the open-ended first card.
    let late = old
        .sign_to_file_bytes(
            Credential::new(
                record(&old_card, [96, 90, 88, 80, 100], None, &rec),
                "urn:uuid:1".into(),
                t("2026-07-01T00:00:00Z"),
            )
            .to_value()
            .unwrap(),
            t("2026-07-01T00:00:00Z"),
        )
        .unwrap();
    let mut trust = cards.clone();
    trust.push(old_card.clone());
    let v = verify_bytes(&late, &trust);
    assert_eq!(v.class, Class::Untrusted);
    assert!(
        failed_steps(&v)
            .join("\n")
            .contains("outside the key's validity"),
        "{}",
        v.summary()
    );
    // And a retired key in the keyring refuses to sign at all.
    let retired =
        ringcoach::cert::Signer::new(ssh_key_seed(&dir, &old_card), rotation.retired.clone())
            .unwrap();
    assert!(matches!(
        retired.sign(serde_json::json!({}), t("2026-07-01T00:00:00Z")),
        Err(CertError::KeyNotValid { .. })
    ));
}

/// The old key's seed, read back from its key file in the keyring.
fn ssh_key_seed(dir: &tempfile::TempDir, card: &IssuerCard) -> ed25519_dalek::SigningKey {
    let idir = dir.path().join("issuers").join(ISSUER);
    for e in fs::read_dir(&idir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "key") {
            let k = ringcoach::cert::keyring::read_private_key(&p, PASS);
            if let Ok(k) = k {
                if ringcoach::cert::multikey::public_key_multibase(&k.verifying_key())
                    == card.public_key_multibase
                {
                    return k;
                }
            }
        }
    }
    panic!("old key not found");
}

#[test]
fn revocation_and_replacement() {
    let dir = tempfile::tempdir().unwrap();
    let ring = Keyring::new(dir.path().join("issuers"));
    ring.keygen(ISSUER, PASS, t("2026-01-01T00:00:00Z"))
        .unwrap();
    let signer = ring.signer(ISSUER, PASS).unwrap();
    let rec = make_recordings(dir.path(), 0.1);
    let first = issue(
        &signer,
        record(signer.card(), [96, 90, 88, 80, 100], None, &rec),
        t("2026-03-01T00:00:00Z"),
    )
    .unwrap();
    let mut corrected = record(signer.card(), [96, 90, 88, 86, 100], None, &rec);
    corrected.supersedes = Some(first.id.clone());
    let second = issue(&signer, corrected, t("2026-03-02T00:00:00Z")).unwrap();

    let list = revoke(
        &ring,
        ISSUER,
        PASS,
        RevocationEntry {
            id: first.id.clone(),
            date: t("2026-03-02T00:00:00Z"),
            reason: "call 4 re-scored after a transcript correction".into(),
            replaced_by: Some(second.id.clone()),
        },
        t("2026-03-02T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(list.sequence, 1);
    let list_bytes = fs::read(ring.revocations_path(ISSUER).unwrap()).unwrap();
    assert_eq!(
        list_bytes,
        to_file_bytes(&serde_json::to_value(&list).unwrap()).unwrap()
    );

    let trusted = ring.all_cards().unwrap();
    let check = |cert: &[u8], list: &[u8]| {
        ringcoach::cert::verify(&VerifyInput {
            certificate: cert,
            trusted: &trusted,
            evidence_dir: None,
            model_file: None,
            revocations: Some(list),
        })
    };
    // The revoked one: signature good, revoked → exit 3, with date, reason and replacement.
    let v = check(&first.bytes, &list_bytes);
    assert_eq!(v.class, Class::Mismatch, "{}", v.summary());
    assert_eq!(v.exit_code(), 3);
    let Revocation::Revoked { entry, .. } = &v.revocation else {
        panic!("{:?}", v.revocation)
    };
    assert_eq!(entry.replaced_by.as_deref(), Some(second.id.as_str()));
    assert!(v.headline().contains("re-scored"), "{}", v.headline());
    // The replacement: verified, not revoked, names what it supersedes.
    let v = check(&second.bytes, &list_bytes);
    assert_eq!(v.class, Class::Verified, "{}", v.summary());
    assert!(matches!(
        v.revocation,
        Revocation::NotRevoked { sequence: 1, .. }
    ));
    assert_eq!(v.supersedes.as_deref(), Some(first.id.as_str()));

    // Revoking the same certificate twice is refused; a second revocation re-issues the list.
    let again = RevocationEntry {
        id: first.id.clone(),
        date: t("2026-03-03T00:00:00Z"),
        reason: "again".into(),
        replaced_by: None,
    };
    assert!(revoke(&ring, ISSUER, PASS, again, t("2026-03-03T00:00:00Z")).is_err());
    let list2 = revoke(
        &ring,
        ISSUER,
        PASS,
        RevocationEntry {
            id: second.id.clone(),
            date: t("2026-04-01T00:00:00Z"),
            reason: "candidate's employee id was wrong".into(),
            replaced_by: None,
        },
        t("2026-04-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(list2.sequence, 2);
    assert_eq!(list2.entries.len(), 2);

    // A tampered list cannot be used: exit 1, the revocation status cannot be trusted.
    let mut bad = list_bytes.clone();
    let at = bad.windows(8).position(|w| w == b"re-score").unwrap();
    bad[at] = b'R';
    let v = check(&second.bytes, &bad);
    assert_eq!(v.class, Class::Untrusted, "{}", v.summary());
    assert!(v.summary().contains("revocation list"), "{}", v.summary());

    // Another issuer's list says nothing about this certificate: not checked, said so.
    let other = Keyring::new(dir.path().join("other"));
    other
        .keygen("另一家公司", PASS, t("2026-01-01T00:00:00Z"))
        .unwrap();
    revoke(
        &other,
        "另一家公司",
        PASS,
        RevocationEntry {
            id: "urn:uuid:x".into(),
            date: t("2026-03-02T00:00:00Z"),
            reason: "test".into(),
            replaced_by: None,
        },
        t("2026-03-02T00:00:00Z"),
    )
    .unwrap();
    let other_list = fs::read(other.revocations_path("另一家公司").unwrap()).unwrap();
    let mut both = trusted.clone();
    both.extend(other.all_cards().unwrap());
    let v = ringcoach::cert::verify(&VerifyInput {
        certificate: &first.bytes,
        trusted: &both,
        evidence_dir: None,
        model_file: None,
        revocations: Some(&other_list),
    });
    assert_eq!(v.class, Class::Verified);
    assert!(matches!(v.revocation, Revocation::NotChecked { .. }));
    assert!(
        v.headline().contains("revocation NOT checked"),
        "{}",
        v.headline()
    );
}
