//! A realistic certificate record for the certificate tests and the bench: a five-call suite
//! from the seed's telephone rules, one trainer overrule, real WAV files as evidence.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ringcoach::cert::evidence::{audio_path, transcript_path};
use ringcoach::cert::{
    evaluate, CallRecord, Candidate, CertificateRecord, CheckRecord, IssuerCard, IssuerRef,
    ModelRef, Overrule, PassRules, RubricHash, Sitting, Software, SuiteRef, TurnRecord,
};
use ringcoach::grading::Verdict;
use ringcoach::store::Timestamp;
use sha2::{Digest, Sha256};

pub const PASS: &[u8] = b"correct horse battery staple";

pub fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn rules() -> PassRules {
    PassRules {
        total_calls: 5,
        call_mark: 85,
        overall_mark: 85,
        calls_required: 4,
        critical: vec!["banned_phrase:*".into()],
    }
}

const TRANSCRIPTS: [&str; 5] = [
    "您好，广利物业，很高兴为您服务。",
    "您好，广利物业，请问有什么可以帮您？",
    "您好，广利物业客服中心，请讲。",
    "您好，广利物业，请稍等，我帮您查一下。谢谢您的耐心。",
    "您好，广利物业，感谢您的来电，再见。",
];

/// A WAV of `seconds` of a quiet tone, mono 16-bit at `rate` Hz, different per `seed`.
pub fn write_wav(path: &Path, seconds: f32, rate: u32, seed: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let f = 200.0 + 37.0 * seed as f32;
    let samples: Vec<f32> = (0..(seconds * rate as f32) as usize)
        .map(|i| (i as f32 * f * std::f32::consts::TAU / rate as f32).sin() * 0.1)
        .collect();
    ringcoach::audio::wav::write_wav_mono_i16(path, &samples, rate).unwrap();
}

fn sha256_file(path: &Path) -> String {
    hex(&Sha256::digest(std::fs::read(path).unwrap()))
}

/// Recordings of the five calls (one turn each, 16 kHz) under `dir/store/`, named as a store
/// might; returns a function from (call, turn) to the recording.
pub fn make_recordings(dir: &Path, seconds: f32) -> impl Fn(u32, u32) -> PathBuf + Clone {
    make_recordings_at(dir, seconds, 16_000)
}

pub fn make_recordings_at(
    dir: &Path,
    seconds: f32,
    rate: u32,
) -> impl Fn(u32, u32) -> PathBuf + Clone {
    let root = dir.join("store");
    for call in 1..=5u32 {
        write_wav(
            &root.join(format!("attempt-{call}.wav")),
            seconds,
            rate,
            call,
        );
    }
    move |call, _turn| root.join(format!("attempt-{call}.wav"))
}

/// The record of a five-call sitting with the given per-call scores; recordings come from
/// `recording`. Call 2's organisation check was uncertain and a trainer settled it as pass.
/// `wei_in_call` puts a banned 喂 (critical) in that call.
pub fn record(
    card: &IssuerCard,
    scores: [u32; 5],
    wei_in_call: Option<u32>,
    recording: &dyn Fn(u32, u32) -> PathBuf,
) -> CertificateRecord {
    let rules = rules();
    let mut calls = Vec::new();
    for (i, score) in scores.iter().enumerate() {
        let index = i as u32 + 1;
        let wei = wei_in_call == Some(index);
        let mut checks = vec![
            CheckRecord {
                id: "opening:greeting".into(),
                category: "opening".into(),
                critical: false,
                weight: 2.0,
                machine: Verdict::Pass,
                final_verdict: Verdict::Pass,
            },
            CheckRecord {
                id: "opening:organisation".into(),
                category: "opening".into(),
                critical: false,
                weight: 2.0,
                machine: if index == 2 {
                    Verdict::Uncertain
                } else {
                    Verdict::Pass
                },
                final_verdict: Verdict::Pass,
            },
            CheckRecord {
                id: "pickup:rings".into(),
                category: "pickup".into(),
                critical: false,
                weight: 1.0,
                machine: Verdict::Pass,
                final_verdict: Verdict::Pass,
            },
            CheckRecord {
                id: "banned_phrase:wei".into(),
                category: "banned_phrase".into(),
                critical: false,
                weight: 1.0,
                machine: if wei { Verdict::Fail } else { Verdict::Pass },
                final_verdict: if wei { Verdict::Fail } else { Verdict::Pass },
            },
        ];
        if *score < 100 {
            checks.push(CheckRecord {
                id: "politeness:thanks".into(),
                category: "politeness".into(),
                critical: false,
                weight: 0.5,
                machine: Verdict::Fail,
                final_verdict: Verdict::Fail,
            });
        }
        let overrules = if index == 2 {
            vec![Overrule {
                item: "opening:organisation".into(),
                from: Verdict::Uncertain,
                to: Verdict::Pass,
                trainer: "王老师".into(),
                time: t("2026-11-27T10:30:00Z"),
                note: "录音里清楚说了广利物业，识别成了广立".into(),
            }]
        } else {
            Vec::new()
        };
        let audio = sha256_file(&recording(index, 1));
        calls.push(CallRecord {
            index,
            scenario: format!("answer-call-{index}"),
            organisation: "广利物业".into(),
            rings: Some(2),
            pickup_ms: Some(6_500),
            turns: vec![TurnRecord::new(TRANSCRIPTS[i], &audio)],
            checks,
            overrules,
            score: *score,
            passed: false,
            attempts: 1,
        });
    }
    let outcome = evaluate(&rules, &calls);
    for (c, o) in calls.iter_mut().zip(&outcome.calls) {
        c.passed = o.passed;
    }
    CertificateRecord {
        format: 1,
        candidate: Candidate {
            name: "刘芳".into(),
            employee_id: Some("GL-0042".into()),
        },
        issuer: IssuerRef::from_card(card),
        suite: SuiteRef {
            id: "property-hotline".into(),
            version: "1".into(),
            sha256: hex(&Sha256::digest(b"suite")),
            title_zh: "物业热线接听认证".into(),
            title_en: "Property hotline answering".into(),
        },
        rubrics: (1..=5)
            .map(|i| RubricHash {
                scenario: format!("answer-call-{i}"),
                sha256: hex(&Sha256::digest(format!("rubric {i}"))),
            })
            .collect(),
        rules,
        sitting: Sitting {
            id: "20261127T090000.000000Z-1a2b3c4d".into(),
            started: t("2026-11-27T09:00:00Z"),
            ended: t("2026-11-27T09:20:00Z"),
            seal_sha256: Some(hex(&Sha256::digest(b"seal"))),
        },
        software: Software {
            ringcoach: env!("CARGO_PKG_VERSION").into(),
            model: ModelRef {
                name: "ggml-base.bin".into(),
                sha256: hex(&Sha256::digest(b"model")),
            },
        },
        result: outcome.stated(),
        calls,
        supersedes: None,
    }
}

/// Where `export_evidence` puts a turn's files.
pub fn evidence_files(dir: &Path, call: u32, turn: u32) -> (PathBuf, PathBuf) {
    (
        dir.join(audio_path(call, turn)),
        dir.join(transcript_path(call, turn)),
    )
}
