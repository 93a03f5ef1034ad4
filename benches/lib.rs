//! Criterion benchmarks for ecsim live in this package's `[[bench]]` targets (`cargo bench -p
//! ecsim-benches`); the library itself is empty.
