//! Shared helpers for Eligo's benchmarks.
