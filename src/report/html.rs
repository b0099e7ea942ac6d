//! The HTML report: one self-contained file (inline CSS and SVG, no scripts, no external
//! fonts or images) that a trainer can mail or print. Plots: score per attempt over time
//! (with the pass line), and pass rate per category, weakest first. Its words are the
//! report's own ([`super::strings`]), in the language asked for.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::strings::Strings;
use super::TraineeReport;

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

fn date(t: crate::store::Timestamp) -> String {
    let (y, m, d) = t.date();
    format!("{y:04}-{m:02}-{d:02}")
}

const CSS: &str = "body{font-family:system-ui,'Noto Sans CJK SC','PingFang SC',sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;color:#111}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #bbb;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{background:#eee}.pass{color:#0a6b20}.fail{color:#b00020;font-weight:bold}.uncertain{color:#8a5a00}
.muted{color:#555}svg{max-width:100%;height:auto}svg text{font-size:11px;fill:#222}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}tr,svg{break-inside:avoid}a{color:inherit}}";

/// Score per attempt, oldest left; a dashed line at the pass mark is not drawn because the
/// pass mark belongs to each rubric — passed attempts are filled dots, failed ones hollow.
fn progress_svg(r: &TraineeReport, s: &Strings) -> String {
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
        let first = date(scored[0].0.started);
        let last = date(scored[scored.len() - 1].0.started);
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

/// Horizontal bars: pass rate per category, weakest first.
fn categories_svg(r: &TraineeReport, s: &Strings) -> String {
    let cats = r.weakest();
    let row_h = 22.0;
    let (w, l, rpad) = (640.0, 150.0, 60.0);
    let h = (cats.len().max(1) as f64) * row_h + 10.0;
    let bw = w - l - rpad;
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">",
        s.pass_rate
    );
    if cats.is_empty() {
        let _ = write!(o, "<text x=\"10\" y=\"20\">{}</text>", s.no_checks);
    }
    for (i, c) in cats.iter().enumerate() {
        let y = 5.0 + i as f64 * row_h;
        let rate = c.pass_rate();
        let colour = if rate >= 0.8 {
            "#2e8540"
        } else if rate >= 0.5 {
            "#c28a00"
        } else {
            "#b00020"
        };
        let _ = write!(
            o,
            "<text x=\"{tx}\" y=\"{ty:.1}\" text-anchor=\"end\">{name}</text><rect x=\"{l}\" y=\"{y:.1}\" width=\"{bw}\" height=\"{hh}\" fill=\"#eee\"/><rect x=\"{l}\" y=\"{y:.1}\" width=\"{fw:.1}\" height=\"{hh}\" fill=\"{colour}\"/><text x=\"{px:.1}\" y=\"{ty:.1}\">{pct:.0}% ({p}/{n})</text>",
            tx = l - 6.0,
            ty = y + 13.0,
            name = esc(&c.category),
            hh = row_h - 6.0,
            fw = bw * rate,
            px = l + bw + 4.0,
            pct = rate * 100.0,
            p = c.pass,
            n = c.total()
        );
    }
    o.push_str("</svg>");
    o
}

/// A verdict in the page's language, classed by its stored word for the colours.
fn verdict_cell(v: &str, s: &Strings) -> String {
    format!("<span class=\"{}\">{}</span>", esc(v), esc(s.verdict(v)))
}

/// Writes the whole page.
pub fn write_html(r: &TraineeReport, s: &Strings, out: &mut impl Write) -> io::Result<()> {
    let h = s;
    let mut o = String::new();
    let title = format!("ringcoach — {}", r.trainee);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"zh-Hans\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n",
        esc(&title)
    );
    let _ = writeln!(o, "<h1>{}</h1>", (h.title)(&esc(&r.trainee)));
    let range = match (r.from, r.to) {
        (None, None) => h.all.to_string(),
        (Some(f), None) => (h.from)(&f.to_rfc3339()),
        (None, Some(t)) => (h.before)(&t.to_rfc3339()),
        (Some(f), Some(t)) => format!("{} – {}", f.to_rfc3339(), t.to_rfc3339()),
    };
    let scored = r.scored().count();
    let passed = r.scored().filter(|(a, _)| a.passed == Some(true)).count();
    let mean = r
        .mean_score()
        .map(|m| format!("{m:.0}"))
        .unwrap_or_else(|| "–".into());
    let _ = writeln!(
        o,
        "<p class=\"muted\">{} · {}{}</p>",
        esc(&range),
        (h.summary)(r.attempts.len(), scored, passed, &mean),
        r.generated_at
            .as_deref()
            .map(|g| format!(" · {} {}", h.generated, esc(g)))
            .unwrap_or_default()
    );
    let weakest: Vec<String> = r
        .weakest()
        .iter()
        .take(3)
        .map(|c| format!("{} ({:.0}%)", esc(&c.category), c.pass_rate() * 100.0))
        .collect();
    if !weakest.is_empty() {
        let _ = writeln!(o, "<p>{} {}</p>", h.weakest, weakest.join(", "));
    }
    let _ = writeln!(
        o,
        "<h2>{}</h2>\n{}\n<h2>{}</h2>\n{}",
        h.progress,
        progress_svg(r, s),
        h.pass_rate,
        categories_svg(r, s)
    );
    let _ = write!(o, "<h2>{}</h2>\n<table>\n<tr>", h.attempts);
    for c in h.columns {
        let _ = write!(o, "<th>{c}</th>");
    }
    o.push_str("</tr>\n");
    for a in &r.attempts {
        let result = match (a.status, a.passed) {
            (crate::store::AttemptStatus::Interrupted, _) => s.interrupted.to_string(),
            (crate::store::AttemptStatus::Ungraded, _) | (_, None) => s.ungraded.to_string(),
            (_, Some(true)) => verdict_cell("pass", s),
            (_, _) => verdict_cell("fail", s),
        };
        let mut notes: Vec<String> = a
            .checks
            .iter()
            .filter(|c| c.verdict == "fail" || c.verdict == "uncertain" || c.overruled_by.is_some())
            .map(|c| {
                let mut cell = format!("{} {}", esc(&c.id), verdict_cell(&c.verdict, s));
                if let Some(by) = &c.overruled_by {
                    let _ = write!(
                        cell,
                        " <span class=\"muted\">{}</span>",
                        (h.was_overruled)(
                            &esc(s.verdict(&c.graded)),
                            &esc(by),
                            &esc(c.overrule_note.as_deref().unwrap_or(""))
                        )
                    );
                }
                cell
            })
            .collect();
        if a.corrected {
            notes.push(format!("<span class=\"muted\">{}</span>", s.corrected));
        }
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&a.started.to_rfc3339()),
            esc(&a.scenario),
            a.score.map(|s| format!("{s:.0}")).unwrap_or_default(),
            result,
            notes.join("<br>"),
            esc(&a.transcript)
        );
    }
    o.push_str("</table>\n</body>\n</html>\n");
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
