//! What a situation requires the trainee to say (`[[rubric.must_say]]`), anywhere in the call,
//! with its own weight and, if critical, the power to fail the attempt.

use std::ops::Range;

use super::{compile, msg, Ctx};
use crate::grading::matcher::{exact_all, Phrase};
use crate::grading::report::{Evidence, Verdict};
use crate::scenario::MustSay;

/// One must-say item: any of its phrases anywhere (or, with `count` > 1, that many times).
pub fn must_say_check(cx: &mut Ctx, m: &MustSay) {
    run_must_say_check(cx, m);
    // Named by what must be said, without the examples in brackets.
    let short = |s: &str| s.split(['(', '(']).next().unwrap_or(s).trim().to_string();
    cx.name_last(short(&m.zh), short(&m.en));
}

fn run_must_say_check(cx: &mut Ctx, m: &MustSay) {
    let list = compile(&m.phrases);
    let id = format!("must_say:{}", m.id.get_ref());
    if m.count > 1 {
        repeated_check(cx, m, &list, &id);
        return;
    }
    match cx.best_anywhere(&list) {
        Some((t, h)) => {
            let (v, zh, en) = cx.found(t, &h, &list[h.phrase].text);
            let ev = vec![cx.evidence(t, h.start..h.end)];
            cx.push(
                &id,
                "must_say",
                v,
                m.weight,
                m.critical,
                ev,
                msg(format!("{}:{zh}", m.zh), format!("{}: {en}", m.en)),
            );
        }
        None => cx.push(
            &id,
            "must_say",
            Verdict::Fail,
            m.weight,
            m.critical,
            vec![],
            msg(format!("缺少:{}", m.zh), format!("missing: {}", m.en)),
        ),
    }
}

/// A must-say item required several times: counts exact, non-overlapping occurrences.
pub fn repeated_check(cx: &mut Ctx, m: &MustSay, list: &[Phrase], id: &str) {
    let mut found: Vec<(usize, Range<usize>)> = Vec::new();
    for ti in 0..cx.turns.len() {
        let mut spans: Vec<Range<usize>> = list
            .iter()
            .flat_map(|p| exact_all(&cx.turns[ti].text, p))
            .collect();
        spans.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
        let mut end = 0;
        for r in spans {
            if r.start >= end {
                end = r.end;
                found.push((ti, r));
            }
        }
    }
    let n = found.len();
    let ev: Vec<Evidence> = found.into_iter().map(|(t, r)| cx.evidence(t, r)).collect();
    let (v, zh, en) = if n >= m.count as usize {
        (
            Verdict::Pass,
            format!("{}:说了{n}次", m.zh),
            format!("{}: said {n} times", m.en),
        )
    } else {
        (
            Verdict::Fail,
            format!("{}:只说了{n}次,需要{}次", m.zh, m.count),
            format!("{}: said {n} times, needs {}", m.en, m.count),
        )
    };
    cx.push(id, "must_say", v, m.weight, m.critical, ev, msg(zh, en));
}
