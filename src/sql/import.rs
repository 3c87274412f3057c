//! `read_<release>(path, target := ..., ...)`: a published release as rows of a benchmark
//! table, ready for `INSERT INTO metrics FROM read_nasrobbench201('file')`. One table function
//! per [`Release`]; `target` defaults to the first table the release has rows for.

use std::path::Path;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use duckdb::core::{LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::BindInfo;
use duckdb::Connection;

use super::table_fn::{opt_str, register_rows, BindRows, BoxError};
use robbench_vocab::progress::Progress;

use crate::import::{Imported, Options, Release};
use crate::store::{rows, Store};

/// What the readers need from the session: the tables' schemas and where progress shows.
#[derive(Clone)]
pub struct ImportContext {
    pub catalog: Arc<Store>,
    pub progress: Progress,
}

fn bind_import(
    bind: &BindInfo,
    ctx: &ImportContext,
    release: Release,
) -> Result<RecordBatch, BoxError> {
    let name = release.function();
    let path = bind.get_parameter(0).to_string();
    let options = Options {
        dataset: opt_str(bind, "dataset"),
        source: opt_str(bind, "source"),
        progress: ctx.progress.clone(),
    };
    let imported =
        release.read(Path::new(&path), &options).map_err(|e| format!("{name}: {e:#}"))?;
    let filled = imported.filled();
    let target = match opt_str(bind, "target") {
        Some(t) => t,
        None => filled.first().copied().unwrap_or("metrics").to_string(),
    };
    let Some(rows) = imported.rows(&target) else {
        return Err(format!(
            "{name}: target := '{target}': expected one of {}",
            Imported::TARGETS.join(", ")
        )
        .into());
    };
    if rows.is_empty() {
        return Err(format!(
            "{name}: target := '{target}': {path} has no rows for it (it has rows for {})",
            filled.join(", ")
        )
        .into());
    }
    let schema = ctx.catalog.schema(&target)?;
    Ok(rows::to_batch(&schema, rows)?)
}

/// The reader of `Release::ALL[R]`.
pub struct ReadRelease<const R: usize>;

impl<const R: usize> BindRows for ReadRelease<R> {
    type Context = ImportContext;

    fn parameters() -> Vec<LogicalTypeHandle> {
        vec![LogicalTypeHandle::from(LogicalTypeId::Varchar)]
    }
    fn named_parameters() -> Vec<(String, LogicalTypeHandle)> {
        let names = std::iter::once("target").chain(Release::ALL[R].options().iter().copied());
        names.map(|n| (n.to_string(), LogicalTypeHandle::from(LogicalTypeId::Varchar))).collect()
    }
    fn rows(bind: &BindInfo, ctx: &ImportContext) -> anyhow::Result<RecordBatch> {
        bind_import(bind, ctx, Release::ALL[R]).map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// Registers every release's reader.
pub fn register(conn: &Connection, ctx: &ImportContext) -> duckdb::Result<()> {
    macro_rules! reader {
        ($($r:literal),*) => {
            $(register_rows::<ReadRelease<$r>>(conn, Release::ALL[$r].function(), ctx)?;)*
        };
    }
    reader!(0, 1, 2, 3, 4);
    const _: () = assert!(Release::ALL.len() == 5, "register every release above");
    Ok(())
}
