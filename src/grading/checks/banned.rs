//! 服务忌语 and fillers over all turns: exact matches of each pattern (… bridging a gap) fail,
//! homophones of long ones are `uncertain`, and an `unless` context around a match excuses it
//! (您想知道 is not 不知道-as-an-answer).

use std::ops::Range;

use super::{compile, msg, Ctx};
use crate::grading::matcher::{best, exact_all, Fuzzy, Kind, Pattern, Phrase};
use crate::grading::report::{Evidence, Verdict};
use crate::scenario::{phrases, BannedFamily};

pub fn banned_check(cx: &mut Ctx, fam: &BannedFamily, category: &str, weight: f64) {
    run_banned_check(cx, fam, category, weight);
    // A family is called by its first pattern: 忌语「喂」. The fillers family has its name.
    if fam.id.get_ref() != category {
        let first = phrases(&fam.patterns).next().unwrap_or_default();
        cx.name_last(format!("忌语「{first}」"), format!("banned 「{first}」"));
    }
}

fn run_banned_check(cx: &mut Ctx, fam: &BannedFamily, category: &str, weight: f64) {
    // The phrase book's single fillers family is just `fillers`; banned families are
    // `banned_phrase:<family>`.
    let id = if fam.id.get_ref() == category {
        category.to_string()
    } else {
        format!("{category}:{}", fam.id.get_ref())
    };
    if cx.is_empty() {
        cx.push(
            &id,
            category,
            Verdict::NotApplicable,
            weight,
            fam.critical,
            vec![],
            msg("没有听到任何内容", "nothing was heard"),
        );
        return;
    }
    let patterns: Vec<Pattern> = phrases(&fam.patterns)
        .filter_map(|p| Pattern::parse(p).ok())
        .collect();
    let unless: Vec<Phrase> = fam.unless.as_ref().map(compile).unwrap_or_default();
    let mut exact: Vec<(usize, Range<usize>)> = Vec::new();
    let mut near: Vec<(usize, Range<usize>)> = Vec::new();
    for ti in 0..cx.turns.len() {
        let text = &cx.turns[ti].text;
        let excuses: Vec<Range<usize>> = unless.iter().flat_map(|u| exact_all(text, u)).collect();
        let excused =
            |r: &Range<usize>| excuses.iter().any(|u| u.start <= r.start && r.end <= u.end);
        for pat in &patterns {
            exact.extend(
                pat.find_all(text)
                    .into_iter()
                    .filter(|r| !excused(r))
                    .map(|r| (ti, r)),
            );
            if let Some(plain) = pat.plain() {
                let hom = Fuzzy {
                    min_chars: cx.fuzzy.min_chars,
                    near: 2.0,
                };
                if let Some(h) = best(text, std::slice::from_ref(plain), hom, 0..text.len()) {
                    if h.kind == Kind::Homophone && !excused(&(h.start..h.end)) {
                        near.push((ti, h.start..h.end));
                    }
                }
            }
        }
    }
    exact.sort_by_key(|(t, r)| (*t, r.start));
    exact.dedup();
    // 我问谁 inside 你问我我问谁 is one offence, not two.
    let all = exact.clone();
    exact.retain(|(t, r)| {
        !all.iter()
            .any(|(t2, r2)| t2 == t && r2 != r && r2.start <= r.start && r.end <= r2.end)
    });
    let what = if category == "fillers" {
        ("口头禅", "filler")
    } else {
        ("服务忌语", "banned phrase")
    };
    if !exact.is_empty() {
        let ev: Vec<Evidence> = exact
            .iter()
            .map(|(t, r)| cx.evidence(*t, r.clone()))
            .collect();
        let said: Vec<String> = ev.iter().map(|e| format!("「{}」", e.text)).collect();
        let shaky = exact.iter().all(|(t, r)| cx.shaky(*t, r.clone()).is_some());
        let (v, note_zh, note_en) = if shaky {
            (
                Verdict::Uncertain,
                "(识别置信度低,请回听)",
                " (the recogniser was unsure; listen to confirm)",
            )
        } else {
            (Verdict::Fail, "", "")
        };
        let m = msg(
            format!("{}{}:{}{note_zh}", what.0, said.join(""), fam.zh),
            format!("{} {}: {}{note_en}", what.1, said.join(" "), fam.en),
        );
        cx.push(&id, category, v, weight, fam.critical, ev, m);
    } else if !near.is_empty() {
        let ev: Vec<Evidence> = near
            .iter()
            .map(|(t, r)| cx.evidence(*t, r.clone()))
            .collect();
        let said: Vec<String> = ev.iter().map(|e| format!("「{}」", e.text)).collect();
        let m = msg(
            format!("听到{},与{}同音:{},请回听", said.join(""), what.0, fam.zh),
            format!(
                "heard {}, which sounds like a {}: {}; listen to confirm",
                said.join(" "),
                what.1,
                fam.en
            ),
        );
        cx.push(
            &id,
            category,
            Verdict::Uncertain,
            weight,
            fam.critical,
            ev,
            m,
        );
    } else {
        cx.push(
            &id,
            category,
            Verdict::Pass,
            weight,
            fam.critical,
            vec![],
            msg(
                format!("未使用:{}", fam.zh),
                format!("not used: {}", fam.en),
            ),
        );
    }
}
