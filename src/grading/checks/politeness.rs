//! Politeness words (您好、请、谢谢、对不起、再见), each to be used at least once over all turns.
//! Counted on exact matches only: they are short, and their homophones are everyday words.
//! A word the text lacks is asked about where the closest stretch is (在见 for 再见): the
//! model finding it about as likely counts it, in between makes the check uncertain (see
//! [`crate::grading::verify`]); 你 for 您 never counts.

use super::{msg, Ctx};
use crate::grading::matcher::{exact_all, Phrase};
use crate::grading::report::Verdict;
use crate::scenario::{phrases, Phrases};

pub fn politeness_check(cx: &mut Ctx, words: &Phrases) {
    let mut ev = Vec::new();
    let mut counts = Vec::new();
    let mut missing = Vec::new();
    let mut unsure = Vec::new();
    let mut notes = (Vec::new(), Vec::new());
    for word in phrases(words) {
        let p = Phrase::new(word);
        let mut n = 0;
        for ti in 0..cx.turns.len() {
            for r in exact_all(&cx.turns[ti].text, &p) {
                n += 1;
                ev.push(cx.evidence(ti, r));
            }
        }
        if n == 0 {
            // The best answer over the turns' closest stretches.
            let list = [p.clone()];
            let mut best = None;
            for ti in 0..cx.turns.len() {
                let len = cx.turns[ti].text.len();
                if let Some((h, a)) = cx.candidate(ti, "politeness", &list, 0..len) {
                    if best.as_ref().is_none_or(
                        |(_, _, b): &(usize, _, crate::grading::verify::Answer)| {
                            a.margin > b.margin
                        },
                    ) {
                        best = Some((ti, h, a));
                    }
                }
            }
            if let Some((ti, h, a)) = best {
                let heard = cx.turns[ti].text.slice(h.start..h.end);
                let (z, e) = a.note(&p.text, &heard);
                match a.expected(Verdict::Fail) {
                    Verdict::Pass => {
                        n += 1;
                        ev.push(cx.evidence(ti, h.start..h.end));
                        notes.0.push(z);
                        notes.1.push(e);
                    }
                    Verdict::Uncertain => {
                        unsure.push(p.text.clone());
                        ev.push(cx.evidence(ti, h.start..h.end));
                        notes.0.push(z);
                        notes.1.push(e);
                    }
                    _ => {}
                }
            }
        }
        counts.push(format!("{}×{n}", p.text));
        if n == 0 && !unsure.contains(&p.text) {
            missing.push(p.text.clone());
        }
    }
    ev.sort_by_key(|e| e.start);
    let mut counted = counts.join(" ");
    if !notes.0.is_empty() {
        counted = format!("{counted};{}", notes.0.join(";"));
    }
    let counted_en = if notes.1.is_empty() {
        counts.join(" ")
    } else {
        format!("{}; {}", counts.join(" "), notes.1.join("; "))
    };
    let (v, m) = if missing.is_empty() && !unsure.is_empty() {
        let which = unsure.join("、");
        (
            Verdict::Uncertain,
            msg(
                format!("礼貌用语:{which}听不确定,请回听({counted})"),
                format!("politeness words: not sure of {which}; listen to confirm ({counted_en})"),
            ),
        )
    } else if missing.is_empty() {
        (
            Verdict::Pass,
            msg(
                format!("礼貌用语齐全:{counted}"),
                format!("all politeness words used: {counted_en}"),
            ),
        )
    } else {
        let miss = missing.join("、");
        (
            Verdict::Fail,
            msg(
                format!("缺少礼貌用语:{miss}({counted})"),
                format!("politeness words missing: {miss} ({counted_en})"),
            ),
        )
    };
    let wt = cx.book.weights.politeness;
    cx.push("politeness", "politeness", v, wt, false, ev, m);
}
