//! Standards conformance of the certificate core: the W3C eddsa-jcs-2022 test vector reproduced
//! byte for byte (fixtures: tests/cert_fixtures/README.md says where they come from), and
//! RFC 8785 canonicalisation against the RFC's own examples.

use std::fs;
use std::path::PathBuf;

use ringcoach::cert::jcs::{canonicalize, parse_strict};
use ringcoach::cert::multikey::{
    multibase_encode, parse_public_key_multibase, parse_secret_key_multibase, public_key_multibase,
    verification_method,
};
use ringcoach::cert::proof::{add_proof, hash_data, proof_config, verify_proof, ProofOptions};
use ringcoach::cert::ProofError;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cert_fixtures/w3c-eddsa-jcs-2022")
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_fixture(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn w3c_eddsa_jcs_2022_vector_byte_for_byte() {
    let pair = json_fixture("keyPair.json");
    let public = parse_public_key_multibase(pair["publicKeyMultibase"].as_str().unwrap()).unwrap();
    let secret = parse_secret_key_multibase(pair["privateKeyMultibase"].as_str().unwrap()).unwrap();
    assert_eq!(secret.verifying_key(), public, "the pair belongs together");
    assert_eq!(
        public_key_multibase(&public),
        pair["publicKeyMultibase"].as_str().unwrap()
    );

    // The credential without proof: canonical form and its hash.
    let unsigned = json_fixture("unsigned.json");
    let canon_doc = canonicalize(&unsigned).unwrap();
    assert_eq!(
        String::from_utf8(canon_doc.clone()).unwrap(),
        fixture("canonDocJCS.txt")
    );
    assert_eq!(hex(&Sha256::digest(&canon_doc)), fixture("docHashJCS.txt"));

    // The proof options: built from the document and the options, canonical form, hash.
    let expected_config = json_fixture("proofConfigJCS.json");
    let options = ProofOptions {
        created: expected_config["created"].as_str().unwrap().into(),
        verification_method: verification_method(&public),
        proof_purpose: "assertionMethod".into(),
    };
    assert_eq!(
        options.verification_method,
        expected_config["verificationMethod"].as_str().unwrap()
    );
    let config = Value::Object(proof_config(unsigned.as_object().unwrap(), &options));
    assert_eq!(config, expected_config);
    let canon_config = canonicalize(&config).unwrap();
    assert_eq!(
        String::from_utf8(canon_config.clone()).unwrap(),
        fixture("proofCanonJCS.txt")
    );
    assert_eq!(
        hex(&Sha256::digest(&canon_config)),
        fixture("proofHashJCS.txt")
    );

    // Combined hash, signature (hex and base58btc).
    let combined = hash_data(&canon_config, &canon_doc);
    assert_eq!(hex(&combined), fixture("combinedHashJCS.txt"));
    use ed25519_dalek::Signer as _;
    let signature = secret.sign(&combined).to_bytes();
    assert_eq!(hex(&signature), fixture("sigHexJCS.txt"));
    assert_eq!(multibase_encode(&signature), fixture("sigBTC58JCS.txt"));

    // The whole signed credential, made by the library in one call.
    let signed = add_proof(unsigned.clone(), &secret, &options).unwrap();
    assert_eq!(signed, json_fixture("signedJCS.json"));

    // And the spec's signed credential verifies, with the key its did:key names.
    let verified = verify_proof(&json_fixture("signedJCS.json")).unwrap();
    assert_eq!(verified.key, public);
    assert_eq!(verified.proof_purpose, "assertionMethod");

    // One changed character anywhere in the credential or the proof is refused.
    let mut changed = json_fixture("signedJCS.json");
    changed["credentialSubject"]["alumniOf"] = json!("The School of Example");
    assert_eq!(verify_proof(&changed), Err(ProofError::SignatureInvalid));
    let mut changed = json_fixture("signedJCS.json");
    changed["proof"]["created"] = json!("2023-02-24T23:36:39Z");
    assert_eq!(verify_proof(&changed), Err(ProofError::SignatureInvalid));
}

/// RFC 8785 section 3.2.2 (serialisation of primitives), verbatim input and output.
#[test]
fn rfc8785_primitive_example() {
    let input = r#"{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#;
    let expected = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
    let v = parse_strict(input.as_bytes()).unwrap();
    assert_eq!(
        String::from_utf8(canonicalize(&v).unwrap()).unwrap(),
        expected
    );
}

/// RFC 8785 section 3.2.3: property names sorted by UTF-16 code units (the emoji, a surrogate
/// pair starting 0xD83D, sorts before U+FB33 although its code point is larger).
#[test]
fn rfc8785_sorting_example() {
    let input = r#"{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"#;
    let v = parse_strict(input.as_bytes()).unwrap();
    let canonical = String::from_utf8(canonicalize(&v).unwrap()).unwrap();
    let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
                    \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
                    \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(canonical, expected);
}

/// RFC 8785 appendix B: IEEE 754 doubles and their canonical text.
#[test]
fn rfc8785_number_table() {
    let table: &[(u64, &str)] = &[
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"),
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0xc340000000000000, "-9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44b52d02c7e14af5, "9.999999999999997e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
        (0x444b1ae4d6e2ef4e, "999999999999999700000"),
        (0x444b1ae4d6e2ef4f, "999999999999999900000"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x41b3de4355555553, "333333333.3333332"),
        (0x41b3de4355555554, "333333333.33333325"),
        (0x41b3de4355555555, "333333333.3333333"),
        (0x41b3de4355555556, "333333333.3333334"),
        (0x41b3de4355555557, "333333333.33333343"),
        (0xbecbf647612f3696, "-0.0000033333333333333333"),
        (0x43143ff3c1cb0959, "1424953923781206.2"),
    ];
    for (bits, want) in table {
        let v = json!([f64::from_bits(*bits)]);
        let got = String::from_utf8(canonicalize(&v).unwrap()).unwrap();
        assert_eq!(got, format!("[{want}]"), "IEEE {bits:016x}");
    }
}

/// The README's way for an auditor without ringcoach (Python's standard library and
/// openssl) verifies the W3C vector: it is the standard algorithm, not ringcoach's reading.
#[test]
fn the_standalone_check_accepts_the_w3c_vector() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check-certificate");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cert_fixtures/w3c-eddsa-jcs-2022/signedJCS.json");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(&fixture)
        .output()
        .expect("python3 is installed by scripts/test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("signature:          GOOD"), "{stdout}");
    // The vector's own intermediate values.
    let doc_hash = fixture_text("docHashJCS.txt");
    assert!(stdout.contains(doc_hash.trim()), "{stdout}");
}

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/cert_fixtures/w3c-eddsa-jcs-2022")
            .join(name),
    )
    .unwrap()
}
