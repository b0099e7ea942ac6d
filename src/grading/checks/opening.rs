//! The opening, graded on the first turn: picked up within `max_rings` (else an apology
//! first), 您好 at the start, the organisation named, help offered, and those three in order
//! (问好 → 报单位 → 问候语).

use std::ops::Range;

use super::{compile, msg, Ctx};
use crate::grading::matcher::{best, exact_all, Fuzzy, Hit, Phrase};
use crate::grading::report::{Evidence, Verdict};
use crate::scenario::{PhraseGroup, Rubric};

/// Rings heard before pickup `ms` after the first ring began: a ring counts once it starts.
/// The same arithmetic the ringer uses ([`crate::audio::ring::RingCadence`]), so a pickup time
/// from the command line and one from the practice screen count alike.
pub fn rings_for_pickup(ms: u64, ring_on_ms: u64, ring_off_ms: u64) -> u32 {
    crate::audio::ring::RingCadence {
        on_ms: ring_on_ms,
        off_ms: ring_off_ms,
        ..crate::audio::ring::RingCadence::MAINLAND_CHINA
    }
    .rings_at_pickup(ms)
}

/// Every opening check the rubric asks for, in report order. `rings` is the ring count at
/// pickup, if known; `org` the organisation the trainee should name.
pub fn opening_checks(cx: &mut Ctx, r: &Rubric, rings: Option<u32>, org: &str) {
    let s = &cx.book.settings;
    let window = s.opening_window_chars;
    let apology = compile(&cx.book.late_apology.phrases);
    let apology_hit = best(
        &cx.turns[0].text,
        &apology,
        cx.fuzzy,
        0..s.apology_window_chars,
    );
    if r.rings {
        rings_checks(cx, rings, apology_hit.as_ref());
    }
    let greet_from = apology_hit.as_ref().map_or(0, |h| h.end);
    let mut order: Vec<(&str, Hit)> = Vec::new();
    if r.greeting {
        let greeting = &cx.book.greeting;
        if let Some(h) = greeting_check(cx, greeting, greet_from..greet_from + window) {
            order.push(("greeting", h));
        }
    }
    if r.organisation {
        let after_greeting = order
            .iter()
            .find(|(n, _)| *n == "greeting")
            .map(|(_, h)| h.end);
        if let Some(h) = organisation_check(cx, org, after_greeting) {
            order.push(("organisation", h));
        }
    }
    if r.offer_help {
        if let Some(h) = offer_help_check(cx) {
            order.push(("offer_help", h));
        }
    }
    if r.opening_order {
        order_check(cx, &order);
    }
}

pub fn rings_checks(cx: &mut Ctx, rings: Option<u32>, apology: Option<&Hit>) {
    let w = &cx.book.weights;
    let max = cx.book.settings.max_rings;
    let (wr, wa) = (w.rings, w.late_apology);
    let Some(n) = rings else {
        let m = msg(
            "未提供响铃次数(--rings 或 --pickup-ms)",
            "ring count not given (--rings or --pickup-ms)",
        );
        cx.push(
            "rings",
            "rings",
            Verdict::NotApplicable,
            wr,
            false,
            vec![],
            m.clone(),
        );
        cx.push(
            "late_apology",
            "late_apology",
            Verdict::NotApplicable,
            wa,
            false,
            vec![],
            m,
        );
        return;
    };
    if cx.turns[0].text.is_empty() {
        // Picking up without a word is not answering.
        let m = msg(
            format!("第{n}声铃响接起,但没有说话"),
            format!("picked up on ring {n} but said nothing"),
        );
        cx.push(
            "rings",
            "rings",
            Verdict::Fail,
            wr,
            false,
            vec![],
            m.clone(),
        );
        let v = if n <= max {
            Verdict::NotApplicable
        } else {
            Verdict::Fail
        };
        cx.push("late_apology", "late_apology", v, wa, false, vec![], m);
        return;
    }
    if n <= max {
        cx.push(
            "rings",
            "rings",
            Verdict::Pass,
            wr,
            false,
            vec![],
            msg(
                format!("第{n}声铃响接听,在{max}声之内"),
                format!("picked up on ring {n}, within {max}"),
            ),
        );
        cx.push(
            "late_apology",
            "late_apology",
            Verdict::NotApplicable,
            wa,
            false,
            vec![],
            msg("及时接听,无需致歉", "picked up in time; no apology needed"),
        );
        return;
    }
    cx.push(
        "rings",
        "rings",
        Verdict::Fail,
        wr,
        false,
        vec![],
        msg(
            format!("第{n}声铃响才接听,应在{max}声之内"),
            format!("picked up on ring {n}; answer within {max} rings"),
        ),
    );
    match apology {
        Some(h) => {
            let (v, zh, en) = cx.found(0, h, "对不起,让您久等了");
            let ev = vec![cx.evidence(0, h.start..h.end)];
            cx.push(
                "late_apology",
                "late_apology",
                v,
                wa,
                false,
                ev,
                msg(
                    format!("超过{max}声接听,先致歉:{zh}"),
                    format!("late pickup, apologised first: {en}"),
                ),
            );
        }
        None => cx.push(
            "late_apology",
            "late_apology",
            Verdict::Fail,
            wa,
            false,
            vec![],
            msg(
                format!("超过{max}声才接听,应先说「对不起,让您久等了」"),
                format!("picked up after {max} rings: open with an apology (对不起,让您久等了)"),
            ),
        ),
    }
}

pub fn greeting_check(cx: &mut Ctx, g: &PhraseGroup, window: Range<usize>) -> Option<Hit> {
    let wt = cx.book.weights.greeting;
    let list = compile(&g.phrases);
    let t0 = &cx.turns[0].text;
    if let Some(h) = best(t0, &list, cx.fuzzy, window.clone()) {
        let (v, zh, en) = cx.found_checked(0, "greeting", &h, &list[h.phrase].text);
        let ev = vec![cx.evidence(0, h.start..h.end)];
        cx.push(
            "greeting",
            "greeting",
            v,
            wt,
            false,
            ev,
            msg(
                format!("以问好开头:{zh}"),
                format!("opens with a greeting: {en}"),
            ),
        );
        return Some(h);
    }
    let rejects = g.reject.as_ref().map(compile).unwrap_or_default();
    let mut said: Vec<Range<usize>> = rejects
        .iter()
        .flat_map(|p| exact_all(t0, p))
        .filter(|r| window.contains(&r.start))
        .collect();
    let late = best(t0, &list, Fuzzy::EXACT, 0..t0.len());
    // Where the text has no greeting at the start, ask the model about the closest
    // stretch there (您讨 for 您好; 你好, which it cannot tell from 您好, at most uncertain).
    let candidate = if said.is_empty() && late.is_some() {
        None
    } else {
        cx.candidate(0, "greeting", &list, window.clone())
    };
    if !said.is_empty() {
        said.sort_by_key(|r| r.start);
        let ev: Vec<Evidence> = said.iter().map(|r| cx.evidence(0, r.clone())).collect();
        let said: String = ev.iter().map(|e| format!("「{}」", e.text)).collect();
        let (mut zh, mut en) = (
            format!("{said}不是规范问候语,应说「您好」"),
            format!("{said} is not the service greeting: say 您好"),
        );
        let mut v = Verdict::Fail;
        if let Some((h, a)) = &candidate {
            let heard = cx.turns[0].text.slice(h.start..h.end);
            let (nz, ne) = a.note(&list[h.phrase].text, &heard);
            v = a.expected(Verdict::Fail);
            zh = format!("{zh};{nz}");
            en = format!("{en}; {ne}");
            if v == Verdict::Uncertain {
                zh.push_str(",请回听");
                en.push_str("; listen to confirm");
            }
        }
        cx.push("greeting", "greeting", v, wt, false, ev, msg(zh, en));
        return candidate.filter(|_| v != Verdict::Fail).map(|(h, _)| h);
    }
    if let Some((h, a)) = candidate {
        let heard = cx.turns[0].text.slice(h.start..h.end);
        let (nz, ne) = a.note(&list[h.phrase].text, &heard);
        let v = a.expected(Verdict::Fail);
        if v != Verdict::Fail {
            let ev = vec![cx.evidence(0, h.start..h.end)];
            cx.push(
                "greeting",
                "greeting",
                v,
                wt,
                false,
                ev,
                msg(
                    format!("以问好开头:听到「{heard}」;{nz}"),
                    format!("opens with a greeting: heard 「{heard}」; {ne}"),
                ),
            );
            return Some(h);
        }
    }
    if let Some(h) = late {
        let ev = vec![cx.evidence(0, h.start..h.end)];
        cx.push(
            "greeting",
            "greeting",
            Verdict::Fail,
            wt,
            false,
            ev,
            msg(
                "问好太晚:应先说「您好」",
                "the greeting comes too late: open with 您好",
            ),
        );
        // Still an element of the opening for the order check.
        return Some(h);
    }
    cx.push(
        "greeting",
        "greeting",
        Verdict::Fail,
        wt,
        false,
        vec![],
        msg("没有以「您好」开头", "does not open with 您好"),
    );
    None
}

/// Names the organisation anywhere in the first turn; the hit, for the order check.
/// `after_greeting`: where the greeting ends, if it was found. Where the text has nothing
/// like the name, the model is asked about what stands where the name belongs, between
/// the greeting and the offer of help (寡令物月 in 您好,寡令物月,请问有什么可以帮您 said
/// at arm's length from the microphone).
pub fn organisation_check(cx: &mut Ctx, org: &str, after_greeting: Option<usize>) -> Option<Hit> {
    let wt = cx.book.weights.organisation;
    let list = [Phrase::new(org)];
    let t0 = &cx.turns[0].text;
    let Some(h) = best(t0, &list, cx.fuzzy, 0..t0.len()) else {
        let m = msg(
            format!("没有报单位「{org}」"),
            format!("does not name the organisation 「{org}」"),
        );
        let slot = name_slot(cx, after_greeting, list[0].len());
        return not_found_in(cx, "organisation", &list, wt, m, slot, |zh, en| {
            msg(
                format!("报单位:{zh}"),
                format!("names the organisation: {en}"),
            )
        });
    };
    let (v, zh, en) = cx.found_checked(0, "organisation", &h, org);
    let ev = vec![cx.evidence(0, h.start..h.end)];
    let m = msg(
        format!("报单位:{zh}"),
        format!("names the organisation: {en}"),
    );
    cx.push("organisation", "organisation", v, wt, false, ev, m);
    Some(h)
}

/// Offers help anywhere in the first turn; the hit, for the order check.
pub fn offer_help_check(cx: &mut Ctx) -> Option<Hit> {
    let wt = cx.book.weights.offer_help;
    let offers = compile(&cx.book.offer_help.phrases);
    let t0 = &cx.turns[0].text;
    let Some(h) = best(t0, &offers, cx.fuzzy, 0..t0.len()) else {
        let m = msg(
            "没有询问来电目的(如「请问有什么可以帮您」)",
            "does not offer help (e.g. 请问有什么可以帮您)",
        );
        return not_found(cx, "offer_help", &offers, wt, m, |zh, en| {
            msg(format!("问候语:{zh}"), format!("offers help: {en}"))
        });
    };
    let (v, zh, en) = cx.found_checked(0, "offer_help", &h, &offers[h.phrase].text);
    let ev = vec![cx.evidence(0, h.start..h.end)];
    let m = msg(format!("问候语:{zh}"), format!("offers help: {en}"));
    cx.push("offer_help", "offer_help", v, wt, false, ev, m);
    Some(h)
}

/// The stretch between the end of the greeting and the start of the offer of help, where
/// the organisation's name belongs, when it is about as long as the name (one character
/// less to two more).
fn name_slot(cx: &Ctx, after_greeting: Option<usize>, name_len: usize) -> Option<Hit> {
    let start = after_greeting?;
    let t0 = &cx.turns[0].text;
    let offers = compile(&cx.book.offer_help.phrases);
    let end = best(t0, &offers, cx.fuzzy, start..t0.len())?.start;
    let len = end.checked_sub(start)?;
    (name_len.saturating_sub(1)..=name_len + 2)
        .contains(&len)
        .then_some(Hit {
            start,
            end,
            kind: crate::grading::matcher::Kind::Near,
            phrase: 0,
            similarity: 0.0,
        })
}

/// An opening element the first turn does not have: the model is asked about the closest
/// stretch (see [`Ctx::candidate`]); about as likely passes, in between is uncertain,
/// otherwise it fails with `missing` (and the margin). The hit, for the order check, unless
/// it failed.
fn not_found(
    cx: &mut Ctx,
    id: &str,
    list: &[Phrase],
    weight: f64,
    missing: crate::grading::report::Message,
    found: impl Fn(&str, &str) -> crate::grading::report::Message,
) -> Option<Hit> {
    not_found_in(cx, id, list, weight, missing, None, found)
}

/// [`not_found`], asking about `slot` (where the phrase belongs) when no stretch is close.
fn not_found_in(
    cx: &mut Ctx,
    id: &str,
    list: &[Phrase],
    weight: f64,
    missing: crate::grading::report::Message,
    slot: Option<Hit>,
    found: impl Fn(&str, &str) -> crate::grading::report::Message,
) -> Option<Hit> {
    let n = cx.turns[0].text.len();
    let asked = match cx.candidate(0, id, list, 0..n) {
        Some(c) => Some(c),
        None => slot.and_then(|h| {
            let wanted = list[h.phrase].text.clone();
            cx.ask(0, id, h.start..h.end, &wanted).map(|a| (h, a))
        }),
    };
    let Some((h, a)) = asked else {
        cx.push(id, id, Verdict::Fail, weight, false, vec![], missing);
        return None;
    };
    let heard = cx.turns[0].text.slice(h.start..h.end);
    let (nz, ne) = a.note(&list[h.phrase].text, &heard);
    let ev = vec![cx.evidence(0, h.start..h.end)];
    match a.expected(Verdict::Fail) {
        Verdict::Fail => {
            let m = msg(
                format!("{};{nz}", missing.zh),
                format!("{}; {ne}", missing.en),
            );
            cx.push(id, id, Verdict::Fail, weight, false, ev, m);
            None
        }
        v => {
            let (zh, en) = if v == Verdict::Pass {
                (
                    format!("听到「{heard}」;{nz}"),
                    format!("heard 「{heard}」; {ne}"),
                )
            } else {
                (
                    format!("听到「{heard}」;{nz},请回听"),
                    format!("heard 「{heard}」; {ne}; listen to confirm"),
                )
            };
            cx.push(id, id, v, weight, false, ev, found(&zh, &en));
            Some(h)
        }
    }
}

pub fn order_check(cx: &mut Ctx, parts: &[(&str, Hit)]) {
    let wt = cx.book.weights.opening_order;
    if parts.len() < 2 {
        cx.push(
            "opening_order",
            "opening_order",
            Verdict::NotApplicable,
            wt,
            false,
            vec![],
            msg(
                "开场要素不足两项,顺序无从判断(缺项另行扣分)",
                "fewer than two opening elements; missing ones are graded by their own checks",
            ),
        );
        return;
    }
    let ev: Vec<Evidence> = parts
        .iter()
        .map(|(_, h)| cx.evidence(0, h.start..h.end))
        .collect();
    let in_order = parts
        .windows(2)
        .all(|p| p[0].1.start < p[1].1.start && p[0].1.end <= p[1].1.start);
    let names: Vec<&str> = parts.iter().map(|(n, _)| *n).collect();
    if in_order {
        cx.push(
            "opening_order",
            "opening_order",
            Verdict::Pass,
            wt,
            false,
            ev,
            msg(
                "顺序正确:先问好,再报单位,再用问候语",
                format!("in order: {}", names.join(" → ")),
            ),
        );
    } else {
        let mut heard = parts.to_vec();
        heard.sort_by_key(|(_, h)| h.start);
        let heard: Vec<&str> = heard.iter().map(|(n, _)| *n).collect();
        cx.push(
            "opening_order",
            "opening_order",
            Verdict::Fail,
            wt,
            false,
            ev,
            msg(
                "顺序颠倒:应先问好,再报单位,再用问候语",
                format!(
                    "out of order ({}); say greeting → organisation → offer of help",
                    heard.join(" → ")
                ),
            ),
        );
    }
}
