//! The manner of speaking, from the audio facts of each turn: first words soon after pickup,
//! a moderate speech rate, loud enough, not clipped. Without audio (grading a typed or
//! transcribed text) each is not applicable.

use super::{msg, Ctx};
use crate::audio::facts::AudioFacts;
use crate::audio::quality::Trouble;
use crate::grading::report::Verdict;

/// Characters per minute of voiced time over `(characters, voiced ms)` per turn; None when
/// nothing was voiced or said. The speech-rate check and every screen that shows a rate use
/// this, so the number on screen is the number that was graded.
pub fn speech_rate_cpm(turns: impl IntoIterator<Item = (usize, u64)>) -> Option<f64> {
    let (chars, ms) = turns
        .into_iter()
        .fold((0usize, 0u64), |(c, m), (tc, tm)| (c + tc, m + tm));
    (chars > 0 && ms > 0).then(|| chars as f64 * 60_000.0 / ms as f64)
}

pub fn manner_checks(cx: &mut Ctx) {
    let s = cx.book.settings.clone();
    let w = cx.book.weights.clone();
    let na = || {
        msg(
            "没有录音数据(仅文字评分)",
            "no audio facts (graded from text)",
        )
    };
    let with_facts: Vec<(usize, AudioFacts)> = cx
        .turns
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.facts.clone().map(|f| (i, f)))
        .collect();

    match &cx.turns[0].facts {
        None => cx.push(
            "first_words",
            "first_words",
            Verdict::NotApplicable,
            w.first_words,
            false,
            vec![],
            na(),
        ),
        Some(f) => {
            let (v, m) = match f.first_words_ms {
                Some(ms) if ms <= s.first_words_max_ms => (
                    Verdict::Pass,
                    msg(
                        format!("接起后{:.1}秒开口", ms as f64 / 1000.0),
                        format!("first words {:.1} s after pickup", ms as f64 / 1000.0),
                    ),
                ),
                Some(ms) => (
                    Verdict::Fail,
                    msg(
                        format!(
                            "接起后{:.1}秒才开口,应在{:.0}秒内",
                            ms as f64 / 1000.0,
                            s.first_words_max_ms as f64 / 1000.0
                        ),
                        format!(
                            "first words only {:.1} s after pickup; speak within {:.0} s",
                            ms as f64 / 1000.0,
                            s.first_words_max_ms as f64 / 1000.0
                        ),
                    ),
                ),
                None => (
                    Verdict::Fail,
                    msg("接起后没有说话", "nothing was said after pickup"),
                ),
            };
            cx.push(
                "first_words",
                "first_words",
                v,
                w.first_words,
                false,
                vec![],
                m,
            );
        }
    }

    let rate = speech_rate_cpm(
        with_facts
            .iter()
            .map(|(i, f)| (cx.turns[*i].text.len(), f.speaking_ms)),
    );
    if let Some(cpm) = rate {
        let (lo, hi) = (s.rate_min_cpm, s.rate_max_cpm);
        let (v, zh, en) = if cpm < lo {
            (Verdict::Fail, "语速偏慢", "too slow")
        } else if cpm > hi {
            (Verdict::Fail, "语速偏快,避免连珠炮式说话", "too fast")
        } else {
            (Verdict::Pass, "语速适中", "moderate speed")
        };
        cx.push(
            "speech_rate",
            "speech_rate",
            v,
            w.speech_rate,
            false,
            vec![],
            msg(
                format!("{zh}:每分钟{cpm:.0}字(适中范围{lo:.0}–{hi:.0})"),
                format!("{en}: {cpm:.0} chars/min of speech (band {lo:.0}–{hi:.0})"),
            ),
        );
    } else {
        cx.push(
            "speech_rate",
            "speech_rate",
            Verdict::NotApplicable,
            w.speech_rate,
            false,
            vec![],
            na(),
        );
    }

    let speaking: u64 = with_facts.iter().map(|(_, f)| f.speaking_ms).sum();
    if with_facts.is_empty() || speaking == 0 {
        cx.push(
            "loudness",
            "loudness",
            Verdict::NotApplicable,
            w.loudness,
            false,
            vec![],
            na(),
        );
    } else {
        let quietest = with_facts
            .iter()
            .filter(|(_, f)| f.speaking_ms > 0)
            .map(|(_, f)| f.loudness_dbfs)
            .fold(f32::INFINITY, f32::min);
        let (v, zh, en) = if quietest < s.min_loudness_dbfs {
            (Verdict::Fail, "音量过低", "too quiet")
        } else {
            (Verdict::Pass, "音量适中", "loud enough")
        };
        cx.push(
            "loudness",
            "loudness",
            v,
            w.loudness,
            false,
            vec![],
            msg(
                format!("{zh}:{quietest:.1} dBFS(下限{:.0})", s.min_loudness_dbfs),
                format!(
                    "{en}: {quietest:.1} dBFS (minimum {:.0})",
                    s.min_loudness_dbfs
                ),
            ),
        );
    }

    if with_facts.is_empty() {
        cx.push(
            "clipping",
            "clipping",
            Verdict::NotApplicable,
            w.clipping,
            false,
            vec![],
            na(),
        );
    } else {
        let worst = with_facts
            .iter()
            .map(|(_, f)| f.clipped_fraction)
            .fold(0.0f32, f32::max);
        let (v, zh, en) = if worst > s.max_clipped_fraction {
            (
                Verdict::Fail,
                "声音过大失真(削波),请离话筒远一点",
                "clipped: too loud or too close to the microphone",
            )
        } else {
            (Verdict::Pass, "无削波失真", "no clipping")
        };
        cx.push(
            "clipping",
            "clipping",
            v,
            w.clipping,
            false,
            vec![],
            msg(
                format!("{zh}({:.2}%)", worst * 100.0),
                format!("{en} ({:.2}%)", worst * 100.0),
            ),
        );
    }
}

/// The recording's own quality, per turn with audio: too quiet, too noisy, too far from
/// the microphone (echoes) for the recogniser to be trusted (see [`Trouble::of_turn`]) — outright, or where the
/// audio is marginal and the recogniser was unsure of what it heard. A finding with
/// advice (move closer, raise the input gain, a quieter place), weighing nothing: the
/// trainee's manner is graded by its own checks. Returns the turns whose recording was
/// the problem; the phrase checks resting on them are then `uncertain`, never `fail`.
/// Voiced time below which a turn the model heard nothing in counts as nothing said (a
/// syllable lasts 150–300 ms; room hiss in silence voices for tens of milliseconds).
const MIN_MISSED_REPLY_MS: u64 = 300;

pub fn audio_check(cx: &mut Ctx) -> Vec<usize> {
    let mut bad = Vec::new();
    let mut notes_zh = Vec::new();
    let mut notes_en = Vec::new();
    let mut any_facts = false;
    let multi = cx.turns.len() > 1;
    for (i, t) in cx.turns.iter().enumerate() {
        let Some(f) = &t.facts else { continue };
        // Nothing voiced is the first-words check's finding: a reply never said must not
        // have its phrase checks excused as "perhaps not heard".
        if f.first_words_ms.is_none() {
            continue;
        }
        // Nor is a blip of room hiss the voice detector took for a voice, when the model
        // heard nothing at all: too little to be a reply that was missed.
        if t.norm.is_empty() && f.speaking_ms < MIN_MISSED_REPLY_MS {
            continue;
        }
        any_facts = true;
        let known: Vec<f32> = t.text.p.iter().flatten().copied().collect();
        let mean_p = (!known.is_empty()).then(|| known.iter().sum::<f32>() / known.len() as f32);
        let tr = Trouble::of_turn(f, mean_p);
        if !tr.any() {
            continue;
        }
        bad.push(i);
        let (zh, en): (Vec<String>, Vec<String>) = tr.advice(f).into_iter().unzip();
        let unsure = mean_p.map_or(String::new(), |p| format!("识别置信度{p:.2};"));
        let unsure_en = mean_p.map_or(String::new(), |p| format!("recogniser confidence {p:.2}; "));
        let (pz, pe) = if multi {
            (format!("第{}轮:", i + 1), format!("turn {}: ", i + 1))
        } else {
            (String::new(), String::new())
        };
        notes_zh.push(format!("{pz}{unsure}{}", zh.join(";")));
        notes_en.push(format!("{pe}{unsure_en}{}", en.join("; ")));
    }
    if !any_facts {
        return bad;
    }
    let (v, m) = if bad.is_empty() {
        (
            Verdict::Pass,
            msg(
                "录音清晰,识别可信",
                "the recording is clear enough to trust what was heard",
            ),
        )
    } else {
        (
            Verdict::Fail,
            msg(
                format!(
                    "录音质量影响识别,有关用语的判定改为待复核:{}",
                    notes_zh.join(";")
                ),
                format!(
                    "the recording makes what was heard unreliable; phrase checks that would fail are uncertain instead: {}",
                    notes_en.join("; ")
                ),
            ),
        )
    };
    cx.push("audio", "audio", v, 0.0, false, vec![], m);
    bad
}
