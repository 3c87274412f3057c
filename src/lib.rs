//! robbench: NAS-RobBench-201 as an embedded analytical database.
//!
//! - `store`: the benchmark folder of Parquet tables and its durability rules;
//! - `sql`: the SQL functions registered on DuckDB;
//! - `import`: readers of the published releases;
//! - `shell`: sessions, the REPL, dot commands and output modes.
//!
//! The search space is the `robbench-space` crate. The network, trainer and attacks live in
//! `robbench-core` and its `robbench-worker` binary, which has no database in it; the SQL
//! functions that train run that binary, so this one starts without loading libtorch.

pub mod import;
pub mod protocol;
pub mod shell;
pub mod sql;
pub mod store;

pub use robbench_space as space;

/// The benchmark `make run` opens: `$ROBBENCH_BENCH`, else the one built beside the sources.
pub fn default_bench() -> std::path::PathBuf {
    std::env::var_os("ROBBENCH_BENCH")
        .map(Into::into)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench"))
}

/// Checks a device name: auto, cpu, cuda or cuda:N.
pub fn parse_device(s: &str) -> Result<String, String> {
    let ok = matches!(s, "auto" | "cpu" | "cuda") || s.strip_prefix("cuda:").is_some_and(|n| n.parse::<u32>().is_ok());
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!("'{s}' is not a device (auto, cpu, cuda, cuda:N)"))
    }
}
