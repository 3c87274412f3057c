//! What delta-rs does for robbench's tables: creating a table (its protocol and schema), adding
//! columns to its schema, writing its checkpoints and vacuuming it. These are rare; the reading
//! and committing every statement does is `log.rs`.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use deltalake_core::kernel::transaction::CommitProperties;
use deltalake_core::protocol::SaveMode;
use deltalake_core::{DeltaTable, DeltaTableBuilder, DeltaTableError, TableProperty};

use super::log::Log;
use super::table::TableDef;

fn url(dir: &Path) -> Result<url::Url> {
    url::Url::from_directory_path(dir)
        .map_err(|()| anyhow!("{} is not an absolute folder path", dir.display()))
}

fn to_anyhow(e: DeltaTableError, dir: &Path) -> anyhow::Error {
    anyhow!("{}: {e}", dir.display())
}

/// delta-rs is async; its work here is a few files on a local folder, so one current-thread
/// runtime per call is enough.
fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the I/O runtime")?;
    Ok(rt.block_on(f))
}

async fn load(dir: &Path, version: Option<i64>) -> Result<DeltaTable> {
    let mut builder = DeltaTableBuilder::from_url(url(dir)?).map_err(|e| to_anyhow(e, dir))?;
    if let Some(v) = version {
        builder = builder.with_version(v.max(0) as u64);
    }
    builder.load().await.map_err(|e| to_anyhow(e, dir))
}

/// Creates the table in `dir` (version 0: its protocol and schema), unless another process
/// did first; then opens it.
pub fn create(dir: &Path, def: &TableDef) -> Result<Log> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if !Log::exists(dir) {
        let fields = def.delta_fields()?;
        let created = block_on(async {
            DeltaTable::try_from_url(url(dir)?)
                .await
                .map_err(|e| to_anyhow(e, dir))?
                .create()
                .with_table_name(def.name)
                .with_columns(fields)
                // The log stays whole: history() and --as-of number every commit ever made.
                .with_configuration_property(TableProperty::EnableExpiredLogCleanup, Some("false"))
                .with_save_mode(SaveMode::Ignore)
                // A creator that finds version 0 taken must not retry: delta-rs would commit a
                // second CREATE at version 1 on top of the other process's table.
                .with_commit_properties(CommitProperties::default().with_max_retries(0))
                .await
                .map(|_| ())
                .or_else(|e| match e {
                    // Created by another process between the check and the commit.
                    DeltaTableError::Transaction { .. } if Log::exists(dir) => Ok(()),
                    e => Err(to_anyhow(e, dir)),
                })
        })?;
        created?;
    }
    Log::open(dir, None)
}

/// Adds columns to the table's schema (a metadata-only commit).
pub fn add_columns(dir: &Path, fields: Vec<deltalake_core::kernel::StructField>) -> Result<()> {
    block_on(async {
        load(dir, None)
            .await?
            .add_columns()
            .with_fields(fields)
            .await
            .map_err(|e| to_anyhow(e, dir))
    })??;
    Ok(())
}

/// Writes the checkpoint of version `version` (Delta's summary of the log up to it, which
/// readers start from).
pub fn checkpoint(dir: &Path, version: i64) -> Result<()> {
    block_on(async {
        let table = load(dir, Some(version)).await?;
        deltalake_core::checkpoints::create_checkpoint(&table, None)
            .await
            .map_err(|e| to_anyhow(e, dir))
    })?
}

/// Delta's vacuum: removes the files of the folder that no version younger than `retention`
/// references. Returns how many it removed.
pub fn vacuum(dir: &Path, retention: std::time::Duration) -> Result<usize> {
    let retention = chrono::Duration::from_std(retention)?;
    let (_, metrics) = block_on(async {
        load(dir, None)
            .await?
            .vacuum()
            .with_retention_period(retention)
            .with_enforce_retention_duration(false)
            .await
            .map_err(|e| to_anyhow(e, dir))
    })??;
    Ok(metrics.files_deleted.len())
}
