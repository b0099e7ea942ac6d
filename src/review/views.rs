//! Rendering of the review state. Pure functions of [`Review`]: no store, no audio.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::{
    Axis, Bar, BarChart, BarGroup, Block, Chart, Clear, Dataset, GraphType, List, ListItem,
    ListState, Paragraph, Wrap,
};
use ratatui::Frame;

use super::model::{audit_line, AttemptView, ProgressView};
use super::strings::{mark, Strings};
use super::{Field, Input, Review, Screen};
use crate::config::Lang;
use crate::store::{SortKey, Timestamp, Verdict};

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

pub fn render(r: &Review, frame: &mut Frame) {
    let s = r.s();
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        frame.render_widget(Paragraph::new(s.too_small).wrap(Wrap { trim: true }), area);
        return;
    }
    // A message wraps (up to three rows) instead of being cut at the edge, where its
    // cause usually is.
    let status_rows = match (&r.input, &r.status) {
        (None, Some(msg)) => {
            let cols = TLine::from(msg.as_str()).width();
            u16::try_from((cols + cols / 5).div_ceil(usize::from(area.width.max(1))))
                .unwrap_or(3)
                .clamp(1, 3)
        }
        _ => 1,
    };
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(status_rows),
        Constraint::Length(2),
    ])
    .areas(area);
    let title = match &r.screen {
        Screen::Queue if r.rows.len() >= super::QUEUE_LIMIT => {
            format!("{} · {}", s.queue_title, (s.queue_capped)(r.rows.len()))
        }
        Screen::Queue => format!("{} · {}", s.queue_title, (s.queue_count)(r.rows.len())),
        Screen::Attempt(a) => format!("{} · {}", a.trainee, a.id),
        Screen::Progress(p) => format!("{} · {}", s.progress_title, p.trainee),
    };
    frame.render_widget(
        TLine::from(vec![
            Span::styled(s.app, Style::new().bold()),
            Span::raw(format!("  ·  {title}  ·  {} {}", s.trainer, r.trainer)),
        ]),
        header,
    );
    match &r.screen {
        Screen::Queue => queue(r, frame, body),
        Screen::Attempt(a) => attempt(r, a, frame, body),
        Screen::Progress(p) => progress(s, p, frame, body),
    }
    // The status line: an input being typed, else the last message, else playback.
    let status_line = match &r.input {
        Some(input) => input_line(r, input),
        None => match (&r.status, r.playing) {
            (Some(msg), _) => TLine::from(Span::styled(msg.clone(), Style::new().fg(Color::Red))),
            (None, Some(ms)) => TLine::from(format!("{} {}", s.playing, clock(ms))),
            (None, None) => TLine::default(),
        },
    };
    frame.render_widget(
        Paragraph::new(status_line).wrap(Wrap { trim: true }),
        status,
    );
    let keys = match (&r.input, &r.screen) {
        (Some(Input::Note { .. }), _) => s.note_keys,
        (Some(_), _) => s.input_keys,
        (None, Screen::Queue) => s.queue_keys,
        (None, Screen::Attempt(_)) => s.attempt_keys,
        (None, Screen::Progress(_)) => s.progress_keys,
    };
    // While typing, a complaint about the input (a bad date, a missing note) takes the
    // footer, since the status line holds the input itself.
    let footer_text = match (&r.input, &r.status) {
        (Some(_), Some(msg)) => Paragraph::new(msg.as_str()).style(Style::new().fg(Color::Red)),
        _ => Paragraph::new(keys).style(Style::new().dim()),
    };
    frame.render_widget(footer_text.wrap(Wrap { trim: true }), footer);
    if r.help {
        let popup = centered(body, 64, 16);
        frame.render_widget(Clear, popup);
        frame.render_widget(
            Paragraph::new(s.help_body)
                .wrap(Wrap { trim: true })
                .block(Block::bordered().title(s.help_title)),
            popup,
        );
    }
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// `text` cut or padded to `width` terminal columns. Chinese characters take two columns,
/// so `format!("{:<10}")`, which counts characters, would push the columns after a Chinese
/// name or word out of line.
fn fit(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = Span::raw(c.to_string()).width();
        if used + w > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.extend(std::iter::repeat_n(' ', width - used));
    out
}

fn clock(ms: u64) -> String {
    format!("{}:{:02}.{}", ms / 60_000, ms / 1000 % 60, ms / 100 % 10)
}

/// "11-27 09:12" (UTC): enough to tell attempts apart in a queue.
fn short_time(t: Timestamp) -> String {
    let s = t.to_rfc3339();
    format!("{} {}", &s[5..10], &s[11..16])
}

fn input_line(r: &Review, input: &Input) -> TLine<'static> {
    let s = r.s();
    let (label, line) = match input {
        Input::Filter(f, l) => (
            match f {
                Field::Search => s.in_search.to_string(),
                Field::Trainee => s.in_trainee.to_string(),
                Field::Scenario => s.in_scenario.to_string(),
                Field::Since => s.in_since.to_string(),
            },
            l,
        ),
        Input::Note {
            check,
            verdict,
            line,
        } => {
            let id = match &r.screen {
                Screen::Attempt(a) => a.checks.get(*check).map(|c| c.id.clone()),
                _ => None,
            };
            (
                (s.in_note)(&id.unwrap_or_default(), s.verdict(verdict)),
                line,
            )
        }
        Input::Transcript(l) => (s.in_transcript.to_string(), l),
    };
    // The cursor is drawn as a reversed cell so it shows in any terminal (and in snapshots
    // as the character under it).
    let before: String = line.text.chars().take(line.cursor).collect();
    let at: String = line
        .text
        .chars()
        .nth(line.cursor)
        .map_or(" ".into(), String::from);
    let after: String = line.text.chars().skip(line.cursor + 1).collect();
    TLine::from(vec![
        Span::styled(label, Style::new().bold()),
        Span::raw(before),
        Span::styled(at, Style::new().add_modifier(Modifier::REVERSED)),
        Span::raw(after),
    ])
}

fn filter_summary(r: &Review) -> String {
    let s = r.s();
    let f = &r.filter;
    let mut parts = vec![];
    if let Some(t) = &f.trainee {
        parts.push(format!("{}={t}", s.f_trainee));
    }
    if let Some(sc) = &f.scenario {
        parts.push(format!("{}={sc}", s.f_scenario));
    }
    if let Some(d) = &f.since {
        parts.push(format!("{}={d}", s.f_since));
    }
    if let Some(v) = f.verdict {
        parts.push(
            match v {
                Verdict::Passed => s.f_passed,
                Verdict::Failed => s.f_failed,
                Verdict::Interrupted => s.f_interrupted,
                Verdict::Ungraded => s.f_ungraded,
            }
            .to_string(),
        );
    }
    if f.needs_review {
        parts.push(s.f_needs_review.into());
    }
    if f.unreviewed {
        parts.push(s.f_unreviewed.into());
    }
    if let Some(t) = &f.text {
        parts.push(format!("{}~{t}", s.f_text));
    }
    let sort = match f.sort {
        SortKey::Started => s.sort_newest,
        SortKey::Score => s.sort_score,
        SortKey::Trainee => s.sort_trainee,
        SortKey::Scenario => s.sort_scenario,
    };
    let shown = if parts.is_empty() {
        s.no_filters.to_string()
    } else {
        parts.join(" · ")
    };
    format!("{} {shown}  ·  {} {sort}", s.filters, s.sort)
}

fn queue(r: &Review, frame: &mut Frame, area: Rect) {
    let s = r.s();
    let [filters, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(
        TLine::from(Span::styled(
            filter_summary(r),
            Style::new().fg(Color::Cyan),
        )),
        filters,
    );
    if r.rows.is_empty() {
        let text = if r.filter.is_empty() {
            (s.empty_store)(&r.data_dir)
        } else {
            s.empty_filtered.to_string()
        };
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(Block::bordered()),
            list,
        );
        return;
    }
    let items: Vec<ListItem> = r
        .rows
        .iter()
        .map(|a| {
            let score = a.score.map_or("  –".to_string(), |n| format!("{n:>3.0}"));
            let flags = format!(
                "{}{}{}",
                if a.needs_review { "?" } else { " " },
                if a.reviewed { "✓" } else { " " },
                if a.overrules > 0 { "✎" } else { " " },
            );
            let word = match a.status {
                crate::store::AttemptStatus::Ungraded => s.report.ungraded,
                _ => s.verdict_word(a.passed),
            };
            let colour = match a.passed {
                Some(true) => Color::Green,
                Some(false) => Color::Red,
                None => Color::DarkGray,
            };
            ListItem::new(TLine::from(vec![
                Span::raw(format!(
                    "{} {} {} {score} ",
                    short_time(a.started),
                    fit(&a.trainee, 10),
                    fit(&a.scenario, 16)
                )),
                Span::styled(fit(word, 12), Style::new().fg(colour)),
                Span::raw(format!("{flags} {}", a.text)),
            ]))
        })
        .collect();
    // The headings line up with the row fields (after the one column of the ▸ marker);
    // "score" is wider than its numbers, so it takes two columns of the scenario's.
    let [started, trainee, scenario, score, result, flags, text] = s.columns;
    let heading = format!(
        " {} {} {} {} {} {} {} ",
        fit(started, 11),
        fit(trainee, 10),
        fit(scenario, 14),
        fit(score, 5),
        fit(result, 11),
        flags,
        text,
    );
    let mut state = ListState::default().with_selected(Some(r.selected));
    frame.render_stateful_widget(
        List::new(items)
            .block(Block::bordered().title(heading))
            .highlight_symbol("▸")
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED)),
        list,
        &mut state,
    );
}

fn attempt(r: &Review, a: &AttemptView, frame: &mut Frame, area: Rect) {
    let s = r.s();
    let [summary, checks, detail, transcript, audit] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(5),
        Constraint::Length(2),
        Constraint::Length(4),
        Constraint::Length(4),
    ])
    .areas(area);

    let mut head = vec![];
    match (a.status, a.passed) {
        (crate::store::AttemptStatus::Ungraded, _) => head.push(Span::styled(
            s.report.ungraded,
            Style::new().fg(Color::DarkGray),
        )),
        (crate::store::AttemptStatus::Interrupted, _) | (_, None) => head.push(Span::styled(
            s.interrupted,
            Style::new().fg(Color::DarkGray),
        )),
        (_, Some(true)) => head.push(Span::styled(s.passed, Style::new().fg(Color::Green).bold())),
        (_, Some(false)) => head.push(Span::styled(
            s.not_passed,
            Style::new().fg(Color::Red).bold(),
        )),
    }
    if let Some(n) = a.score {
        head.push(Span::raw(format!(" {n}/100")));
    }
    head.push(Span::raw(format!(
        " · {} · {} · {}",
        a.scenario,
        short_time(a.started),
        clock(a.duration_ms)
    )));
    for (on, word) in [
        (a.reviewed, s.reviewed),
        (a.corrected, s.report.corrected),
        (a.regraded, s.regraded),
    ] {
        if on {
            head.push(Span::styled(
                format!(" · {word}"),
                Style::new().fg(Color::Cyan),
            ));
        }
    }
    frame.render_widget(TLine::from(head), summary);

    let items: Vec<ListItem> = a
        .checks
        .iter()
        .map(|c| {
            let colour = match c.verdict.as_str() {
                "pass" => Color::Green,
                "fail" => Color::Red,
                "uncertain" => Color::Yellow,
                _ => Color::DarkGray,
            };
            let mut spans = vec![
                Span::styled(format!("{} ", mark(&c.verdict)), Style::new().fg(colour)),
                Span::raw(fit(&c.id, 22)),
                Span::styled(fit(s.verdict(&c.verdict), 10), Style::new().fg(colour)),
            ];
            if c.critical {
                spans.push(Span::raw(format!("{} ", s.critical)));
            }
            if let Some(by) = &c.overruled_by {
                spans.push(Span::styled(
                    format!(
                        "{} ",
                        (s.was_overruled)(s.verdict(&c.graded.to_string()), by)
                    ),
                    Style::new().fg(Color::Cyan),
                ));
            }
            if let Some(ms) = c.at_ms {
                spans.push(Span::styled(
                    format!("{} {}", s.evidence_at, clock(ms)),
                    Style::new().dim(),
                ));
            }
            ListItem::new(TLine::from(spans))
        })
        .collect();
    let mut state = ListState::default().with_selected((!a.checks.is_empty()).then_some(r.check));
    frame.render_stateful_widget(
        List::new(items)
            .block(Block::bordered().title(format!(" {} ", s.checks)))
            .highlight_symbol("▸")
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED)),
        checks,
        &mut state,
    );

    let selected = a.checks.get(r.check);
    if let Some(c) = selected {
        let message = match r.lang {
            Lang::Zh => &c.message_zh,
            Lang::En => &c.message_en,
        };
        frame.render_widget(
            Paragraph::new(message.as_str()).wrap(Wrap { trim: true }),
            detail,
        );
    }

    // The transcript with every check's evidence underlined and the selected check's
    // evidence reversed.
    let chars: Vec<char> = a.normalized.chars().collect();
    let mut spans = vec![];
    if chars.is_empty() {
        let shown = if a.status == crate::store::AttemptStatus::Interrupted {
            s.not_transcribed.to_string()
        } else if a.transcript.trim().is_empty() {
            s.nothing_heard.to_string()
        } else {
            a.transcript.clone()
        };
        spans.push(Span::raw(shown));
    }
    for (i, ch) in chars.iter().enumerate() {
        let mut style = Style::new();
        for c in &a.checks {
            if c.evidence.iter().any(|&(s, e)| s <= i && i < e) {
                let colour = match c.verdict.as_str() {
                    "fail" => Color::Red,
                    "uncertain" => Color::Yellow,
                    _ => Color::Green,
                };
                style = style.fg(colour).add_modifier(Modifier::UNDERLINED);
            }
        }
        if selected.is_some_and(|c| c.evidence.iter().any(|&(s, e)| s <= i && i < e)) {
            style = style.add_modifier(Modifier::REVERSED);
        }
        spans.push(Span::styled(ch.to_string(), style));
    }
    frame.render_widget(
        Paragraph::new(TLine::from(spans))
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(format!(" {} ", s.transcript))),
        transcript,
    );

    let lines: Vec<TLine> = if a.audit.is_empty() {
        vec![TLine::from(Span::styled(s.no_audit, Style::new().dim()))]
    } else {
        // The newest entries, which are what a trainer has just done.
        let skip = a.audit.len().saturating_sub(2);
        a.audit[skip..]
            .iter()
            .map(|e| TLine::from(audit_line(e, s)))
            .collect()
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(format!(" {} ({}) ", s.audit, a.audit.len()))),
        audit,
    );
}

fn progress(s: &Strings, p: &ProgressView, frame: &mut Frame, area: Rect) {
    let [line, chart, bars] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Percentage(55),
        Constraint::Min(0),
    ])
    .areas(area);
    let mean = if p.scores.is_empty() {
        "–".to_string()
    } else {
        format!(
            "{:.0}",
            p.scores.iter().map(|(_, n)| n).sum::<f64>() / p.scores.len() as f64
        )
    };
    frame.render_widget(
        TLine::from((s.progress_line)(
            p.attempts,
            p.scores.len(),
            p.passed,
            &mean,
        )),
        line,
    );
    if p.scores.is_empty() {
        frame.render_widget(
            Paragraph::new(s.no_scores).block(Block::bordered().title(format!(" {} ", s.scores))),
            chart,
        );
    } else {
        let data: Vec<(f64, f64)> = p
            .scores
            .iter()
            .enumerate()
            .map(|(i, (_, n))| ((i + 1) as f64, *n))
            .collect();
        let n = data.len() as f64;
        let first = p
            .scores
            .first()
            .map(|(t, _)| short_time(*t))
            .unwrap_or_default();
        let last = p
            .scores
            .last()
            .map(|(t, _)| short_time(*t))
            .unwrap_or_default();
        let ds = Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::Cyan))
            .data(&data);
        frame.render_widget(
            Chart::new(vec![ds])
                .block(Block::bordered().title(format!(" {} ", s.scores)))
                .x_axis(
                    Axis::default()
                        .bounds([1.0, n.max(2.0)])
                        .labels([first, last]),
                )
                .y_axis(
                    Axis::default()
                        .bounds([0.0, 100.0])
                        .labels(["0", "50", "100"]),
                ),
            chart,
        );
    }
    let bars_data: Vec<Bar> = p
        .categories
        .iter()
        .map(|(name, rate, _)| {
            let pct = (rate * 100.0).round() as u64;
            Bar::default()
                .label(TLine::from(name.clone()))
                .value(pct)
                .text_value(format!("{pct}%"))
        })
        .collect();
    frame.render_widget(
        BarChart::default()
            .block(Block::bordered().title(format!(" {} ", s.weakest)))
            .data(BarGroup::default().bars(&bars_data))
            .bar_width(9)
            .bar_gap(1)
            .max(100),
        bars,
    );
}
