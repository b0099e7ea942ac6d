//! Interoperability with the real OpenSSH tools (Debian's openssh-client, installed by
//! `scripts/ensure-system test`): an auditor without ringcoach checks a certificate's detached
//! signature with `ssh-keygen -Y verify`, and the issuer key is an ordinary OpenSSH key file.

mod cert_support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use cert_support::{make_recordings, record, t, PASS};
use ringcoach::cert::sshsig::{principal, verify_detached, NAMESPACE};
use ringcoach::cert::{issue, Keyring};

const ISSUER: &str = "广利物业 培训部";

fn ssh_keygen(args: &[&str], stdin_file: Option<&Path>) -> Output {
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(args);
    cmd.stdin(match stdin_file {
        Some(p) => Stdio::from(fs::File::open(p).unwrap()),
        None => Stdio::null(),
    });
    cmd.output().unwrap_or_else(|e| {
        panic!(
            "cannot run ssh-keygen ({e}): run scripts/ensure-system test to install openssh-client"
        )
    })
}

#[test]
fn ssh_keygen_accepts_the_detached_signature_and_refuses_an_edit() {
    let dir = tempfile::tempdir().unwrap();
    let ring = Keyring::new(dir.path().join("issuers"));
    let card = ring
        .keygen(ISSUER, PASS, t("2026-11-27T08:00:00Z"))
        .unwrap();
    let signer = ring.signer(ISSUER, PASS).unwrap();
    let rec = make_recordings(dir.path(), 0.1);
    let issued = issue(
        &signer,
        record(&card, [96, 90, 88, 80, 100], None, &rec),
        t("2026-11-28T09:00:00Z"),
    )
    .unwrap();
    let cert = dir.path().join("cert.ringcert.json");
    let sig = dir.path().join("cert.ringcert.json.sig");
    fs::write(&cert, &issued.bytes).unwrap();
    fs::write(&sig, &issued.ssh_signature).unwrap();
    let allowed = dir.path().join("allowed_signers");
    fs::write(&allowed, format!("{}\n", card.allowed_signers)).unwrap();
    let who = principal(ISSUER);
    assert_eq!(who, "广利物业_培训部");

    let verify = |file: &Path| {
        ssh_keygen(
            &[
                "-Y",
                "verify",
                "-f",
                allowed.to_str().unwrap(),
                "-I",
                &who,
                "-n",
                NAMESPACE,
                "-s",
                sig.to_str().unwrap(),
            ],
            Some(file),
        )
    };
    let out = verify(&cert);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "ssh-keygen refused a good signature: {said}"
    );
    assert!(said.contains("Good \"ringcoach-cert\" signature"), "{said}");

    // One byte edited: refused by ssh-keygen and by our own check.
    let mut edited = issued.bytes.clone();
    let at = edited.windows(4).position(|w| w == b"\"96\"").unwrap() + 1;
    edited[at] = b'9';
    edited[at + 1] = b'9';
    let edited_path = dir.path().join("edited.ringcert.json");
    fs::write(&edited_path, &edited).unwrap();
    let out = verify(&edited_path);
    assert!(
        !out.status.success(),
        "ssh-keygen accepted an edited certificate"
    );
    let mut one = issued.bytes.clone();
    one[100] ^= 1;
    fs::write(&edited_path, &one).unwrap();
    assert!(!verify(&edited_path).status.success());

    let key = signer.verifying_key();
    verify_detached(&key, &issued.bytes, &issued.ssh_signature).unwrap();
    assert!(verify_detached(&key, &one, &issued.ssh_signature).is_err());

    // Another namespace is not a certificate signature.
    let out = ssh_keygen(
        &[
            "-Y",
            "verify",
            "-f",
            allowed.to_str().unwrap(),
            "-I",
            &who,
            "-n",
            "file",
            "-s",
            sig.to_str().unwrap(),
        ],
        Some(&cert),
    );
    assert!(!out.status.success());
}

#[test]
fn the_issuer_key_is_an_ordinary_passphrase_protected_openssh_key() {
    let dir = tempfile::tempdir().unwrap();
    let ring = Keyring::new(dir.path().join("issuers"));
    let card = ring
        .keygen(ISSUER, PASS, t("2026-11-27T08:00:00Z"))
        .unwrap();
    let idir = dir.path().join("issuers").join(ISSUER);
    let stem = fs::read_to_string(idir.join("current")).unwrap();
    let key = idir.join(format!("{}.key", stem.trim()));
    let public = fs::read_to_string(idir.join(format!("{}.pub", stem.trim()))).unwrap();

    // ssh-keygen opens it with the passphrase and derives the same public key.
    let pass = std::str::from_utf8(PASS).unwrap();
    let out = ssh_keygen(&["-y", "-P", pass, "-f", key.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let derived = String::from_utf8(out.stdout).unwrap();
    let words = |s: &str| s.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    assert_eq!(words(&derived), words(&public));
    assert!(card.allowed_signers.ends_with(&words(&public)));

    // ... and not without it.
    let out = ssh_keygen(&["-y", "-P", "wrong", "-f", key.to_str().unwrap()], None);
    assert!(!out.status.success());

    // The card's fingerprint is the one ssh-keygen prints.
    let out = ssh_keygen(&["-l", "-E", "sha256", "-f", key.to_str().unwrap()], None);
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(
        listed.contains(&card.fingerprint),
        "{listed} vs {}",
        card.fingerprint
    );
}
