//! What a situation requires the trainee to say (`[[rubric.must_say]]`), anywhere in the call,
//! with its own weight and, if critical, the power to fail the attempt. Where the text has
//! it only nearly, or not at all, the model is asked about the closest stretch (see
//! [`crate::grading::verify`]).

use std::ops::Range;

use super::{compile, msg, Ctx};
use crate::grading::matcher::{best, exact_all, Hit, Phrase};
use crate::grading::report::{Evidence, Verdict};
use crate::grading::verify::Answer;
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
            let (v, zh, en) = cx.found_checked(t, &id, &h, &list[h.phrase].text);
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
        None => {
            // The closest stretch of any turn, asked about; the best answer counts.
            let mut best: Option<(usize, Hit, Answer)> = None;
            for t in 0..cx.turns.len() {
                let n = cx.turns[t].text.len();
                if let Some((h, a)) = cx.candidate(t, &id, &list, 0..n) {
                    if best.as_ref().is_none_or(|(_, _, b)| a.margin > b.margin) {
                        best = Some((t, h, a));
                    }
                }
            }
            let missing = msg(format!("缺少:{}", m.zh), format!("missing: {}", m.en));
            let Some((t, h, a)) = best else {
                cx.push(
                    &id,
                    "must_say",
                    Verdict::Fail,
                    m.weight,
                    m.critical,
                    vec![],
                    missing,
                );
                return;
            };
            let heard = cx.turns[t].text.slice(h.start..h.end);
            let (nz, ne) = a.note(&list[h.phrase].text, &heard);
            let ev = vec![cx.evidence(t, h.start..h.end)];
            let v = a.expected(Verdict::Fail);
            let (zh, en) = match v {
                Verdict::Fail => (
                    format!("{};{nz}", missing.zh),
                    format!("{}; {ne}", missing.en),
                ),
                Verdict::Pass => (
                    format!("{}:听到「{heard}」;{nz}", m.zh),
                    format!("{}: heard 「{heard}」; {ne}", m.en),
                ),
                _ => (
                    format!("{}:听到「{heard}」;{nz},请回听", m.zh),
                    format!("{}: heard 「{heard}」; {ne}; listen to confirm", m.en),
                ),
            };
            cx.push(&id, "must_say", v, m.weight, m.critical, ev, msg(zh, en));
        }
    }
}

/// A must-say item required several times: counts exact, non-overlapping occurrences,
/// and, in turns without one, a near one the model finds about as likely (uncertain when
/// it is in between).
pub fn repeated_check(cx: &mut Ctx, m: &MustSay, list: &[Phrase], id: &str) {
    let mut found: Vec<(usize, Range<usize>)> = Vec::new();
    let mut unsure = 0;
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
        if end == 0 && found.len() < m.count as usize {
            let n = cx.turns[ti].text.len();
            let near = best(&cx.turns[ti].text, list, cx.fuzzy, 0..n);
            let asked = match near {
                Some(h) => {
                    let wanted = list[h.phrase].text.clone();
                    cx.ask(ti, id, h.start..h.end, &wanted).map(|a| (h, a))
                }
                None => cx.candidate(ti, id, list, 0..n),
            };
            if let Some((h, a)) = asked {
                match a.expected(Verdict::Fail) {
                    Verdict::Pass => found.push((ti, h.start..h.end)),
                    Verdict::Uncertain => unsure += 1,
                    _ => {}
                }
            }
        }
    }
    found.sort_by_key(|(t, r)| (*t, r.start));
    let n = found.len();
    let ev: Vec<Evidence> = found.into_iter().map(|(t, r)| cx.evidence(t, r)).collect();
    let (v, zh, en) = if n >= m.count as usize {
        (
            Verdict::Pass,
            format!("{}:说了{n}次", m.zh),
            format!("{}: said {n} times", m.en),
        )
    } else if n + unsure >= m.count as usize {
        (
            Verdict::Uncertain,
            format!("{}:说了{n}次,另有{unsure}次听不确定,请回听", m.zh),
            format!(
                "{}: said {n} times, {unsure} more uncertain; listen to confirm",
                m.en
            ),
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
