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
pub fn register_core(conn: &Connection) -> Result<()> {
    check_duckdb_version()?;
    conn.register_scalar_function::<arch::ArchStr>("arch_str")?;
    conn.register_scalar_function::<arch::ArchId>("arch_id")?;
    conn.register_scalar_function::<arch::ArchUid>("arch_uid")?;
    conn.register_scalar_function::<stats::SpearmanPairs>("robbench_spearman_pairs")?;
    conn.register_scalar_function::<stats::KendallPairs>("robbench_kendall_pairs")?;
    conn.execute_batch(stats::MACROS).context("cannot define spearman and kendall_tau")?;
    conn.register_table_function::<arch::Architectures>("nb201_architectures")?;
    Ok(())
}

/// Functions that produce rows of the benchmark's tables, and so need their schemas.
pub fn register_bench(
    conn: &Connection,
    catalog: &Arc<Store>,
    settings: &train::Settings,
    stop: &robbench_vocab::Stop,
) -> Result<()> {
    import::register(conn, catalog)?;
    let ctx = train::TrainContext {
        catalog: catalog.clone(),
        settings: settings.clone(),
        stop: stop.clone(),
        device_param: "device",
        seed_param: "seed",
    };
    use params::Function;
    let define = |f: &Function| -> Result<()> {
        if let Some(sql) = f.macro_sql() {
            conn.execute_batch(&sql).with_context(|| format!("cannot define {}()", f.name))?;
        }
        Ok(())
    };
    let t = &params::TRAIN;
    conn.register_table_function_with_extra_info::<train::Train, _>(&t.registered(), &ctx)?;
    define(t)?;
    let e = &params::EVALUATE;
    conn.register_table_function_with_extra_info::<evaluate::Evaluate, _>(&e.registered(), &ctx)?;
    let c = &params::EVALUATE_CORRUPTIONS;
    conn.register_table_function_with_extra_info::<corruptions::EvaluateCorruptions, _>(
        &c.registered(),
        &ctx,
    )?;
    let s = &params::SCORES;
    conn.register_table_function_with_extra_info::<scores::Scores, _>(&s.registered(), &ctx)?;
    define(s)?;
    let search_ctx = search::SearchContext {
        train: ctx.clone(),
        conn: Arc::new(std::sync::Mutex::new(conn.try_clone()?)),
    };
    let s = &params::SEARCH;
    conn.register_table_function_with_extra_info::<search::Search, _>(
        &s.registered(),
        &search_ctx,
    )?;
    define(s)?;
    let q = &search_ctx.conn;
    conn.register_table_function_with_extra_info::<pareto::Pareto, _>(params::PARETO.name, q)?;
    use table_fn::Rows;
    conn.register_table_function_with_extra_info::<Rows<predict::Predict>, _>(
        params::PREDICT.name,
        q,
    )?;
    conn.register_table_function_with_extra_info::<Rows<predict::PredictorEval>, _>(
        params::PREDICTOR_EVAL.name,
        q,
    )?;
    conn.register_table_function_with_extra_info::<Rows<predict::CellFeatures>, _>(
        params::CELL_FEATURES.name,
        q,
    )?;
    conn.register_table_function_with_extra_info::<history::History, _>(
        params::HISTORY.name,
        catalog,
    )?;
    Ok(())
}
