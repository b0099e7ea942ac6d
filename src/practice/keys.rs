//! Keys as the practice loop understands them, apart from the terminal library, so key
//! handling is tested without a terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};

use crate::tui::keys::{press, Press};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Up,
    Down,
    /// Enter: choose, pick up, end my turn.
    Enter,
    Space,
    /// q or Esc: one level back (quits from the list).
    Back,
    /// Ctrl-C: quit from anywhere.
    Interrupt,
    Help,
    /// r: retry the same situation.
    Retry,
    /// p: play my recording.
    Play,
    /// n: next situation.
    Next,
    /// y: yes (ending a sitting early).
    Yes,
    /// m: check the microphone.
    Mic,
}

impl Key {
    /// The key a terminal event means, if any. Key releases and repeats of non-navigation
    /// keys are ignored so a held key does not pick up and hang up in one go.
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        let code = match press(ev)? {
            Press::Interrupt => return Some(Key::Interrupt),
            Press::Key(code) => code,
        };
        let key = match code {
            KeyCode::Up | KeyCode::Char('k') => Key::Up,
            KeyCode::Down | KeyCode::Char('j') => Key::Down,
            KeyCode::Enter => Key::Enter,
            KeyCode::Char(' ') => Key::Space,
            KeyCode::Esc | KeyCode::Char('q') => Key::Back,
            KeyCode::Char('?') => Key::Help,
            KeyCode::Char('r') => Key::Retry,
            KeyCode::Char('p') => Key::Play,
            KeyCode::Char('n') => Key::Next,
            KeyCode::Char('y') => Key::Yes,
            KeyCode::Char('m') => Key::Mic,
            _ => return None,
        };
        if ev.kind == KeyEventKind::Repeat && !matches!(key, Key::Up | Key::Down) {
            return None;
        }
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn ev(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn vim_and_arrow_keys_navigate() {
        assert_eq!(
            Key::from_event(&ev(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Key::Down)
        );
        assert_eq!(
            Key::from_event(&ev(KeyCode::Up, KeyModifiers::NONE)),
            Some(Key::Up)
        );
    }

    #[test]
    fn ctrl_c_interrupts_and_other_chords_are_ignored() {
        assert_eq!(
            Key::from_event(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Key::Interrupt)
        );
        assert_eq!(
            Key::from_event(&ev(KeyCode::Char('q'), KeyModifiers::CONTROL)),
            None
        );
    }

    #[test]
    fn q_and_esc_go_back() {
        assert_eq!(
            Key::from_event(&ev(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Key::Back)
        );
        assert_eq!(
            Key::from_event(&ev(KeyCode::Esc, KeyModifiers::NONE)),
            Some(Key::Back)
        );
    }

    #[test]
    fn releases_and_held_enter_are_ignored() {
        let mut e = ev(KeyCode::Enter, KeyModifiers::NONE);
        e.kind = KeyEventKind::Release;
        assert_eq!(Key::from_event(&e), None);
        e.kind = KeyEventKind::Repeat;
        assert_eq!(Key::from_event(&e), None);
        let mut d = ev(KeyCode::Down, KeyModifiers::NONE);
        d.kind = KeyEventKind::Repeat;
        assert_eq!(Key::from_event(&d), Some(Key::Down));
    }
}
