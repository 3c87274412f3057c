//! One table's Delta Lake log, through delta-rs: creating it, the files of a version, and
//! committing add and remove actions.
//!
//! A commit is the atomic creation of the log's next version file (delta-rs writes a temporary
//! file and links it into place, which fails if the version exists). That needs no lock, so it
//! works on NFS, Lustre and GPFS, which often lack `flock`. robbench commits only at the
//! version after the one it read ([`Log::try_commit`] never lets delta-rs retry on its own): a
//! writer that loses the race reads what was committed meanwhile, re-checks its change against
//! it (keys, files it removes), and tries again, so the rules of [`super::Store`] hold across
//! writers exactly.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use deltalake_core::kernel::transaction::{CommitBuilder, CommitProperties, TransactionError};
use deltalake_core::kernel::{Action, Add, Remove};
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use deltalake_core::{DeltaTable, DeltaTableBuilder, DeltaTableError, TableProperty};
use serde_json::Value;

use super::files::DataFile;
use super::table::TableDef;

pub const LOG_DIR: &str = "_delta_log";

/// A version of a table: a number and its files.
#[derive(Clone, Debug)]
pub struct Version {
    pub version: i64,
    pub files: Vec<DataFile>,
}

impl Version {
    pub fn rows(&self) -> i64 {
        self.files.iter().map(|f| f.rows).sum()
    }
}

/// What a commit is, for the log's commitInfo and for `history()`.
#[derive(Clone, Debug)]
pub enum Operation {
    Append,
    Update,
    Delete,
    Replace,
    Compact,
}

impl Operation {
    fn delta(&self, target_size: i64) -> DeltaOperation {
        match self {
            Operation::Append => DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by: None,
                predicate: None,
            },
            Operation::Replace => DeltaOperation::Write {
                mode: SaveMode::Overwrite,
                partition_by: None,
                predicate: None,
            },
            Operation::Update => DeltaOperation::Update { predicate: None },
            Operation::Delete => DeltaOperation::Delete { predicate: None },
            Operation::Compact => DeltaOperation::Optimize { predicate: None, target_size },
        }
    }
}

/// The outcome of a commit attempt at the version after the one read.
pub enum Attempt {
    Committed(i64),
    /// Another writer committed that version first: nothing was written.
    Raced,
}

pub struct Log {
    pub dir: PathBuf,
    table: DeltaTable,
}

fn url(dir: &Path) -> Result<url::Url> {
    url::Url::from_directory_path(dir)
        .map_err(|()| anyhow!("{} is not an absolute folder path", dir.display()))
}

fn to_anyhow(e: DeltaTableError, dir: &Path) -> anyhow::Error {
    anyhow!("{}: {e}", dir.display())
}

impl Log {
    /// Whether `dir` holds a Delta table.
    pub fn exists(dir: &Path) -> bool {
        dir.join(LOG_DIR).join(format!("{:020}.json", 0)).exists()
    }

    /// Opens the table in `dir` at its latest version, or at `version`.
    pub async fn open(dir: &Path, version: Option<i64>) -> Result<Log> {
        let mut builder = DeltaTableBuilder::from_url(url(dir)?).map_err(|e| to_anyhow(e, dir))?;
        if let Some(v) = version {
            builder = builder.with_version(v.max(0) as u64);
        }
        let table = builder.load().await.map_err(|e| to_anyhow(e, dir))?;
        Ok(Log { dir: dir.to_path_buf(), table })
    }

    /// Creates the table in `dir` (version 0: its protocol and schema), unless another process
    /// did first; then opens it.
    pub async fn create(dir: &Path, def: &TableDef) -> Result<Log> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        if !Log::exists(dir) {
            let created = DeltaTable::try_from_url(url(dir)?)
                .await
                .map_err(|e| to_anyhow(e, dir))?
                .create()
                .with_table_name(def.name)
                .with_columns(def.delta_fields()?)
                // The log stays whole: history() and --as-of number every commit ever made.
                .with_configuration_property(TableProperty::EnableExpiredLogCleanup, Some("false"))
                .with_save_mode(SaveMode::Ignore)
                // A creator that finds version 0 taken must not retry: delta-rs would commit a
                // second CREATE at version 1 on top of the other process's table.
                .with_commit_properties(CommitProperties::default().with_max_retries(0))
                .await;
            match created {
                Ok(_) => {}
                // Created by another process between the check and the commit.
                Err(DeltaTableError::Transaction { .. }) if Log::exists(dir) => {}
                Err(e) => return Err(to_anyhow(e, dir)),
            }
        }
        Log::open(dir, None).await
    }

    pub fn version(&self) -> i64 {
        self.table.version().map(|v| v as i64).unwrap_or(0)
    }

    /// The table's columns as its log declares them.
    pub fn column_names(&self) -> Result<Vec<String>> {
        let snapshot = self.table.snapshot().map_err(|e| to_anyhow(e, &self.dir))?;
        Ok(snapshot.schema().fields().map(|f| f.name().to_string()).collect())
    }

    /// The files of the version read.
    pub fn files(&self) -> Result<Vec<DataFile>> {
        let snapshot = self.table.snapshot().map_err(|e| to_anyhow(e, &self.dir))?;
        Ok(snapshot
            .log_data()
            .iter()
            .map(|f| DataFile {
                path: f.path().into_owned(),
                size: f.size(),
                rows: f.num_records().map(|n| n as i64).unwrap_or(0),
                stats: f.stats(),
            })
            .collect())
    }

    pub fn snapshot(&self) -> Result<Version> {
        Ok(Version { version: self.version(), files: self.files()? })
    }

    /// Whether a version after the one read exists (one file probe: no listing of the log).
    pub fn behind(&self) -> bool {
        self.dir.join(LOG_DIR).join(format!("{:020}.json", self.version() + 1)).exists()
    }

    /// Reads the versions committed since the one read.
    pub async fn update(&mut self) -> Result<()> {
        if self.behind() {
            self.table.update_incremental(None).await.map_err(|e| to_anyhow(e, &self.dir))?;
        }
        Ok(())
    }

    /// The actions of version `v`: the files it added and the paths it removed.
    pub fn changes(&self, v: i64) -> Result<(Vec<DataFile>, Vec<String>)> {
        let path = self.dir.join(LOG_DIR).join(format!("{v:020}.json"));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut added = Vec::new();
        let mut removed = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let action: Value = serde_json::from_str(line)
                .with_context(|| format!("{}: not a Delta log entry", path.display()))?;
            if let Some(add) = action.get("add") {
                let stats = add.get("stats").and_then(|s| s.as_str()).map(str::to_string);
                let rows = super::files::parse_stats(stats.as_deref())
                    .and_then(|s| s["numRecords"].as_i64())
                    .unwrap_or(0);
                added.push(DataFile {
                    path: decode(add["path"].as_str().unwrap_or_default()),
                    size: add["size"].as_i64().unwrap_or(0),
                    rows,
                    stats,
                });
            } else if let Some(remove) = action.get("remove") {
                removed.push(decode(remove["path"].as_str().unwrap_or_default()));
            }
        }
        Ok((added, removed))
    }

    /// Tries to commit `add` and `remove` as the version after the one read.
    pub async fn try_commit(
        &mut self,
        operation: Operation,
        add: &[DataFile],
        remove: &[DataFile],
        data_change: bool,
        info: &CommitInfo,
    ) -> Result<Attempt> {
        let now = chrono_millis();
        let mut actions: Vec<Action> = Vec::new();
        for f in add {
            actions.push(Action::Add(Add {
                path: f.path.clone(),
                partition_values: HashMap::new(),
                size: f.size,
                modification_time: now,
                data_change,
                stats: f.stats.clone(),
                ..Default::default()
            }));
        }
        for f in remove {
            actions.push(Action::Remove(Remove {
                path: f.path.clone(),
                data_change,
                deletion_timestamp: Some(now),
                extended_file_metadata: Some(true),
                partition_values: Some(HashMap::new()),
                size: Some(f.size),
                ..Default::default()
            }));
        }
        let target = add.iter().map(|f| f.size).max().unwrap_or(0);
        let properties = CommitProperties::default()
            .with_create_checkpoint(true)
            .with_cleanup_expired_logs(Some(false))
            .with_metadata([("robbench".to_string(), info.to_json())]);
        let snapshot = self.table.snapshot().map_err(|e| to_anyhow(e, &self.dir))?;
        let committed = CommitBuilder::from(properties)
            .with_actions(actions)
            .with_max_retries(0)
            .build(Some(snapshot), self.table.log_store(), operation.delta(target))
            .await;
        match committed {
            Ok(done) => {
                let version = done.version();
                self.table.state = Some(done.snapshot());
                Ok(Attempt::Committed(version as i64))
            }
            Err(DeltaTableError::Transaction {
                source:
                    TransactionError::VersionAlreadyExists(_) | TransactionError::MaxCommitAttempts(_),
            }) => Ok(Attempt::Raced),
            Err(e) => Err(to_anyhow(e, &self.dir)),
        }
    }
}

impl Log {
    /// Adds columns to the table's schema (a metadata-only commit).
    pub async fn add_columns(
        &mut self,
        fields: Vec<deltalake_core::kernel::StructField>,
    ) -> Result<()> {
        let table = self
            .table
            .clone()
            .add_columns()
            .with_fields(fields)
            .await
            .map_err(|e| to_anyhow(e, &self.dir))?;
        self.table = table;
        Ok(())
    }

    /// Delta's vacuum: removes the files of the folder that no version younger than
    /// `retention` references. Returns how many it removed.
    pub async fn vacuum(&self, retention: std::time::Duration) -> Result<usize> {
        let retention = chrono::Duration::from_std(retention)?;
        let (_, metrics) = self
            .table
            .clone()
            .vacuum()
            .with_retention_period(retention)
            .with_enforce_retention_duration(false)
            .await
            .map_err(|e| to_anyhow(e, &self.dir))?;
        Ok(metrics.files_deleted.len())
    }
}

/// Delta log paths are URI-encoded; robbench's own names never need it, but other writers'
/// might.
fn decode(path: &str) -> String {
    percent_encoding::percent_decode_str(path).decode_utf8_lossy().into_owned()
}

fn chrono_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Who committed and why, kept in each commit's commitInfo under "robbench".
#[derive(Clone, Debug, Default)]
pub struct CommitInfo {
    pub statement: Option<String>,
    /// Rows the commit adds and removes as the table's content changes (a rewritten file's
    /// unchanged rows count in neither).
    pub rows_added: i64,
    pub rows_removed: i64,
}

impl CommitInfo {
    pub fn statement(sql: &str) -> CommitInfo {
        CommitInfo { statement: Some(sql.trim().to_string()), ..CommitInfo::default() }
    }

    fn to_json(&self) -> Value {
        let env = |k: &str| std::env::var(k).ok();
        serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "host": hostname(),
            "pid": std::process::id(),
            "job": env("SLURM_ARRAY_JOB_ID").or_else(|| env("SLURM_JOB_ID")),
            "task": env("SLURM_ARRAY_TASK_ID"),
            "statement": self.statement,
            "rows_added": self.rows_added,
            "rows_removed": self.rows_removed,
        })
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default()
}
