//! The HTML report: one self-contained file (inline CSS and SVG, no scripts, no external
//! fonts or images) that a trainer can mail to a manager or print. The score per attempt
//! over time is an SVG plot; the pass rate per category is an HTML table with bars, so no
//! label is ever clipped by a drawing's edge; then every attempt with what a manager needs
//! to judge it: the settled result, why checks failed, how the call was picked up, who
//! reviewed it, what was said turn by turn and what a model answer says. Times are local,
//! with their zone. Its words are the report's own ([`super::strings`]), in the language
//! asked for, and it names a CJK font stack so Chinese shows on any machine that has one.

use std::fmt::Write as _;
use std::io::{self, Write};

use jiff::tz::TimeZone;

use super::strings::{category_name, Strings};
use super::{when, AttemptRow, CheckRow, TraineeReport};
use crate::config::Lang;
use crate::grading::Message;
use crate::store::AttemptStatus;

/// Text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Sans-serif CJK faces on Linux, Windows and macOS, then the generic family.
const FONTS: &str = "system-ui,'Noto Sans CJK SC','Noto Sans SC','Source Han Sans SC','WenQuanYi Micro Hei','Microsoft YaHei','PingFang SC','Hiragino Sans GB',sans-serif";

fn css() -> String {
    format!(
        "body{{font-family:{FONTS};max-width:62rem;margin:1.5rem auto;padding:0 1rem;color:#111;line-height:1.45}}
h1{{font-size:1.5rem;margin-bottom:.2rem}}h2{{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #999}}
h3{{font-size:1rem;margin:0 0 .3rem}}
table{{border-collapse:collapse;font-size:.9rem}}th,td{{border:1px solid #bbb;padding:.25rem .45rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}}
th{{background:#eee;font-weight:600}}.pass{{color:#0a6b20}}.fail{{color:#b00020;font-weight:bold}}.uncertain{{color:#8a5a00}}.not_applicable{{color:#555}}
.muted{{color:#555}}svg{{max-width:100%;height:auto}}svg text{{font-size:11px;fill:#222;font-family:{FONTS}}}
table.rates{{width:100%}}table.rates th{{white-space:nowrap;width:1%}}table.rates td.num{{white-space:nowrap;width:1%;text-align:right}}
.track{{display:block;background:#eee;height:.9rem;min-width:6rem}}.fill{{display:block;height:100%}}.fill.good{{background:#2e8540}}.fill.mid{{background:#c28a00}}.fill.low{{background:#b00020}}
section.attempt{{border:1px solid #bbb;border-radius:4px;padding:.6rem .8rem;margin:.8rem 0;break-inside:avoid}}
dl.facts{{display:flex;flex-wrap:wrap;gap:.2rem 1.4rem;margin:.3rem 0 .5rem}}dl.facts div{{display:flex;gap:.4rem}}dl.facts dt{{color:#555}}dl.facts dd{{margin:0}}
table.checks{{width:100%}}p.said{{margin:.4rem 0}}
@media print{{body{{margin:0;max-width:none}}h2{{break-after:avoid}}tr,svg{{break-inside:avoid}}a{{color:inherit}}}}"
    )
}

fn pick(m: &Message, lang: Lang) -> &str {
    match lang {
        Lang::Zh => &m.zh,
        Lang::En => &m.en,
    }
}

/// Score per attempt, oldest left; passed attempts are filled dots, failed ones hollow (the
/// pass mark belongs to each rubric, so no single pass line is drawn). Every label sits
/// inside the drawing.
fn progress_svg(r: &TraineeReport, s: &Strings, tz: &TimeZone) -> String {
    let pts: Vec<(usize, f64, bool)> = r
        .scored()
        .enumerate()
        .map(|(i, (a, s))| (i, s.clamp(0.0, 100.0), a.passed.unwrap_or(false)))
        .collect();
    let (w, h, l, t, b, rpad) = (640.0, 240.0, 40.0, 12.0, 36.0, 12.0);
    let pw = w - l - rpad;
    let ph = h - t - b;
    let x = |i: usize| {
        if pts.len() <= 1 {
            l + pw / 2.0
        } else {
            l + pw * i as f64 / (pts.len() - 1) as f64
        }
    };
    let y = |s: f64| t + ph * (1.0 - s / 100.0);
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">",
        s.score_per_attempt
    );
    for g in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let _ = write!(
            o,
            "<line x1=\"{l}\" y1=\"{yy:.1}\" x2=\"{x2}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/><text x=\"{tx}\" y=\"{ty:.1}\" text-anchor=\"end\">{g}</text>",
            yy = y(g),
            x2 = w - rpad,
            tx = l - 4.0,
            ty = y(g) + 4.0
        );
    }
    if pts.is_empty() {
        let _ = write!(
            o,
            "<text x=\"{cx}\" y=\"{cy}\" text-anchor=\"middle\">{}</text>",
            s.no_scored,
            cx = w / 2.0,
            cy = h / 2.0
        );
    } else {
        let path: Vec<String> = pts
            .iter()
            .map(|&(i, s, _)| format!("{:.1},{:.1}", x(i), y(s)))
            .collect();
        let _ = write!(
            o,
            "<polyline fill=\"none\" stroke=\"#1f4e9c\" stroke-width=\"2\" points=\"{}\"/>",
            path.join(" ")
        );
        for &(i, s, passed) in &pts {
            let fill = if passed { "#1f4e9c" } else { "#fff" };
            let _ = write!(
                o,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{fill}\" stroke=\"#1f4e9c\" stroke-width=\"2\"><title>{s:.0}</title></circle>",
                x(i),
                y(s)
            );
        }
        let scored: Vec<_> = r.scored().collect();
        let first = when::date(scored[0].0.started, tz);
        let last = when::date(scored[scored.len() - 1].0.started, tz);
        let _ = write!(
            o,
            "<text x=\"{l}\" y=\"{by}\">{first}</text><text x=\"{rx}\" y=\"{by}\" text-anchor=\"end\">{last}</text><text x=\"{cx}\" y=\"{by2}\" text-anchor=\"middle\">{}</text>",
            s.x_axis,
            by = h - b + 16.0,
            rx = w - rpad,
            cx = l + pw / 2.0,
            by2 = h - 4.0
        );
    }
    o.push_str("</svg>");
    o
}

/// Pass rate per category, weakest first: name, bar, rate and counts, in a table whose
/// cells grow with their text.
fn rates_table(r: &TraineeReport, s: &Strings, lang: Lang) -> String {
    let cats = r.weakest();
    if cats.is_empty() {
        return format!("<p class=\"muted\">{}</p>", s.no_checks);
    }
    let mut o = format!(
        "<table class=\"rates\">\n<tr><th>{}</th><th colspan=\"2\">{}</th></tr>\n",
        s.category, s.rate
    );
    for c in cats {
        let rate = c.pass_rate();
        let class = if rate >= 0.8 {
            "good"
        } else if rate >= 0.5 {
            "mid"
        } else {
            "low"
        };
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{}</th><td><span class=\"track\"><span class=\"fill {class}\" style=\"width:{:.0}%\"></span></span></td><td class=\"num\">{:.0}% ({}/{})</td></tr>",
            esc(&category_name(&c.category, lang)),
            rate * 100.0,
            rate * 100.0,
            c.pass,
            c.total()
        );
    }
    o.push_str("</table>");
    o
}

/// A verdict in the page's language, classed by its stored word for the colours.
fn verdict_cell(v: &str, s: &Strings) -> String {
    format!("<span class=\"{}\">{}</span>", esc(v), esc(s.verdict(v)))
}

/// The checks a manager needs to see: failed, uncertain, decided by a trainer, or with an
/// overrule to decide on; each with the grader's reason.
pub(super) fn checks_table(a: &AttemptRow, s: &Strings, lang: Lang) -> String {
    let shown: Vec<&CheckRow> = a
        .checks
        .iter()
        .filter(|c| {
            c.verdict == "fail"
                || c.verdict == "uncertain"
                || c.overruled_by.is_some()
                || c.no_longer_matches.is_some()
        })
        .collect();
    if shown.is_empty() {
        return format!("<p class=\"pass\">{}</p>", s.all_passed);
    }
    let mut o = format!(
        "<table class=\"checks\">\n<tr><th>{}</th><th>{}</th><th>{}</th></tr>\n",
        s.check, s.result, s.reason
    );
    for c in shown {
        let mut result = verdict_cell(&c.verdict, s);
        if c.critical {
            let _ = write!(result, " <span class=\"muted\">({})</span>", s.critical);
        }
        let mut why = esc(pick(&c.message, lang));
        if let Some(by) = &c.overruled_by {
            let note = esc(c.overrule_note.as_deref().unwrap_or(""));
            let said = if c.verdict == c.graded {
                (s.confirmed_by)(&esc(by), &note)
            } else {
                (s.was_overruled)(&esc(s.verdict(&c.graded)), &esc(by), &note)
            };
            let _ = write!(why, "<br><span class=\"muted\">{said}</span>");
        }
        if let Some(old) = &c.no_longer_matches {
            let _ = write!(
                why,
                "<br><span class=\"uncertain\">{}</span>",
                (s.no_longer_matches)(&esc(&old.trainer), &esc(s.verdict(&old.verdict)))
            );
        }
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{result}</td><td>{why}</td></tr>",
            esc(pick(&c.name, lang))
        );
    }
    o.push_str("</table>");
    o
}

fn attempt_section(
    r: &TraineeReport,
    a: &AttemptRow,
    s: &Strings,
    lang: Lang,
    tz: &TimeZone,
) -> String {
    let mut o = String::from("<section class=\"attempt\">\n");
    let title = r
        .scenario_titles
        .get(&a.scenario)
        .map(|t| format!("{} ({})", esc(pick(t, lang)), esc(&a.scenario)))
        .unwrap_or_else(|| esc(&a.scenario));
    let result = match (a.status, a.passed) {
        (AttemptStatus::Interrupted, _) | (_, None) => {
            format!("<span class=\"muted\">{}</span>", s.interrupted)
        }
        (_, Some(true)) => verdict_cell("pass", s),
        (_, Some(false)) => verdict_cell("fail", s),
    };
    let score = a
        .score
        .map(|n| format!(" · {} {n:.0}", s.score))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "<h3>{} · {title} · {result}{score}</h3>",
        esc(&when::minute(a.started, tz))
    );
    // The call's facts, then who has looked at it.
    let mut facts: Vec<(&str, String)> = vec![(
        s.pickup,
        (s.pickup_value)(a.rings, a.pickup_ms.map(|ms| ms as f64 / 1000.0)),
    )];
    if let Some(ms) = a.first_words_ms {
        facts.push((s.first_words, (s.seconds)(ms as f64 / 1000.0)));
    }
    if let Some(c) = a.speech_rate_cpm {
        facts.push((s.speech_rate, (s.per_minute)(c)));
    }
    let mut review = match (&a.reviewed_by, a.reviewed_at) {
        (Some(by), Some(at)) => (s.reviewed_by)(by, &when::minute(at, tz)),
        _ => s.not_reviewed.to_string(),
    };
    if a.needs_review {
        let _ = write!(review, " · {}", s.needs_review);
    }
    if a.corrected {
        let _ = write!(review, " · {}", s.corrected);
    }
    facts.push((s.review, review));
    o.push_str("<dl class=\"facts\">");
    for (k, v) in facts {
        let _ = write!(o, "<div><dt>{k}</dt><dd>{}</dd></div>", esc(&v));
    }
    o.push_str("</dl>\n");
    if a.status == AttemptStatus::Finished {
        o.push_str(&checks_table(a, s, lang));
        o.push('\n');
    }
    // What was said, turn by turn, and what a model answer says.
    let turns: Vec<&str> = if a.turns.is_empty() {
        vec![a.transcript.as_str()]
    } else {
        a.turns.iter().map(String::as_str).collect()
    };
    let said: Vec<String> = if turns.len() > 1 {
        turns
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{} {}", (s.trainee_turn)(i + 1), esc(t)))
            .collect()
    } else {
        turns.iter().map(|t| esc(t)).collect()
    };
    let _ = writeln!(
        o,
        "<p class=\"said\"><b>{}</b> {}</p>",
        s.transcript,
        said.join("<br>")
    );
    if let Some(model) = r.model_answers.get(&a.scenario) {
        let org = if a.org.is_empty() { "…" } else { &a.org };
        let lines: Vec<String> = model
            .iter()
            .map(|t| esc(&t.replace(crate::scenario::ORG_PLACEHOLDER, org)))
            .collect();
        let _ = writeln!(
            o,
            "<p class=\"said muted\"><b>{}</b> {}</p>",
            s.model_answer,
            lines.join("<br>")
        );
    }
    o.push_str("</section>\n");
    o
}

/// Writes the whole page, its times in `tz`.
pub fn write_html(
    r: &TraineeReport,
    s: &Strings,
    tz: &TimeZone,
    out: &mut impl Write,
) -> io::Result<()> {
    let lang = if s.html_lang == "en" {
        Lang::En
    } else {
        Lang::Zh
    };
    let mut o = String::new();
    let title = format!("ringcoach — {}", r.trainee);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{}\n</style>\n</head>\n<body>\n",
        s.html_lang,
        esc(&title),
        css()
    );
    let _ = writeln!(o, "<h1>{}</h1>", (s.title)(&esc(&r.trainee)));
    let range = match (r.from, r.to) {
        (None, None) => s.all.to_string(),
        (Some(f), None) => (s.from)(&when::minute(f, tz)),
        (None, Some(t)) => (s.before)(&when::minute(t, tz)),
        (Some(f), Some(t)) => format!("{} – {}", when::minute(f, tz), when::minute(t, tz)),
    };
    let scored = r.scored().count();
    let passed = r.scored().filter(|(a, _)| a.passed == Some(true)).count();
    let mean = r
        .mean_score()
        .map(|m| format!("{m:.0}"))
        .unwrap_or_else(|| "–".into());
    let at = r
        .attempts
        .first()
        .map_or(crate::store::Timestamp::now(), |a| a.started);
    let _ = writeln!(
        o,
        "<p class=\"muted\">{} · {} · {}{}</p>",
        esc(&range),
        (s.summary)(r.attempts.len(), scored, passed, &mean),
        esc(&(s.times_in)(&when::zone_label(at, tz))),
        r.generated_at
            .as_deref()
            .map(|g| format!(" · {} {}", s.generated, esc(g)))
            .unwrap_or_default()
    );
    let weakest: Vec<String> = r
        .weakest()
        .iter()
        .take(3)
        .map(|c| {
            format!(
                "{} ({:.0}%)",
                esc(&category_name(&c.category, lang)),
                c.pass_rate() * 100.0
            )
        })
        .collect();
    if !weakest.is_empty() {
        let _ = writeln!(o, "<p>{} {}</p>", s.weakest, weakest.join(", "));
    }
    let _ = writeln!(
        o,
        "<h2>{}</h2>\n{}\n<h2>{}</h2>\n{}",
        s.progress,
        progress_svg(r, s, tz),
        s.pass_rate,
        rates_table(r, s, lang)
    );
    let _ = writeln!(o, "<h2>{}</h2>", s.attempts);
    // Newest first: the attempt a manager asks about is usually the latest.
    for a in r.attempts.iter().rev() {
        o.push_str(&attempt_section(r, a, s, lang, tz));
    }
    o.push_str("</body>\n</html>\n");
    out.write_all(o.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_names_and_transcripts() {
        assert_eq!(
            esc("<b>\"a\" & 'b'</b>"),
            "&lt;b&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/b&gt;"
        );
        assert_eq!(esc("您好,广利物业"), "您好,广利物业");
    }
}
