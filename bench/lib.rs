//! Shared helpers for Eligo's benchmarks (the benches themselves are in `benches/`).
