//! Test harness. Placeholder.
