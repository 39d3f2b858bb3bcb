//! Placeholder for the checks-per-second benchmark (see BENCHMARKS.md).
fn main() {}
