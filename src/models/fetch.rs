//! `ringcoach models fetch|list|verify` (being built).
