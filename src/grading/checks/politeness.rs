//! Politeness words (您好、请、谢谢、对不起、再见), each to be used at least once over all turns.
//! Exact matches only: they are short, and their homophones are everyday words.

use super::{msg, Ctx};
use crate::grading::matcher::{exact_all, Phrase};
use crate::grading::report::Verdict;
use crate::scenario::{phrases, Phrases};

pub fn politeness_check(cx: &mut Ctx, words: &Phrases) {
    let mut ev = Vec::new();
    let mut counts = Vec::new();
    let mut missing = Vec::new();
    for word in phrases(words) {
        let p = Phrase::new(word);
        let mut n = 0;
        for ti in 0..cx.turns.len() {
            for r in exact_all(&cx.turns[ti].text, &p) {
                n += 1;
                ev.push(cx.evidence(ti, r));
            }
        }
        counts.push(format!("{}×{n}", p.text));
        if n == 0 {
            missing.push(p.text.clone());
        }
    }
    ev.sort_by_key(|e| e.start);
    let counted = counts.join(" ");
    let (v, m) = if missing.is_empty() {
        (
            Verdict::Pass,
            msg(
                format!("礼貌用语齐全:{counted}"),
                format!("all politeness words used: {counted}"),
            ),
        )
    } else {
        let miss = missing.join("、");
        (
            Verdict::Fail,
            msg(
                format!("缺少礼貌用语:{miss}({counted})"),
                format!("politeness words missing: {miss} ({counted})"),
            ),
        )
    };
    let wt = cx.book.weights.politeness;
    cx.push("politeness", "politeness", v, wt, false, ev, m);
}
