//! robbench's SQL functions, registered on a DuckDB connection.

pub mod arch;
pub mod corruptions;
pub mod evaluate;
pub mod import;
pub mod pareto;
pub mod scores;
pub mod search;
pub mod stats;
pub mod table_fn;
pub mod train;

use std::sync::Arc;

use anyhow::{Context, Result};
use duckdb::Connection;

use crate::store::Catalog;

/// Functions that need no benchmark (the architectures table is built from one of them).
pub fn register_core(conn: &Connection) -> Result<()> {
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
    catalog: &Arc<Catalog>,
    settings: &train::Settings,
) -> Result<()> {
    conn.register_table_function_with_extra_info::<import::ReadNasRobBench201, _>(
        "read_nasrobbench201",
        catalog,
    )?;
    conn.register_table_function_with_extra_info::<import::ReadRobustnessDataset, _>(
        "read_robustness_dataset",
        catalog,
    )?;
    let ctx = train::TrainContext { catalog: catalog.clone(), settings: settings.clone() };
    conn.register_table_function_with_extra_info::<train::Train, _>("robbench_train", &ctx)?;
    conn.execute_batch(&train::macro_sql()).context("cannot define train()")?;
    conn.register_table_function_with_extra_info::<evaluate::Evaluate, _>("evaluate", &ctx)?;
    conn.register_table_function_with_extra_info::<corruptions::EvaluateCorruptions, _>(
        "evaluate_corruptions",
        &ctx,
    )?;
    conn.register_table_function_with_extra_info::<scores::Scores, _>("robbench_scores", &ctx)?;
    conn.execute_batch(&scores::macro_sql()).context("cannot define scores()")?;
    let search_ctx = search::SearchContext {
        train: ctx.clone(),
        conn: Arc::new(std::sync::Mutex::new(conn.try_clone()?)),
    };
    conn.register_table_function_with_extra_info::<search::Search, _>(
        "robbench_search",
        &search_ctx,
    )?;
    conn.execute_batch(&search::macro_sql()).context("cannot define search()")?;
    conn.register_table_function_with_extra_info::<pareto::Pareto, _>("pareto", &search_ctx.conn)?;
    Ok(())
}
