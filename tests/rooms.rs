//! A voice at arm's length from a desk microphone: every scenario's opening spoken in a
//! room (`compose.py --room-ms`), quiet and noisy, heard by the real model and asked about
//! the words that decide the opening; and the real speakers of ../shared/audio/real. A
//! correct greeting, organisation or offer of help must never fail (pass or uncertain), and
//! the report says when the audio was the problem. The whole grid of rooms, gains, noise
//! and both speakers for every scenario is `scripts/calibrate-verify --rooms`, run by hand;
//! here answer-call gets every corner and each other scenario one of them in turn.

mod support;

use ringcoach::grading::{Org, Pickup, Verdict};
use ringcoach::scenario::{phrases, Catalog, ORG_PLACEHOLDER};
use support::speech::*;

/// (room decay ms, gain dB, SNR dB): near the two ends and the middle of the range the
/// product must survive (rooms 200–500 ms, gains 0 to −20 dB, SNR 15–30 dB).
const ROOMS: &[(u32, i32, u32)] = &[(200, 0, 30), (350, -10, 20), (500, -20, 15)];

#[test]
fn a_correct_opening_in_a_room_never_fails() {
    let _lock = model_lock();
    let catalog = Catalog::builtin().unwrap();
    let org = Org::resolve(None, &catalog.org).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut t = transcriber();
    let mut failed = Vec::new();
    let mut uncertain = 0;
    let mut graded = 0;
    let mut cut_off: Vec<String> = Vec::new();
    for sc in &catalog.scenarios {
        let r = &sc.rubric;
        if !(r.greeting || r.organisation || r.offer_help) {
            continue;
        }
        let answer = &sc.model_answers.get_ref()[0];
        let line = phrases(&answer.turns).next().unwrap();
        let line = speakable(&line.replace(ORG_PLACEHOLDER, &org.name));
        let corners: Vec<(&str, (u32, i32, u32))> = if sc.id() == "answer-call" {
            ["mixed", "syllables"]
                .into_iter()
                .flat_map(|s| ROOMS.iter().map(move |&r| (s, r)))
                .collect()
        } else {
            let k = graded;
            vec![(["mixed", "syllables"][k % 2], ROOMS[k % ROOMS.len()])]
        };
        for (speaker, (room, gain, snr)) in corners {
            {
                let wav = compose(
                    dir.path(),
                    "room.wav",
                    &line,
                    &[
                        "--speaker",
                        speaker,
                        "--room-ms",
                        &room.to_string(),
                        "--gain-db",
                        &gain.to_string(),
                        "--snr-db",
                        &snr.to_string(),
                    ],
                );
                // Every corner gets a report: the farthest, quietest, noisiest one once
                // decoded away (a step bound of 15 per second of "speech" that the noise
                // inflates) and got none; a decode that runs away is heard again held back
                // from repeating, and its report says the text may not be what was said.
                let report = hear_call(&mut t, sc, &catalog, &org, &[wav], Pickup::Rings(1));
                if let Some(cut) = report.checks.iter().find(|c| c.id == "cut_off") {
                    assert_eq!(cut.verdict, Verdict::Uncertain, "{:?}", cut.message);
                    println!(
                        "{:16} {speaker:9} room {room} gain {gain:3} snr {snr}: cut off: {}",
                        sc.id(),
                        cut.message.en
                    );
                    cut_off.push(format!(
                        "{} {speaker} room {room} gain {gain} snr {snr}",
                        sc.id()
                    ));
                    // What the rest may hold is not taken as unsaid: no banned phrase
                    // passes on a transcript cut off or run away.
                    for c in report
                        .checks
                        .iter()
                        .filter(|c| c.category == "banned_phrase")
                    {
                        assert_ne!(c.verdict, Verdict::Pass, "{}: {:?}", c.id, c.message);
                    }
                }
                graded += 1;
                let audio = report.checks.iter().find(|c| c.id == "audio");
                for id in ["greeting", "organisation", "offer_help"] {
                    let Some(c) = report.checks.iter().find(|c| c.id == id) else {
                        continue;
                    };
                    println!(
                        "{:16} {speaker:9} room {room} gain {gain:3} snr {snr}: {:9} {id:12} | {} | {}",
                        sc.id(),
                        c.verdict.to_string(),
                        report.transcript,
                        audio.map_or("", |a| a.message.en.as_str())
                    );
                    match c.verdict {
                        Verdict::Fail => failed.push(format!(
                            "{} {speaker} room {room} gain {gain} snr {snr}: {id} on {:?}: {}",
                            sc.id(),
                            report.transcript,
                            c.message.en
                        )),
                        Verdict::Uncertain => uncertain += 1,
                        _ => {}
                    }
                }
            }
        }
    }
    println!(
        "{graded} openings in rooms: {} failed, {uncertain} uncertain opening checks; cut off or run away: {cut_off:?}",
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "a correct opening failed:\n{}",
        failed.join("\n")
    );
}

/// The real speakers' clean recordings are not called poor: the finding about the
/// recording is for rooms and quiet microphones, not for every voice that is not the
/// test voices'.
#[test]
fn real_speakers_close_to_the_microphone_are_not_called_poor_recordings() {
    let _lock = model_lock();
    let catalog = Catalog::builtin().unwrap();
    let org = Org::resolve(None, &catalog.org).unwrap();
    let sc = catalog.get("answer-call").unwrap();
    let mut t = transcriber();
    let mut flagged = Vec::new();
    for (path, reference) in real_references() {
        let report = hear_call(
            &mut t,
            sc,
            &catalog,
            &org,
            std::slice::from_ref(&path),
            Pickup::Rings(1),
        );
        let audio = report
            .checks
            .iter()
            .find(|c| c.id == "audio")
            .expect("a graded recording has the audio check");
        println!(
            "{}: {} {} | ref {reference} | heard {}",
            path.file_name().unwrap().to_string_lossy(),
            audio.verdict,
            audio.message.en,
            report.transcript
        );
        if audio.verdict != Verdict::Pass {
            flagged.push(format!("{}: {}", path.display(), audio.message.en));
        }
    }
    assert!(
        flagged.is_empty(),
        "clean recordings called poor:\n{}",
        flagged.join("\n")
    );
}
