//! (placeholder, being built)
