//! The practice terminal UI: rendering ([`views`]), strings ([`strings`]), and the
//! terminal loop that turns keys, ticks, audio and worker results into [`crate::app::Msg`]s.

pub mod strings;
pub mod terminal;
pub mod views;

#[cfg(test)]
mod snapshots;
