//! robbench's SQL functions, registered on a DuckDB connection.

pub mod arch;
pub mod corruptions;
pub mod evaluate;
pub mod history;
pub mod import;
pub mod params;
pub mod pareto;
pub mod predict;
pub mod scores;
pub mod search;
pub mod stats;
pub mod table_fn;
pub mod train;

use std::sync::Arc;

use anyhow::{Context, Result};
use duckdb::Connection;

use crate::store::Store;

/// The DuckDB release the pinned bindings (duckdb =1.10506.1) declare their C functions for.
pub const DUCKDB_VERSION: &str = "v1.5.6";

/// Refuses a DuckDB library other than the one the bindings were written for: the prebuilt
/// libduckdb.so is found at run time, so a different one on the library path would otherwise
/// be called through mismatched declarations.
pub fn check_duckdb_version() -> Result<()> {
    // SAFETY: duckdb_library_version returns a pointer to a static NUL-terminated string.
    let found = unsafe { std::ffi::CStr::from_ptr(duckdb::ffi::duckdb_library_version()) };
    let found = found.to_string_lossy();
    if found != DUCKDB_VERSION {
        anyhow::bail!(
            "the DuckDB library loaded is {found}, but robbench was built for {DUCKDB_VERSION}: \
             run scripts/install-duckdb.sh (make build does) or point DUCKDB_LIB_DIR at a {DUCKDB_VERSION} libduckdb.so and rebuild"
        );
    }
    Ok(())
}

/// Functions that need no benchmark (the architectures table is built from one of them).
/// The functions that query benchmark tables themselves, beyond what their arguments name.
pub const READ_TABLES: [&str; 4] = [
    params::SEARCH.name,
    params::PREDICT.name,
    params::PREDICTOR_EVAL.name,
    params::CELL_FEATURES.name,
];

pub fn register_core(conn: &Connection) -> Result<()> {
    check_duckdb_version()?;
    conn.register_scalar_function::<arch::ArchStr>("arch_str")?;
    conn.register_scalar_function::<arch::ArchId>("arch_id")?;
    conn.register_scalar_function::<arch::ArchUid>("arch_uid")?;
    conn.register_scalar_function::<stats::Pairs<false>>("robbench_spearman_pairs")?;
    conn.register_scalar_function::<stats::Pairs<true>>("robbench_kendall_pairs")?;
    conn.execute_batch(stats::MACROS).context("cannot define spearman and kendall_tau")?;
    table_fn::register_rows::<arch::Architectures>(conn, "nb201_architectures", &())?;
    Ok(())
}

/// Functions that produce rows of the benchmark's tables, and so need their schemas.
pub fn register_bench(
    conn: &Connection,
    catalog: &Arc<Store>,
    settings: &train::Settings,
    stop: &robbench_vocab::Stop,
) -> Result<()> {
    let import_ctx =
        import::ImportContext { catalog: catalog.clone(), progress: settings.progress.clone() };
    import::register(conn, &import_ctx)?;
    let ctx = train::TrainContext {
        catalog: catalog.clone(),
        settings: settings.clone(),
        stop: stop.clone(),
        device_param: "device",
        seed_param: "seed",
    };
    use table_fn::{register, register_rows, register_streaming};
    register_streaming::<train::Train>(conn, &ctx)?;
    register::<evaluate::Evaluate>(conn, &ctx)?;
    register::<corruptions::EvaluateCorruptions>(conn, &ctx)?;
    register::<scores::Scores>(conn, &ctx)?;
    let search_ctx = search::SearchContext {
        train: ctx.clone(),
        conn: Arc::new(std::sync::Mutex::new(conn.try_clone()?)),
    };
    register::<search::Search>(conn, &search_ctx)?;
    let q = &search_ctx.conn;
    register_rows::<pareto::Pareto>(conn, params::PARETO.name, q)?;
    register_rows::<predict::Predict>(conn, params::PREDICT.name, q)?;
    register_rows::<predict::PredictorEval>(conn, params::PREDICTOR_EVAL.name, q)?;
    register_rows::<predict::CellFeatures>(conn, params::CELL_FEATURES.name, q)?;
    register::<history::History>(conn, catalog)?;
    // The macros give the functions that take their first argument by name its `:=` form.
    for f in params::FUNCTIONS {
        if let Some(sql) = f.macro_sql() {
            conn.execute_batch(&sql).with_context(|| format!("cannot define {}()", f.name))?;
        }
    }
    Ok(())
}
