//! Rendering of the review state. Pure functions of [`Review`]: no store, no audio.
//!
//! Everything is laid out in terminal columns (a Chinese character takes two), measured with
//! [`unicode_width`], and every piece of data drawn is first made one line: a newline inside
//! a row (a two-turn transcript, a note) would break the box around it.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::{
    Axis, Block, Chart, Clear, Dataset, GraphType, List, ListItem, ListState, Paragraph, Wrap,
};
use ratatui::Frame;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::model::{audit_line, one_line, AttemptView, CheckRow, Fold, ProgressView};
use super::strings::mark;
use super::{Field, Input, Review, Screen};
use crate::config::Lang;
use crate::report::strings::category_name;
use crate::report::when;
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
        Screen::Settle(v) => format!(
            "{} · {}",
            super::settle::settle_strings(r.lang).title,
            v.items.len()
        ),
    };
    frame.render_widget(
        TLine::from(vec![
            Span::styled(s.app, Style::new().bold()),
            Span::raw(one_line(&format!(
                "  ·  {title}  ·  {} {}",
                s.trainer, r.trainer
            ))),
        ]),
        header,
    );
    match &r.screen {
        Screen::Queue => queue(r, frame, body),
        Screen::Attempt(a) => attempt(r, a, frame, body),
        Screen::Progress(p) => progress(r, p, frame, body),
        Screen::Settle(v) => super::settle::render(r, v, frame, body),
    }
    // The status line: an input being typed, else the last message, else playback.
    let status_line = match &r.input {
        Some(input) => input_line(r, input, status.width as usize),
        None => match (&r.status, r.playing) {
            (Some(msg), _) => TLine::from(Span::styled(one_line(msg), Style::new().fg(Color::Red))),
            (None, Some(ms)) => TLine::from(format!("{} {}", s.playing, clock(ms))),
            (None, None) => TLine::default(),
        },
    };
    // The question about an overrule a re-grade no longer matches is the one thing on the
    // screen that waits for an answer: it may take the status line and the footer's first
    // row, so it is read whole, and its keys stay on the last row.
    if let Some(Input::Stale { check }) = &r.input {
        let [question, keys] = Layout::vertical([Constraint::Length(2), Constraint::Length(1)])
            .areas(status.union(footer));
        let mut lines: Vec<TLine> = wrap(&stale_question(r, *check), question.width as usize)
            .into_iter()
            .take(2)
            .map(|l| TLine::from(Span::styled(l, Style::new().fg(Color::Yellow).bold())))
            .collect();
        if let (1, Some(msg)) = (lines.len(), &r.status) {
            lines.push(TLine::from(Span::styled(
                one_line(msg),
                Style::new().fg(Color::Green),
            )));
        }
        frame.render_widget(Paragraph::new(lines), question);
        frame.render_widget(
            Paragraph::new(one_line(s.stale_keys)).style(Style::new().dim()),
            keys,
        );
        return;
    }
    frame.render_widget(
        Paragraph::new(status_line).wrap(Wrap { trim: true }),
        status,
    );
    let keys = match (&r.input, &r.screen) {
        (Some(Input::Note { .. }), _) => s.note_keys,
        (Some(Input::Stale { .. }), _) => s.stale_keys,
        (Some(Input::Transcript { lines, .. }), _) if lines.len() > 1 => s.transcript_keys,
        (Some(_), _) => s.input_keys,
        (None, Screen::Queue) => s.queue_keys,
        (None, Screen::Attempt(_)) => s.attempt_keys,
        (None, Screen::Progress(_)) => s.progress_keys,
        (None, Screen::Settle(_)) => super::settle::settle_strings(r.lang).keys,
    };
    // While typing, a complaint about the input (a bad date, a missing note) takes the
    // footer, since the status line holds the input itself.
    let footer_text = match (&r.input, &r.status) {
        (Some(_), Some(msg)) => Paragraph::new(one_line(msg)).style(Style::new().fg(Color::Red)),
        _ => Paragraph::new(keys).style(Style::new().dim()),
    };
    frame.render_widget(footer_text.wrap(Wrap { trim: true }), footer);
    if r.help {
        let popup = centered(body, 72, 18);
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

/// Columns `text` takes in a terminal.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` cut or padded to exactly `w` terminal columns; cut text ends in "…" so nobody
/// takes it for the whole. Chinese characters take two columns, so `format!("{:<10}")`,
/// which counts characters, would push the columns after a Chinese word out of line.
pub fn fit(text: &str, w: usize) -> String {
    let text = one_line(text);
    if width(&text) <= w {
        let pad = w - width(&text);
        return text + &" ".repeat(pad);
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        out.push(c);
        used += cw;
    }
    if w > 0 {
        out.push('…');
        used += 1;
    }
    out + &" ".repeat(w.saturating_sub(used))
}

/// `text` broken into lines of at most `w` columns: after a space in the second half of the
/// line when there is one (English), else at any character (Chinese has no spaces).
pub fn wrap(text: &str, w: usize) -> Vec<String> {
    let mut lines = vec![];
    let mut cur = String::new();
    for c in one_line(text).chars() {
        let cw = c.width().unwrap_or(0);
        if width(&cur) + cw > w && !cur.is_empty() {
            let half = cur.len() / 2;
            match cur.rfind(' ').filter(|&i| i >= half) {
                Some(i) => {
                    let rest = cur[i + 1..].to_string();
                    cur.truncate(i);
                    lines.push(std::mem::replace(&mut cur, rest));
                }
                None => lines.push(std::mem::take(&mut cur)),
            }
        }
        cur.push(c);
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

fn clock(ms: u64) -> String {
    format!("{}:{:02}.{}", ms / 60_000, ms / 1000 % 60, ms / 100 % 10)
}

/// "wang's overrule of … no longer matches the re-graded …: keep it?" for check `check`.
fn stale_question(r: &Review, check: usize) -> String {
    let s = r.s();
    let c = match &r.screen {
        Screen::Attempt(a) => a.checks.get(check),
        _ => None,
    };
    c.and_then(|c| {
        let old = c.no_longer_matches.as_ref()?;
        Some((s.ask_stale)(
            c.name(r.lang),
            &old.trainer,
            s.verdict(&old.verdict),
            s.verdict(&c.verdict),
        ))
    })
    .unwrap_or_default()
}

/// The line being typed, scrolled so the cursor is always on screen.
fn input_line(r: &Review, input: &Input, cols: usize) -> TLine<'static> {
    let s = r.s();
    if let Input::Stale { check } = input {
        return TLine::from(Span::styled(
            one_line(&stale_question(r, *check)),
            Style::new().fg(Color::Yellow).bold(),
        ));
    }
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
            let name = match &r.screen {
                Screen::Attempt(a) => a.checks.get(*check).map(|c| c.name(r.lang).to_string()),
                _ => None,
            };
            (
                (s.in_note)(&name.unwrap_or_default(), s.verdict(verdict)),
                line,
            )
        }
        Input::Transcript { turn, lines } => {
            let label = if lines.len() > 1 {
                (s.in_transcript_turn)(turn + 1, lines.len())
            } else {
                s.in_transcript.to_string()
            };
            match lines.get(*turn) {
                Some(l) => (label, l),
                None => return TLine::default(),
            }
        }
        Input::Stale { .. } => unreachable!("answered above"),
    };
    // The cursor is drawn as a reversed cell so it shows in any terminal (and in snapshots
    // as the character under it).
    let mut before: String = line.text.chars().take(line.cursor).collect();
    let at: String = line
        .text
        .chars()
        .nth(line.cursor)
        .map_or(" ".into(), String::from);
    let after: String = line.text.chars().skip(line.cursor + 1).collect();
    // Keep the cursor in view: drop characters from the start, marked with "…".
    let room = cols.saturating_sub(width(&label) + width(&at) + 1);
    if width(&before) > room {
        while width(&before) + 1 > room && !before.is_empty() {
            before.remove(0);
        }
        before.insert(0, '…');
    }
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
        parts.push(format!("{}={t}…", s.f_trainee));
    }
    if let Some(sc) = &f.scenario {
        parts.push(format!("{}={sc}…", s.f_scenario));
    }
    if let Some((typed, _)) = &f.since {
        parts.push(format!("{}={typed}", s.f_since));
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
        parts.push(format!("{}≈{t}", s.f_text));
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

// The queue's columns (after the one of the ▸ marker): started, trainee, scenario, score,
// result, flags; the transcript takes the rest.
const Q_TIME: usize = 11;
const Q_TRAINEE: usize = 10;
const Q_SCENARIO: usize = 16;
const Q_SCORE: usize = 5;
const Q_RESULT: usize = 11;
const Q_FLAGS: usize = 3;

fn queue(r: &Review, frame: &mut Frame, area: Rect) {
    let s = r.s();
    let [filters, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    // Times are local: say in which zone.
    let at = r.rows.first().map_or(Timestamp::now(), |a| a.started);
    let zone = format!("  ·  {}", (s.times_in)(&when::offset_label(at, &r.tz)));
    let summary = filter_summary(r);
    let room = (filters.width as usize).saturating_sub(width(&zone));
    frame.render_widget(
        TLine::from(vec![
            Span::styled(fit(&summary, room), Style::new().fg(Color::Cyan)),
            Span::styled(zone, Style::new().dim()),
        ]),
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
    // Inside the borders, after the marker column.
    let text_w = (list.width as usize)
        .saturating_sub(2 + 1 + Q_TIME + Q_TRAINEE + Q_SCENARIO + Q_SCORE + Q_RESULT + Q_FLAGS + 6);
    let items: Vec<ListItem> = r
        .rows
        .iter()
        .map(|a| {
            let score = a.score.map_or("–".to_string(), |n| format!("{n:.0}"));
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
                    "{} {} {} {score:>w$} ",
                    fit(&when::short(a.started, &r.tz), Q_TIME),
                    fit(&a.trainee, Q_TRAINEE),
                    fit(&a.scenario, Q_SCENARIO),
                    w = Q_SCORE,
                )),
                Span::styled(fit(word, Q_RESULT), Style::new().fg(colour)),
                Span::raw(format!(" {flags} {}", fit(&a.text, text_w))),
            ]))
        })
        .collect();
    let [started, trainee, scenario, score, result, flags, text] = s.columns;
    let heading = format!(
        " {} {} {} {} {} {} {} ",
        fit(started, Q_TIME),
        fit(trainee, Q_TRAINEE),
        fit(scenario, Q_SCENARIO),
        fit(score, Q_SCORE),
        fit(result, Q_RESULT),
        fit(flags, Q_FLAGS),
        text,
    );
    let mut state = ListState::default().with_selected(Some(r.selected));
    frame.render_stateful_widget(
        List::new(items)
            .block(
                Block::bordered()
                    .title(heading)
                    .title_bottom(TLine::from(format!(" {} ", s.legend)).right_aligned()),
            )
            .highlight_symbol("▸")
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED)),
        list,
        &mut state,
    );
}

fn verdict_colour(v: &str) -> Color {
    match v {
        "pass" => Color::Green,
        "fail" => Color::Red,
        "uncertain" => Color::Yellow,
        _ => Color::DarkGray,
    }
}

// The checks list: mark, name, verdict, then notes.
const C_NAME: usize = 22;
const C_VERDICT: usize = 10;

fn attempt(r: &Review, a: &AttemptView, frame: &mut Frame, area: Rect) {
    let s = r.s();
    let inner = (area.width as usize).saturating_sub(2);
    let transcript = transcript_lines(r, a, inner);
    let audit = audit_lines(r, a, inner);
    let t_rows = transcript.len().clamp(1, 4) as u16;
    let a_rows = audit.len().clamp(1, 3) as u16;
    let [summary, checks, detail, transcript_area, audit_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(4),
        Constraint::Length(2),
        Constraint::Length(t_rows + 2),
        Constraint::Length(a_rows + 2),
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
    // Local time and its offset from UTC ("+08:00").
    let zone = when::offset_label(a.started, &r.tz);
    head.push(Span::raw(format!(
        " · {} · {} {} · {}",
        a.scenario,
        when::short(a.started, &r.tz),
        zone.trim_start_matches("UTC"),
        clock(a.duration_ms)
    )));
    let both = a.corrected && a.regraded;
    for (on, word) in [
        (a.reviewed, s.reviewed),
        (both, s.corrected_regraded),
        (a.corrected && !both, s.report.corrected),
        (a.regraded && !both, s.regraded),
    ] {
        if on {
            head.push(Span::styled(
                format!(" · {word}"),
                Style::new().fg(Color::Cyan),
            ));
        }
    }
    frame.render_widget(TLine::from(head), summary);

    let rows = a.rows(r.open);
    let items: Vec<ListItem> = rows
        .iter()
        .map(|row| match *row {
            CheckRow::Folded { fold, count, open } => {
                let (v, name) = match fold {
                    Fold::Banned => ("pass", (s.banned_folded)(count)),
                    Fold::NotApplicable => ("not_applicable", (s.na_folded)(count)),
                };
                ListItem::new(TLine::from(vec![
                    Span::styled(format!("{} ", mark(v)), Style::new().fg(verdict_colour(v))),
                    Span::raw(fit(&name, C_NAME)),
                    Span::styled(
                        format!(" {}", fit(s.verdict(v), C_VERDICT)),
                        Style::new().fg(verdict_colour(v)),
                    ),
                    Span::styled(
                        format!(" {}", if open { s.fold } else { s.unfold }),
                        Style::new().dim(),
                    ),
                ]))
            }
            CheckRow::Check(i) => {
                let c = &a.checks[i];
                let colour = verdict_colour(&c.verdict);
                let folded_member = c.fold().is_some_and(|f| r.open.is(f));
                let name = if folded_member {
                    format!("  {}", c.name(r.lang))
                } else {
                    c.name(r.lang).to_string()
                };
                let mut spans = vec![
                    Span::styled(format!("{} ", mark(&c.verdict)), Style::new().fg(colour)),
                    Span::raw(fit(&name, C_NAME)),
                    Span::styled(
                        format!(" {}", fit(s.verdict(&c.verdict), C_VERDICT)),
                        Style::new().fg(colour),
                    ),
                ];
                // After the verdict: critical, where it was said, and what a trainer
                // decided. The decision matters most: when the row is too narrow for all
                // three the time goes (the line under the box says it for the selected
                // check), and a decision that still does not fit is cut with "…".
                let critical = if c.critical {
                    format!(" {}", s.critical)
                } else {
                    String::new()
                };
                let mut at = c
                    .at_ms
                    .map(|ms| format!(" ▶{}", clock(ms)))
                    .unwrap_or_default();
                let decided = if let Some(old) = &c.no_longer_matches {
                    Some((
                        (s.stale_mark)(&old.trainer, s.verdict(&old.verdict)),
                        Color::Yellow,
                    ))
                } else {
                    c.overruled_by.as_ref().map(|by| {
                        let graded = c.graded.to_string();
                        let said = if c.verdict == graded {
                            (s.confirmed_by)(by)
                        } else {
                            (s.was_overruled)(s.verdict(&graded), by)
                        };
                        (said, Color::Cyan)
                    })
                };
                // Inside the borders, less the highlight column and what is drawn so far.
                let room = (checks.width as usize)
                    .saturating_sub(3)
                    .saturating_sub(2 + C_NAME + 1 + C_VERDICT)
                    .saturating_sub(width(&critical));
                let decided_w = decided.as_ref().map_or(0, |(d, _)| 1 + width(d));
                if width(&at) + decided_w > room {
                    at.clear();
                }
                spans.push(Span::raw(critical));
                spans.push(Span::styled(at, Style::new().dim()));
                if let Some((d, colour)) = decided {
                    let d = if 1 + width(&d) > room {
                        fit(&d, room.saturating_sub(1))
                    } else {
                        d
                    };
                    spans.push(Span::styled(format!(" {d}"), Style::new().fg(colour)));
                }
                ListItem::new(TLine::from(spans))
            }
        })
        .collect();
    // Say where in the list the window is when it does not all fit.
    let visible = (checks.height as usize).saturating_sub(2);
    let position = if rows.len() > visible {
        format!(" {}/{} ", r.row + 1, rows.len())
    } else {
        String::new()
    };
    let mut state = ListState::default().with_selected((!rows.is_empty()).then_some(r.row));
    frame.render_stateful_widget(
        List::new(items)
            .block(
                Block::bordered()
                    .title(format!(" {} ", s.checks))
                    .title_bottom(TLine::from(position).right_aligned()),
            )
            .highlight_symbol("▸")
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED)),
        checks,
        &mut state,
    );

    let selected = r.selected_check().and_then(|k| a.checks.get(k));
    let message = match selected {
        Some(c) => {
            let m = match r.lang {
                Lang::Zh => c.message_zh.clone(),
                Lang::En => c.message_en.clone(),
            };
            match c.at_ms {
                Some(ms) => format!("{m} · {} {}", s.evidence_at, clock(ms)),
                None => m,
            }
        }
        None => match rows.get(r.row) {
            Some(CheckRow::Folded {
                fold: Fold::Banned, ..
            }) => s.banned_help.to_string(),
            Some(CheckRow::Folded { .. }) => s.na_help.to_string(),
            _ => String::new(),
        },
    };
    frame.render_widget(
        Paragraph::new(
            wrap(&message, detail.width as usize)
                .into_iter()
                .map(TLine::from)
                .collect::<Vec<_>>(),
        ),
        detail,
    );

    frame.render_widget(
        Paragraph::new(transcript).block(Block::bordered().title(format!(" {} ", s.transcript))),
        transcript_area,
    );

    // The newest entries, scrolled up by PgUp; the title says what is above or below.
    let shown = (audit_area.height as usize).saturating_sub(2).max(1);
    let total = audit.len();
    let end = total.saturating_sub(r.audit_scroll.min(total.saturating_sub(shown)));
    let start = end.saturating_sub(shown);
    let mut title = format!(" {} ({}) ", s.audit, a.audit.len());
    if total > shown {
        title.push_str(&format!("{} ", (s.audit_window)(start + 1, end, total)));
    }
    frame.render_widget(
        Paragraph::new(audit[start..end].to_vec()).block(Block::bordered().title(title)),
        audit_area,
    );
}

/// The audit log as lines of at most `w` columns, oldest first.
fn audit_lines(r: &Review, a: &AttemptView, w: usize) -> Vec<TLine<'static>> {
    let s = r.s();
    if a.audit.is_empty() {
        return vec![TLine::from(Span::styled(s.no_audit, Style::new().dim()))];
    }
    let name = |id: &str| {
        a.checks
            .iter()
            .find(|c| c.id == id)
            .map_or(id.to_string(), |c| c.name(r.lang).to_string())
    };
    a.audit
        .iter()
        .flat_map(|e| wrap(&audit_line(e, s, &r.tz, &name), w))
        .map(TLine::from)
        .collect()
}

/// The transcript turn by turn, the caller's line before each trainee turn when the call
/// has several, every check's evidence underlined in its verdict's colour and the selected
/// check's evidence reversed; lines broken at `w` columns.
fn transcript_lines(r: &Review, a: &AttemptView, w: usize) -> Vec<TLine<'static>> {
    let s = r.s();
    let chars: Vec<char> = a.normalized.chars().collect();
    if chars.is_empty() {
        let shown = if a.status == crate::store::AttemptStatus::Interrupted {
            s.not_transcribed.to_string()
        } else if a.transcript.trim().is_empty() {
            s.nothing_heard.to_string()
        } else {
            a.transcript.clone()
        };
        return wrap(&shown, w).into_iter().map(TLine::from).collect();
    }
    let selected = r.selected_check().and_then(|k| a.checks.get(k));
    let styled = |i: usize| {
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
        Span::styled(chars[i].to_string(), style)
    };
    // Spans broken into lines of `w` columns, the first after `lead`.
    let flow = |lead: Vec<Span<'static>>, range: std::ops::Range<usize>| {
        let mut lines = vec![];
        let mut used: usize = lead.iter().map(|s| width(&s.content)).sum();
        let mut cur = lead;
        for i in range {
            let cw = chars[i].width().unwrap_or(0);
            if used + cw > w {
                lines.push(TLine::from(std::mem::take(&mut cur)));
                used = 0;
            }
            cur.push(styled(i));
            used += cw;
        }
        lines.push(TLine::from(cur));
        lines
    };
    let end = chars.len();
    if a.turns.len() <= 1 {
        return flow(vec![], 0..end);
    }
    let mut lines = vec![];
    for (i, t) in a.turns.iter().enumerate() {
        if let Some((zh, en)) = &t.caller {
            let said = match r.lang {
                Lang::Zh => zh,
                Lang::En => en,
            };
            for l in wrap(&format!("{} {said}", s.caller), w) {
                lines.push(TLine::from(Span::styled(l, Style::new().dim())));
            }
        }
        let lead = vec![Span::styled(
            format!("{} ", (s.trainee_turn)(i + 1)),
            Style::new().bold(),
        )];
        lines.extend(flow(lead, t.start.min(end)..t.end.min(end)));
    }
    lines
}

fn progress(r: &Review, p: &ProgressView, frame: &mut Frame, area: Rect) {
    let s = r.s();
    let [line, chart, bars] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Percentage(50),
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
        let label = |t: Option<&(Timestamp, f64)>| {
            t.map(|(t, _)| when::short(*t, &r.tz)).unwrap_or_default()
        };
        let (first, last) = (label(p.scores.first()), label(p.scores.last()));
        let zone = p
            .scores
            .first()
            .map(|(t, _)| when::offset_label(*t, &r.tz))
            .unwrap_or_default();
        let ds = Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::Cyan))
            .data(&data);
        frame.render_widget(
            Chart::new(vec![ds])
                .block(
                    Block::bordered()
                        .title(format!(" {} ", s.scores))
                        .title_bottom(TLine::from(format!(" {zone} ")).right_aligned()),
                )
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
    // One row per category, weakest first: its name in full, a bar, the rate and counts;
    // ↑↓ scroll when they do not all fit, and the title says how many are out of view.
    let inner_w = (bars.width as usize).saturating_sub(2);
    let shown = (bars.height as usize).saturating_sub(2);
    let name_w = p
        .categories
        .iter()
        .map(|(c, _, _)| width(category_name(c, r.lang).as_str()))
        .max()
        .unwrap_or(0)
        .clamp(8, 24);
    let figures_w = 14;
    let bar_w = inner_w.saturating_sub(name_w + figures_w + 2).max(4);
    let first = r
        .progress_scroll
        .min(p.categories.len().saturating_sub(shown));
    let lines: Vec<TLine> = p
        .categories
        .iter()
        .skip(first)
        .take(shown)
        .map(|(cat, rate, n)| {
            let pct = (rate * 100.0).round() as u32;
            let filled = ((rate * bar_w as f64).round() as usize).min(bar_w);
            let colour = if *rate >= 0.8 {
                Color::Green
            } else if *rate >= 0.5 {
                Color::Yellow
            } else {
                Color::Red
            };
            let passed = (rate * f64::from(*n)).round() as u32;
            TLine::from(vec![
                Span::raw(format!("{} ", fit(&category_name(cat, r.lang), name_w))),
                Span::styled("█".repeat(filled), Style::new().fg(colour)),
                Span::styled("░".repeat(bar_w - filled), Style::new().dim()),
                Span::raw(format!(" {pct:>3}% ({passed}/{n})")),
            ])
        })
        .collect();
    let hidden = p.categories.len().saturating_sub(first + shown);
    let mut bottom = String::new();
    if first > 0 || hidden > 0 {
        bottom = format!(" {} ", (s.more_categories)(first, hidden));
    }
    let body = if p.categories.is_empty() {
        vec![TLine::from(s.no_scores)]
    } else {
        lines
    };
    frame.render_widget(
        Paragraph::new(body).block(
            Block::bordered()
                .title(format!(" {} ", s.weakest))
                .title_bottom(TLine::from(bottom).right_aligned()),
        ),
        bars,
    );
}
