//! The closing, graded on the last turn: thanks and/or goodbye as the rubric asks. Where
//! the text has one only nearly, or not at all, the model is asked about the closest
//! stretch (see [`crate::grading::verify`]).

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
        let n = t.len();
        let found = match best(t, &list, cx.fuzzy, 0..n) {
            Some(h) => {
                let (v, z, e) = cx.found_checked(last, "closing", &h, &list[h.phrase].text);
                Some((h, v, z, e))
            }
            None => cx
                .candidate(last, "closing", &list, 0..n)
                .and_then(|(h, a)| {
                    let heard = cx.turns[last].text.slice(h.start..h.end);
                    let (z, e) = a.note(&list[h.phrase].text, &heard);
                    let v = a.expected(Verdict::Fail);
                    (v != Verdict::Fail).then_some((h, v, z, e))
                }),
        };
        match found {
            Some((h, v, z, e)) => {
                if v == Verdict::Fail {
                    verdict = Verdict::Fail;
                } else if v == Verdict::Uncertain && verdict == Verdict::Pass {
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
