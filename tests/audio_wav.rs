//! WAV reading and signal facts on real recordings (no model needed): the other-speaker
//! clips, and etiquette lines composed with a known leading silence, clean and in noise.

mod support;

use ringcoach::audio::{facts, wav};
use support::speech::*;

#[test]
fn the_reference_recordings_read_and_have_speech() {
    let refs = real_references();
    assert!(!refs.is_empty());
    for (path, _) in refs {
        let pcm = wav::read_wav(&path).unwrap();
        let samples = pcm.to_16k().unwrap();
        let f = facts::measure(&samples);
        println!("{}: {:?}", path.display(), f);
        assert!(f.duration_ms > 1000, "{f:?}");
        let first = f.first_words_ms.expect("speech found");
        assert!(first < f.duration_ms);
        assert!(
            f.speaking_ms > 1000 && f.speaking_ms <= f.duration_ms,
            "{f:?}"
        );
        assert!(f.loudness_dbfs > -50.0 && f.loudness_dbfs < 0.0, "{f:?}");
        assert!(f.peak_dbfs >= f.loudness_dbfs);
    }
}

#[test]
fn a_known_leading_silence_is_measured_clean_and_in_noise() {
    let dir = tempfile::tempdir().unwrap();
    for (lead, extra) in [
        (500u64, vec![]),
        (2000, vec![]),
        (2000, vec!["--snr-db", "20"]),
    ] {
        let lead_s = lead.to_string();
        let mut args = vec!["--lead-ms", lead_s.as_str()];
        args.extend(extra.iter().copied());
        let p = compose(dir.path(), "lead.wav", "您好,广利物业。", &args);
        let f = facts::measure(&wav::read_wav(&p).unwrap().samples);
        let first = f.first_words_ms.unwrap();
        println!("lead {lead} ms {extra:?}: {f:?}");
        // Onsets of real voices are soft; 100 ms either side is still "within 3 s".
        assert!(
            first.abs_diff(lead) <= 100,
            "lead {lead} {extra:?}: first words at {first}"
        );
        assert!(f.speaking_ms > 800, "{f:?}");
    }
}

#[test]
fn a_quiet_reply_measures_quieter_by_the_gain() {
    let dir = tempfile::tempdir().unwrap();
    let loud = compose(dir.path(), "loud.wav", "请稍等。", &[]);
    let quiet = compose(dir.path(), "quiet.wav", "请稍等。", &["--gain-db", "-20"]);
    let a = facts::measure(&wav::read_wav(&loud).unwrap().samples);
    let b = facts::measure(&wav::read_wav(&quiet).unwrap().samples);
    let drop = a.loudness_dbfs - b.loudness_dbfs;
    assert!((17.0..=23.0).contains(&drop), "{a:?} vs {b:?}");
    assert_eq!(a.first_words_ms.is_some(), b.first_words_ms.is_some());
}
