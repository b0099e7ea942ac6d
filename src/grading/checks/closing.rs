//! The closing, graded on the last turn: thanks and/or goodbye as the rubric asks.

use super::{compile, msg, Ctx};
use crate::grading::matcher::best;
use crate::grading::report::Verdict;
use crate::scenario::ClosingPart;

pub fn closing_check(cx: &mut Ctx, parts: &[ClosingPart], last: usize) {
    let wt = cx.book.weights.closing;
    let mut ev = Vec::new();
    let mut verdict = Verdict::Pass;
    let mut notes_zh = Vec::new();
    let mut notes_en = Vec::new();
    for part in parts {
        let (group, zh, en) = match part {
            ClosingPart::Thanks => (&cx.book.thanks, "道谢", "thanks"),
            ClosingPart::Goodbye => (&cx.book.goodbye, "道别", "goodbye"),
        };
        let list = compile(&group.phrases);
        let t = &cx.turns[last].text;
        match best(t, &list, cx.fuzzy, 0..t.len()) {
            Some(h) => {
                let (v, z, e) = cx.found(last, &h, &list[h.phrase].text);
                if v != Verdict::Pass && verdict == Verdict::Pass {
                    verdict = v;
                }
                ev.push(cx.evidence(last, h.start..h.end));
                notes_zh.push(format!("{zh}:{z}"));
                notes_en.push(format!("{en}: {e}"));
            }
            None => {
                verdict = Verdict::Fail;
                notes_zh.push(format!(
                    "缺少{zh}(如「{}」)",
                    list.first().map_or("", |p| p.text.as_str())
                ));
                notes_en.push(format!(
                    "no {en} (e.g. {})",
                    list.first().map_or("", |p| p.text.as_str())
                ));
            }
        }
    }
    cx.push(
        "closing",
        "closing",
        verdict,
        wt,
        false,
        ev,
        msg(
            format!("结束语 — {}", notes_zh.join(";")),
            format!("closing — {}", notes_en.join("; ")),
        ),
    );
}
