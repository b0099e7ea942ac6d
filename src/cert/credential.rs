//! The certificate as typed data: a W3C Verifiable Credential 2.0 / Open Badges 3.0
//! `OpenBadgeCredential` whose achievement is a `Certification`, carrying the whole
//! ringcoach record under `ringcoach:certificate` (see the module comment of [`crate::cert`]).
//!
//! The Open Badges fields (names, description, criteria, results) are a pure function of the
//! record, the certificate id and the issue time ([`Credential::new`]); a verifier rebuilds
//! them and refuses a certificate whose standard fields say something the record does not.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use ssh_key::rand_core::{OsRng, RngCore};

use super::keyring::IssuerCard;
use super::multikey::{did_key, parse_public_key_multibase};
use super::{sha256_hex, CertError};
use crate::grading::Verdict;
use crate::store::Timestamp;

pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
pub const OB_CONTEXT: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
/// The IRI prefix of ringcoach terms.
pub const VOCAB: &str = "urn:ringcoach:vocab#";
/// The property that holds the [`CertificateRecord`].
pub const RECORD_PROPERTY: &str = "ringcoach:certificate";
/// The record format this ringcoach writes and reads.
pub const FORMAT: u32 = 1;

/// The inline extension context: declares the `ringcoach:` prefix and makes
/// `ringcoach:certificate` an opaque JSON literal (`@json`).
pub fn extension_context() -> Value {
    json!({
        "ringcoach": VOCAB,
        RECORD_PROPERTY: {"@id": format!("{VOCAB}certificate"), "@type": "@json"}
    })
}

/// A fresh certificate id, `urn:uuid:` + a random (version 4) UUID.
pub fn new_certificate_id() -> String {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = super::hex(&b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The ringcoach record: everything issue #10 asks a certificate to hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateRecord {
    /// [`FORMAT`].
    pub format: u32,
    pub candidate: Candidate,
    pub issuer: IssuerRef,
    pub suite: SuiteRef,
    /// SHA-256 of every rubric the suite's calls were graded with.
    pub rubrics: Vec<RubricHash>,
    pub rules: PassRules,
    pub sitting: Sitting,
    pub software: Software,
    /// In the suite's order, `index` 1, 2, …
    pub calls: Vec<CallRecord>,
    /// What the issuer states; [`evaluate`] must agree.
    pub result: StatedResult,
    /// The id of the certificate this one replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerRef {
    pub name: String,
    /// The signing key as a Multikey (`z6Mk…`).
    pub public_key_multibase: String,
    /// Its OpenSSH fingerprint.
    pub fingerprint: String,
}

impl IssuerRef {
    pub fn from_card(card: &IssuerCard) -> IssuerRef {
        IssuerRef {
            name: card.issuer.clone(),
            public_key_multibase: card.public_key_multibase.clone(),
            fingerprint: card.fingerprint.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteRef {
    pub id: String,
    pub version: String,
    /// Covers the suite file and every rubric and phrase book it uses.
    pub sha256: String,
    pub title_zh: String,
    pub title_en: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RubricHash {
    pub scenario: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sitting {
    pub id: String,
    pub started: Timestamp,
    pub ended: Timestamp,
    /// SHA-256 of the sealed sitting record, when the sitting was sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Software {
    /// The ringcoach version that graded the sitting.
    pub ringcoach: String,
    pub model: ModelRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRef {
    pub name: String,
    pub sha256: String,
}

/// The suite's pass rules, as the certificate states them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassRules {
    /// How many calls the suite has.
    pub total_calls: u32,
    /// The score a call needs to pass (0–100).
    pub call_mark: u32,
    /// The overall score (mean of all calls, a call not taken counting 0) the certificate needs.
    pub overall_mark: u32,
    /// How many calls must pass.
    pub calls_required: u32,
    /// Check ids, or `prefix*` patterns (`banned_phrase:*`), whose failure fails the call and
    /// the certificate, besides the checks the rubrics mark critical.
    pub critical: Vec<String>,
}

impl PassRules {
    /// Whether a failed `check` fails the certificate.
    pub fn is_critical(&self, check: &CheckRecord) -> bool {
        check.critical || matches_critical(&self.critical, &check.id)
    }

    /// What is impossible about the rules themselves.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.total_calls == 0 {
            out.push("the rules count no calls".to_string());
        }
        if self.calls_required > self.total_calls {
            out.push(format!(
                "the rules require {} calls passed of {}",
                self.calls_required, self.total_calls
            ));
        }
        if self.call_mark > 100 || self.overall_mark > 100 {
            out.push("a pass mark above 100".to_string());
        }
        out
    }
}

/// Whether check `id` matches one of `patterns` (a check id, or `prefix*`).
pub fn matches_critical(patterns: &[String], id: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => id == p,
    })
}

/// One call of the sitting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallRecord {
    /// 1-based position in the suite.
    pub index: u32,
    pub scenario: String,
    pub organisation: String,
    /// Rings before pickup, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rings: Option<u32>,
    /// Milliseconds from the first ring to pickup, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_ms: Option<u64>,
    pub turns: Vec<TurnRecord>,
    pub checks: Vec<CheckRecord>,
    /// The trainer's decisions, in the order they were made.
    pub overrules: Vec<Overrule>,
    /// The call's score (0–100) from the final verdicts, as the grader computed it.
    pub score: u32,
    pub passed: bool,
    /// Always 1: a certification call is taken once.
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnRecord {
    pub transcript: String,
    /// SHA-256 of `transcript` in UTF-8, the bytes of the evidence file `callN/turnM.txt`.
    pub transcript_sha256: String,
    /// SHA-256 of the recording, the bytes of `callN/turnM.wav`.
    pub audio_sha256: String,
}

impl TurnRecord {
    pub fn new(transcript: &str, audio_sha256: &str) -> TurnRecord {
        TurnRecord {
            transcript: transcript.into(),
            transcript_sha256: sha256_hex(transcript.as_bytes()),
            audio_sha256: audio_sha256.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRecord {
    pub id: String,
    pub category: String,
    /// The rubric marked it critical.
    pub critical: bool,
    pub weight: f64,
    /// What the grader said.
    pub machine: Verdict,
    /// After the trainer's overrules; never `uncertain` in a certificate.
    #[serde(rename = "final")]
    pub final_verdict: Verdict,
}

/// A trainer's decision on one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrule {
    /// The check id.
    pub item: String,
    pub from: Verdict,
    pub to: Verdict,
    pub trainer: String,
    pub time: Timestamp,
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResultStatus {
    Passed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatedResult {
    /// Overall score 0–100.
    pub score: u32,
    pub calls_passed: u32,
    pub status: ResultStatus,
}

/// The Open Badges issuer profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `did:key` of the signing key.
    pub id: String,
    #[serde(rename = "type")]
    pub types: Vec<String>,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentityObject {
    #[serde(rename = "type")]
    pub kind: String,
    pub hashed: bool,
    pub identity_hash: String,
    pub identity_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criteria {
    pub narrative: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultDescription {
    pub id: String,
    #[serde(rename = "type")]
    pub types: Vec<String>,
    pub name: String,
    pub result_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_max: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Achievement {
    pub id: String,
    #[serde(rename = "type")]
    pub types: Vec<String>,
    pub achievement_type: String,
    pub name: String,
    pub description: String,
    pub version: String,
    pub criteria: Criteria,
    pub result_description: Vec<ResultDescription>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObResult {
    #[serde(rename = "type")]
    pub types: Vec<String>,
    pub result_description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AchievementSubject {
    #[serde(rename = "type")]
    pub types: Vec<String>,
    pub identifier: Vec<IdentityObject>,
    pub achievement: Achievement,
    pub result: Vec<ObResult>,
}

/// The whole certificate. `proof` is None until signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Credential {
    #[serde(rename = "@context")]
    pub context: Vec<Value>,
    pub id: String,
    #[serde(rename = "type")]
    pub types: Vec<String>,
    pub name: String,
    pub description: String,
    pub issuer: Profile,
    pub valid_from: Timestamp,
    pub credential_subject: AchievementSubject,
    #[serde(rename = "ringcoach:certificate")]
    pub record: CertificateRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Value>,
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Percent-encodes what may not appear in a URN's specific part.
fn urn_part(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Credential {
    /// The unsigned credential for `record`, with id `id` (see [`new_certificate_id`]),
    /// issued at `issued`.
    pub fn new(record: CertificateRecord, id: String, issued: Timestamp) -> Credential {
        let r = &record;
        let achievement_id = format!(
            "urn:ringcoach:suite:{}:{}",
            urn_part(&r.suite.id),
            urn_part(&r.suite.version)
        );
        let title = format!("{} / {}", r.suite.title_zh, r.suite.title_en);
        let rules = &r.rules;
        let critical = if rules.critical.is_empty() {
            "only checks the rubrics mark critical".to_string()
        } else {
            format!(
                "{} and the checks the rubrics mark critical",
                rules.critical.join(", ")
            )
        };
        let narrative = format!(
            "Take the {} calls of suite {} version {} once each, without retries. A call passes \
             with a score of at least {} and no critical check failed. The certificate needs at \
             least {} calls passed, an overall score (the mean of the calls) of at least {}, and \
             no critical check failed anywhere. Critical checks: {}. Uncertain checks are \
             settled by a trainer before the certificate is issued.",
            rules.total_calls,
            r.suite.id,
            r.suite.version,
            rules.call_mark,
            rules.calls_required,
            rules.overall_mark,
            critical
        );
        let mut descriptions = vec![
            ResultDescription {
                id: format!("{achievement_id}#score"),
                types: strs(&["ResultDescription"]),
                name: "Overall score / 总分".into(),
                result_type: "Percent".into(),
                required_value: Some(rules.overall_mark.to_string()),
                value_min: Some("0".into()),
                value_max: Some("100".into()),
            },
            ResultDescription {
                id: format!("{achievement_id}#status"),
                types: strs(&["ResultDescription"]),
                name: "Result / 结果".into(),
                result_type: "Status".into(),
                required_value: None,
                value_min: None,
                value_max: None,
            },
        ];
        let mut results = vec![
            ObResult {
                types: strs(&["Result"]),
                result_description: format!("{achievement_id}#score"),
                value: Some(r.result.score.to_string()),
                status: None,
            },
            ObResult {
                types: strs(&["Result"]),
                result_description: format!("{achievement_id}#status"),
                value: None,
                status: Some(
                    match r.result.status {
                        ResultStatus::Passed => "Completed",
                        ResultStatus::Failed => "Failed",
                    }
                    .into(),
                ),
            },
        ];
        for c in &r.calls {
            let rd = format!("{achievement_id}#call{}", c.index);
            descriptions.push(ResultDescription {
                id: rd.clone(),
                types: strs(&["ResultDescription"]),
                name: format!("Call {} / 第{}通: {}", c.index, c.index, c.scenario),
                result_type: "Percent".into(),
                required_value: Some(rules.call_mark.to_string()),
                value_min: Some("0".into()),
                value_max: Some("100".into()),
            });
            results.push(ObResult {
                types: strs(&["Result"]),
                result_description: rd,
                value: Some(c.score.to_string()),
                status: None,
            });
        }
        let mut identifier = vec![IdentityObject {
            kind: "IdentityObject".into(),
            hashed: false,
            identity_hash: r.candidate.name.clone(),
            identity_type: "name".into(),
        }];
        if let Some(e) = &r.candidate.employee_id {
            identifier.push(IdentityObject {
                kind: "IdentityObject".into(),
                hashed: false,
                identity_hash: e.clone(),
                identity_type: "ext:employeeId".into(),
            });
        }
        let status = match r.result.status {
            ResultStatus::Passed => "Passed",
            ResultStatus::Failed => "Failed",
        };
        let issuer_id = parse_public_key_multibase(&r.issuer.public_key_multibase)
            .map(|k| did_key(&k))
            .unwrap_or_else(|_| format!("did:key:{}", r.issuer.public_key_multibase));
        Credential {
            context: vec![VC_CONTEXT.into(), OB_CONTEXT.into(), extension_context()],
            id,
            types: strs(&["VerifiableCredential", "OpenBadgeCredential"]),
            name: format!("{title} — {status}"),
            description: format!(
                "{} took the phone-etiquette certification check {} (version {}) from {} to {}: \
                 {status}, overall score {}/100, {} of {} calls passed.",
                r.candidate.name,
                r.suite.id,
                r.suite.version,
                r.sitting.started,
                r.sitting.ended,
                r.result.score,
                r.result.calls_passed,
                rules.total_calls
            ),
            issuer: Profile {
                id: issuer_id,
                types: strs(&["Profile"]),
                name: r.issuer.name.clone(),
            },
            valid_from: issued,
            credential_subject: AchievementSubject {
                types: strs(&["AchievementSubject"]),
                identifier,
                achievement: Achievement {
                    id: achievement_id,
                    types: strs(&["Achievement"]),
                    achievement_type: "Certification".into(),
                    name: title,
                    description: format!(
                        "Answering the telephone to the standard: opening, pickup within the \
                         rings allowed, politeness words, no banned phrases, closing, manner. \
                         Suite {} version {}, SHA-256 {}.",
                        r.suite.id, r.suite.version, r.suite.sha256
                    ),
                    version: r.suite.version.clone(),
                    criteria: Criteria { narrative },
                    result_description: descriptions,
                },
                result: results,
            },
            record,
            proof: None,
        }
    }

    pub fn to_value(&self) -> Result<Value, CertError> {
        serde_json::to_value(self).map_err(|e| CertError::Invalid(format!("cannot serialise: {e}")))
    }

    /// Reads a certificate from its JSON value. The record format is checked first, so a
    /// certificate from a newer ringcoach says so instead of naming an unknown field.
    pub fn from_value(value: &Value) -> Result<Credential, String> {
        let format = value
            .get(RECORD_PROPERTY)
            .and_then(|r| r.get("format"))
            .and_then(Value::as_u64)
            .ok_or_else(|| {
                format!("it has no {RECORD_PROPERTY}.format: not a ringcoach certificate")
            })?;
        if format != u64::from(FORMAT) {
            return Err(format!(
                "record format {format}: this ringcoach reads format {FORMAT}; use a newer ringcoach"
            ));
        }
        serde_json::from_value(value.clone())
            .map_err(|e| format!("not a ringcoach certificate: {e}"))
    }

    /// Where the standard fields disagree with what [`Credential::new`] makes of the record:
    /// None when they agree.
    pub fn derived_mismatch(&self) -> Option<String> {
        let expected = Credential {
            proof: self.proof.clone(),
            ..Credential::new(self.record.clone(), self.id.clone(), self.valid_from)
        };
        if &expected == self {
            return None;
        }
        let (a, b) = (expected.to_value().ok()?, self.to_value().ok()?);
        let field = match (a, b) {
            (Value::Object(a), Value::Object(b)) => a
                .iter()
                .find(|(k, v)| b.get(*k) != Some(v))
                .map(|(k, _)| k.clone())
                .unwrap_or_else(|| "a field".into()),
            _ => "the document".into(),
        };
        Some(format!(
            "its {field} does not say what its {RECORD_PROPERTY} record says"
        ))
    }
}
