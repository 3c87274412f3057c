//! robbench: NAS-RobBench-201 as an embedded analytical database.
//!
//! - `store`: the benchmark folder of Parquet tables and its durability rules;
//! - `sql`: the SQL functions registered on DuckDB;
//! - `import`: readers of the published releases;
//! - `search`: NAS search strategies (random search, regularized evolution, local search);
//! - `stats`: rank correlations (scipy's Spearman and Kendall tau-b);
//! - `plot`: figures from query results and drawings of cells;
//! - `shell`: sessions, the REPL, dot commands and output modes;
//! - `worker`: running robbench-worker, the libtorch process behind train, evaluate and scores.
//!
//! The search space is the `robbench-space` crate. The network, trainer and attacks live in
//! `robbench-core` and its `robbench-worker` binary, which has no database in it; the SQL
//! functions that train run that binary, so this one starts without loading libtorch.

pub mod import;
pub mod plot;
pub mod predict;
pub mod protocol;
pub mod search;
pub mod shell;
pub mod sql;
pub mod stats;
pub mod store;
pub mod worker;

pub use robbench_space as space;

/// The benchmark a session opens when none is named: `$ROBBENCH_BENCH`, else `bundled` (the
/// source tree's [`source_bench`], or the one inside the installed Python package).
pub fn default_bench(bundled: &std::path::Path) -> std::path::PathBuf {
    std::env::var_os("ROBBENCH_BENCH").map(Into::into).unwrap_or_else(|| bundled.to_path_buf())
}

/// The bundled benchmark of the source build: `bench/` beside the sources, which `make build`
/// makes.
pub fn source_bench() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench")
}
