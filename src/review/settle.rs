//! The certification queue: what is still open in the certification sittings — checks left
//! uncertain, overrules a re-grade no longer matches — one row each, with the sittings and
//! whether each is ready to certify. Enter opens the attempt at the item's check, where the
//! trainer decides with the same overrule (and note) as anywhere else in review; Esc comes
//! back here. Press `c` on the queue to get here, or start with `review --sittings`.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;

use super::{Effect, Key, Review, Screen};
use crate::config::Lang;
use crate::exam::{open_items, OpenItem, SittingState, Sittings};
use crate::store::Store;

/// One sitting, as the queue's header lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SittingRow {
    pub id: String,
    pub candidate: String,
    pub suite: String,
    pub state: SittingState,
    pub open: usize,
    /// Its seal is missing or does not hold (why), so it cannot be certified.
    pub unsealed: Option<String>,
    pub certificates: usize,
}

/// The certification queue.
#[derive(Debug, Clone, PartialEq)]
pub struct SettleView {
    pub sittings: Vec<SittingRow>,
    pub items: Vec<OpenItem>,
}

impl SettleView {
    /// Every sitting of the store and what is open in it.
    pub fn build(store: &Store) -> Result<SettleView, crate::exam::ExamError> {
        let sittings = Sittings::of(store);
        let mut rows = Vec::new();
        let mut items = Vec::new();
        for rec in sittings.list()? {
            let open = open_items(store, &rec)?;
            let unsealed = crate::exam::seal::check(&sittings, &rec.id)
                .err()
                .map(|e| e.to_string());
            rows.push(SittingRow {
                id: rec.id.clone(),
                candidate: rec.candidate.name.clone(),
                suite: format!("{} v{}", rec.suite.id, rec.suite.version),
                state: rec.state,
                open: open.len(),
                unsealed,
                certificates: sittings.issued(&rec.id)?.len(),
            });
            items.extend(open);
        }
        Ok(SettleView {
            sittings: rows,
            items,
        })
    }
}

pub struct SettleStrings {
    pub title: &'static str,
    pub empty: &'static str,
    pub keys: &'static str,
    pub sittings: &'static str,
    pub open: fn(usize) -> String,
    pub ready: fn(&str) -> String,
    pub issued: fn(usize) -> String,
    pub not_sealed: &'static str,
    pub in_progress: &'static str,
    pub stale: &'static str,
    pub call: fn(u32) -> String,
}

static ZH: SettleStrings = SettleStrings {
    title: "认证待复核",
    empty: "没有待复核的认证项目。",
    keys: "↑↓ 选择 · Enter 打开并复核该项 · q/Esc 返回队列 · ? 帮助",
    sittings: "考试",
    open: |n| format!("{n} 项待复核"),
    ready: |id| format!("可发证:ringcoach cert issue {id}"),
    issued: |n| format!("已发证 {n} 张"),
    not_sealed: "未封存,不能发证",
    in_progress: "进行中",
    stale: "改判与重评不一致",
    call: |n| format!("第{n}通"),
};

static EN: SettleStrings = SettleStrings {
    title: "Certification queue",
    empty: "Nothing to settle in any certification sitting.",
    keys: "↑↓ move · Enter open and settle the item · q/Esc back to the queue · ? help",
    sittings: "Sittings",
    open: |n| format!("{n} to settle"),
    ready: |id| format!("ready: ringcoach cert issue {id}"),
    issued: |n| format!("{n} certificate(s) issued"),
    not_sealed: "not sealed: cannot be certified",
    in_progress: "in progress",
    stale: "overrule no longer matches",
    call: |n| format!("call {n}"),
};

pub fn settle_strings(lang: Lang) -> &'static SettleStrings {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

impl Review {
    /// Keys on the certification queue.
    pub(super) fn settle_key(&mut self, k: Key) -> Vec<Effect> {
        self.status = None;
        let Screen::Settle(view) = &self.screen else {
            return vec![];
        };
        match k {
            Key::Up | Key::Char('k') => {
                self.settle_selected = self.settle_selected.saturating_sub(1)
            }
            Key::Down | Key::Char('j') if self.settle_selected + 1 < view.items.len() => {
                self.settle_selected += 1;
            }
            Key::Enter => {
                if let Some(item) = view.items.get(self.settle_selected) {
                    self.from_settle = true;
                    self.pending_check = Some(item.check.clone());
                    return vec![Effect::Open(item.attempt.clone())];
                }
            }
            Key::Esc | Key::Char('q') => {
                self.screen = Screen::Queue;
                return self.relist();
            }
            _ => {}
        }
        vec![]
    }
}

/// The certification queue's body.
pub fn render(r: &Review, v: &SettleView, frame: &mut Frame, area: Rect) {
    let s = settle_strings(r.lang);
    let n = v.sittings.len().min(6) as u16;
    let [top, rest] = Layout::vertical([Constraint::Length(n + 2), Constraint::Min(0)]).areas(area);
    let lines: Vec<TLine> = v
        .sittings
        .iter()
        .map(|st| {
            let (what, style) = if st.unsealed.is_some() {
                let w = if st.state == SittingState::InProgress {
                    s.in_progress
                } else {
                    s.not_sealed
                };
                (w.to_string(), Style::new().fg(Color::Red))
            } else if st.open > 0 {
                ((s.open)(st.open), Style::new().fg(Color::Yellow))
            } else if st.certificates > 0 {
                ((s.issued)(st.certificates), Style::new().dim())
            } else {
                ((s.ready)(&st.id), Style::new().fg(Color::Green))
            };
            TLine::from(vec![
                Span::raw(format!("{}  {}  {}  ", st.id, st.candidate, st.suite)),
                Span::styled(what, style),
            ])
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(s.sittings)),
        top,
    );
    if v.items.is_empty() {
        frame.render_widget(
            Paragraph::new(s.empty)
                .wrap(Wrap { trim: true })
                .block(Block::bordered().title(s.title)),
            rest,
        );
        return;
    }
    let items: Vec<ListItem> = v
        .items
        .iter()
        .map(|it| {
            let msg = match r.lang {
                Lang::Zh => &it.message_zh,
                Lang::En => &it.message_en,
            };
            let what = if it.stale {
                s.stale.to_string()
            } else {
                msg.clone()
            };
            ListItem::new(TLine::from(vec![
                Span::raw(format!("{} {} ", it.candidate, (s.call)(it.call))),
                Span::styled(format!("{:<23} ", it.check), Style::new().fg(Color::Yellow)),
                Span::raw(what),
            ]))
        })
        .collect();
    let mut state = ListState::default().with_selected(Some(r.settle_selected));
    frame.render_stateful_widget(
        List::new(items)
            .block(Block::bordered().title(format!("{} · {}", s.title, v.items.len())))
            .highlight_symbol("▶ ")
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED)),
        rest,
        &mut state,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::tests::{id, view};
    use crate::review::Msg;

    fn item(check: &str) -> OpenItem {
        OpenItem {
            sitting: "s1".into(),
            candidate: "刘芳".into(),
            call: 2,
            scenario: "answer-call".into(),
            attempt: id(1),
            check: check.into(),
            message_zh: "不确定".into(),
            message_en: "unsure".into(),
            heard: "您好广立物业".into(),
            stale: false,
        }
    }

    fn settle_view(items: Vec<OpenItem>) -> Box<SettleView> {
        Box::new(SettleView {
            sittings: vec![SittingRow {
                id: "s1".into(),
                candidate: "刘芳".into(),
                suite: "property-hotline v1".into(),
                state: SittingState::Complete,
                open: items.len(),
                unsealed: None,
                certificates: 0,
            }],
            items,
        })
    }

    #[test]
    fn c_opens_the_certification_queue_and_enter_opens_the_item_at_its_check() {
        let mut r = Review::new("wang", "/data", Lang::En);
        assert_eq!(r.update(Msg::Key(Key::Char('c'))), vec![Effect::ListSettle]);
        let check = view().checks[1].id.clone();
        r.update(Msg::Settle(settle_view(vec![item("x"), item(&check)])));
        assert!(matches!(r.screen, Screen::Settle(_)));
        r.update(Msg::Key(Key::Down));
        assert_eq!(r.update(Msg::Key(Key::Enter)), vec![Effect::Open(id(1))]);
        r.update(Msg::Opened(Box::new(view())));
        assert_eq!(r.selected_check(), Some(1), "the item's check is selected");
        // Back from the attempt goes back to the certification queue, relisted.
        assert_eq!(r.update(Msg::Key(Key::Esc)), vec![Effect::ListSettle]);
        r.update(Msg::Settle(settle_view(vec![item("x")])));
        assert_eq!(r.settle_selected, 0, "the selection stays on the list");
        // And from there to the attempts queue.
        assert!(matches!(
            r.update(Msg::Key(Key::Char('q'))).as_slice(),
            [Effect::List(_)]
        ));
        assert_eq!(r.screen, Screen::Queue);
    }

    #[test]
    fn review_sittings_starts_on_the_certification_queue() {
        let mut r = Review::new("wang", "/data", Lang::Zh);
        r.sittings_first = true;
        assert_eq!(r.start(), vec![Effect::ListSettle]);
    }
}
