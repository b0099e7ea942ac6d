//! Keys as the review screens understand them, apart from the terminal library. Unlike the
//! practice keys these keep every printable character: the review has text inputs (search,
//! filters, an overrule note, the transcript editor).

use crossterm::event::{KeyCode, KeyEvent};

use crate::tui::keys::{press, Press};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    Enter,
    Esc,
    Tab,
    Backspace,
    Delete,
    Char(char),
    /// Ctrl-C: quit from anywhere, inputs included.
    Interrupt,
}

impl Key {
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        let code = match press(ev)? {
            Press::Interrupt => return Some(Key::Interrupt),
            Press::Key(code) => code,
        };
        Some(match code {
            KeyCode::Up => Key::Up,
            KeyCode::Down => Key::Down,
            KeyCode::Left => Key::Left,
            KeyCode::Right => Key::Right,
            KeyCode::Home => Key::Home,
            KeyCode::End => Key::End,
            KeyCode::PageUp => Key::PageUp,
            KeyCode::PageDown => Key::PageDown,
            KeyCode::Enter => Key::Enter,
            KeyCode::Esc => Key::Esc,
            KeyCode::Tab => Key::Tab,
            KeyCode::Backspace => Key::Backspace,
            KeyCode::Delete => Key::Delete,
            KeyCode::Char(c) => Key::Char(c),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyEventKind, KeyModifiers};

    #[test]
    fn printable_characters_survive_for_the_text_inputs() {
        let e = KeyEvent::new(KeyCode::Char('您'), KeyModifiers::NONE);
        assert_eq!(Key::from_event(&e), Some(Key::Char('您')));
        let shifted = KeyEvent::new(KeyCode::Char('Q'), KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&shifted), Some(Key::Char('Q')));
    }

    #[test]
    fn ctrl_c_interrupts_releases_and_other_chords_are_ignored() {
        let c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(Key::from_event(&c), Some(Key::Interrupt));
        let x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL);
        assert_eq!(Key::from_event(&x), None);
        let mut up = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        up.kind = KeyEventKind::Release;
        assert_eq!(Key::from_event(&up), None);
    }
}
