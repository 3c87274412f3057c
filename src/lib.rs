//! robbench: NAS-RobBench-201 as an embedded analytical database.
//!
//! - `store`: the benchmark folder of Parquet tables and its durability rules;
//! - `sql`: the SQL functions registered on DuckDB;
//! - `import`: readers of the published releases;
//! - `shell`: sessions, the REPL, dot commands and output modes.
//!
//! The search space, network, trainer, attacks and scores live in `robbench-core`, which has no
//! database in it.

pub mod import;
pub mod shell;
pub mod sql;
pub mod store;

pub use robbench_core as core;

/// The benchmark `make run` opens: `$ROBBENCH_BENCH`, else the one built beside the sources.
pub fn default_bench() -> std::path::PathBuf {
    std::env::var_os("ROBBENCH_BENCH")
        .map(Into::into)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench"))
}
