//! The benchmark folder (SPEC section 3): one Delta Lake table per benchmark table, and the
//! only code that writes them.
//!
//! - [`Store`] owns the folder: creating it, opening it (at its latest versions or as it was at
//!   a version or time), and every change, each one Delta commit of one table:
//!   `append.rs` (INSERT, a finished run, a score, an import), `rewrite.rs` (UPDATE, DELETE:
//!   only the files holding affected rows), `compact.rs` (merging small files, vacuum) and
//!   `lookup.rs` (a row by key, for train and the importers).
//! - `log.rs` reads and commits to a table's log; `delta.rs` is what delta-rs does for it
//!   (creating tables, schema changes, checkpoints, vacuum).
//! - [`session::Bench`] binds a store to a DuckDB connection: each table is a view over the
//!   files of its version, and statements that change a table are turned into store calls.
//!
//! Costs: a table's log is read on first use, from its latest checkpoint and the commits after
//!   it, so a statement pays only for the tables it reads; an append writes one file and checks
//!   its keys against the files whose statistics might hold them ([`keys`]), so it costs the
//!   same whatever the table holds; files are merged by size tier ([`compact::tiers`]), so a
//!   table has a bounded number of files and each row is rewritten a logarithmic number of
//!   times.
//!
//! A statement that changes several tables makes one commit per table; `train` commits a run's
//! curves before its runs row, so a runs row marks a complete record, and a run whose curves
//! are committed but whose runs row is not (a kill between the two) is trained or resumed again
//! by the next call, whose curves then add nothing new and whose runs row completes it.

mod append;
pub mod compact;
pub mod delta;
pub mod files;
pub mod history;
pub mod keys;
pub mod legacy;
pub mod log;
mod lookup;
mod rewrite;
pub mod rows;
pub mod session;
pub mod table;

use std::collections::HashSet;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use anyhow::{anyhow, bail, Context, Result};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use history::CommitInfo;
use log::{Attempt, Log, Operation, Version};
pub use lookup::Record;
pub use session::Bench;
pub use table::{TableDef, TABLES};

pub const VIEWS_SQL: &str = include_str!("../../schema/views.sql");
pub const MARKER: &str = "robbench.json";
/// The folder format this robbench writes: 2 is Delta Lake tables (1 was Parquet parts).
pub const FORMAT: u64 = 2;

/// How long a data file that no version references any more stays for readers that may still
/// read it, before `--optimize` removes it (Delta's default retention: a week).
pub const RETENTION_HOURS: f64 = 168.0;

/// A commit that does not apply to what other processes committed meanwhile: nothing of it was
/// written. The session runs the statement again on the new state.
#[derive(Debug)]
pub struct Conflict(pub String);

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "conflict with a change committed meanwhile by another process: {}", self.0)
    }
}

impl std::error::Error for Conflict {}

/// What an append does with a row whose key the table already holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnKey {
    /// Refuse the whole append, as DuckDB's INSERT does.
    Refuse,
    /// Leave the row out (INSERT OR IGNORE).
    Ignore,
    /// Replace the table's row by it (INSERT OR REPLACE).
    Replace,
}

/// Where a read-only store looks in the tables' histories.
#[derive(Clone, Debug, PartialEq)]
pub enum AsOf {
    /// A benchmark version: the number of commits, over all tables, that `history()` lists.
    Version(u64),
    /// Milliseconds since the Unix epoch: each table as its last commit at or before then.
    Time(i64),
}

impl std::str::FromStr for AsOf {
    type Err = String;
    fn from_str(s: &str) -> Result<AsOf, String> {
        if let Ok(v) = s.trim().parse::<u64>() {
            return Ok(AsOf::Version(v));
        }
        parse_time(s.trim()).map(AsOf::Time).ok_or_else(|| {
            format!("'{s}' is neither a benchmark version (a number, see history()) nor a time such as 2026-12-01 or 2026-12-01T10:30:00 (UTC)")
        })
    }
}

fn parse_time(s: &str) -> Option<i64> {
    use chrono::{NaiveDate, NaiveDateTime};
    let t = s.trim_end_matches('Z');
    let dt = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()
        .or_else(|| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?.and_hms_opt(23, 59, 59))?;
    Some(dt.and_utc().timestamp_millis())
}

/// A statement's change of a keyed table's rows: the rows it removed or updated, as they were,
/// and the rows it added or updated, as they are.
#[derive(Clone, Debug)]
pub struct RowDelta {
    pub removed: Vec<RecordBatch>,
    pub added: Vec<RecordBatch>,
}

/// What a change wrote.
#[derive(Clone, Debug, Default)]
pub struct Written {
    /// The table version committed (None: nothing to commit).
    pub version: Option<i64>,
    pub rows: i64,
}

struct Table {
    def: TableDef,
    dir: PathBuf,
    /// Read at first use: a statement pays only for the logs of the tables it touches.
    log: Mutex<Option<Log>>,
    /// The version shown, when the store was opened as of one.
    pinned: Option<i64>,
    /// Whether the log's schema was checked for robbench's columns (at the first write).
    evolved: AtomicBool,
}

/// A table's log, read on first use and held for the caller.
struct Held<'a>(MutexGuard<'a, Option<Log>>);

impl Deref for Held<'_> {
    type Target = Log;
    fn deref(&self) -> &Log {
        self.0.as_ref().expect("read by Table::log")
    }
}

impl DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut Log {
        self.0.as_mut().expect("read by Table::log")
    }
}

impl Table {
    fn log(&self) -> Result<Held<'_>> {
        let mut held = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if held.is_none() {
            *held = Some(Log::open(&self.dir, self.pinned)?);
        }
        Ok(Held(held))
    }
}

/// The benchmark folder and its tables.
pub struct Store {
    pub dir: PathBuf,
    pub read_only: bool,
    /// The benchmark version shown, when opened as of one.
    as_of: Option<u64>,
    tables: Vec<Table>,
}

/// The format of a benchmark folder, from its marker (None: no marker).
pub fn folder_format(dir: &Path) -> Result<Option<u64>> {
    let marker = dir.join(MARKER);
    let text = match std::fs::read_to_string(&marker) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", marker.display())),
    };
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a robbench marker", marker.display()))?;
    v["format"].as_u64().map(Some).ok_or_else(|| anyhow!("{}: no format number", marker.display()))
}

fn absolute(dir: &Path) -> Result<PathBuf> {
    std::path::absolute(dir).with_context(|| format!("cannot resolve {}", dir.display()))
}

impl Store {
    /// Opens the benchmark folder `dir` with the tables `defs` ([`table::definitions`]),
    /// creating it (with the architectures table's rows from `architectures`) if it does not
    /// exist yet. No table's log is read until the table is used.
    pub fn open(
        dir: &Path,
        read_only: bool,
        as_of: Option<&AsOf>,
        defs: Vec<TableDef>,
        architectures: impl FnOnce() -> Result<Vec<RecordBatch>>,
    ) -> Result<Store> {
        let dir = absolute(dir)?;
        match folder_format(&dir)? {
            Some(FORMAT) => {}
            Some(1) => bail!(
                "{} is a benchmark folder in robbench's first format (Parquet parts, before Delta Lake tables); convert it in place with: robbench --bench {} --upgrade",
                dir.display(),
                dir.display()
            ),
            Some(f) => bail!(
                "{} is a benchmark folder of format {f}, newer than this robbench's ({FORMAT}): update robbench",
                dir.display()
            ),
            None => {
                if read_only || as_of.is_some() {
                    bail!("{} is not a robbench benchmark (no {MARKER}) and --read-only forbids creating it", dir.display());
                }
                create(&dir, &defs, architectures)?;
            }
        }
        let (versions, as_of) = match as_of {
            Some(a) => {
                let (v, n) = history::versions_as_of(&dir, &defs, a)?;
                (Some(v), Some(n))
            }
            None => (None, None),
        };
        let mut tables = Vec::new();
        for def in defs {
            let tdir = dir.join(def.name);
            let mut log = None;
            if !Log::exists(&tdir) {
                // A table added to robbench after the folder was made: created empty, as a new
                // folder's tables are (create-if-absent, so concurrent openers agree).
                if read_only || as_of.is_some() {
                    bail!(
                        "{} predates the table {}: open it once without --read-only or --as-of to add it (an empty table)",
                        dir.display(),
                        def.name
                    );
                }
                log = Some(delta::create(&tdir, &def)?);
            }
            // A table with no commit before the time asked for: its creation.
            let pinned = versions.as_ref().map(|v| v[def.name].max(0));
            let evolved = AtomicBool::new(false);
            tables.push(Table { def, dir: tdir, log: Mutex::new(log), pinned, evolved });
        }
        Ok(Store { dir, read_only: read_only || as_of.is_some(), as_of, tables })
    }

    /// The benchmark version shown, when opened as of one (`--as-of`).
    pub fn as_of_version(&self) -> Option<u64> {
        self.as_of
    }

    fn table(&self, name: &str) -> Result<&Table> {
        self.tables
            .iter()
            .find(|t| t.def.name == name)
            .ok_or_else(|| anyhow!("no benchmark table '{name}'"))
    }

    pub fn def(&self, name: &str) -> Result<&TableDef> {
        Ok(&self.table(name)?.def)
    }

    pub fn defs(&self) -> impl Iterator<Item = &TableDef> {
        self.tables.iter().map(|t| &t.def)
    }

    pub fn schema(&self, name: &str) -> Result<SchemaRef> {
        Ok(self.def(name)?.arrow.clone())
    }

    pub fn table_dir(&self, name: &str) -> Result<PathBuf> {
        Ok(self.table(name)?.dir.clone())
    }

    /// The table's latest version (its version as of the time asked for, when opened so).
    pub fn snapshot(&self, name: &str) -> Result<Version> {
        let t = self.table(name)?;
        let mut log = t.log()?;
        // A read-only session follows other writers; one opened as of a version stays there.
        if self.as_of.is_none() {
            log.update()?;
        }
        Ok(log.snapshot())
    }

    /// Whether the table has a version after `version` (one file probe).
    pub fn changed_since(&self, name: &str, version: i64) -> Result<bool> {
        if self.as_of.is_some() {
            return Ok(false);
        }
        Ok(log::commit_path(&self.table(name)?.dir, version + 1).exists())
    }

    /// The table's log, for a change: refused for a read-only store or table; read up to its
    /// latest version, with robbench's columns in its schema.
    fn write_log<'a>(&self, t: &'a Table) -> Result<Held<'a>> {
        if self.read_only {
            bail!(
                "the benchmark {} is open read-only: nothing was written to {}",
                self.dir.display(),
                t.def.name
            );
        }
        if t.def.read_only() {
            bail!("{} is read-only: nothing was written", t.def.name);
        }
        let mut log = t.log()?;
        log.update()?;
        if !t.evolved.load(Ordering::Relaxed) {
            // A folder written by an older robbench: the columns it lacks are added in a
            // metadata-only commit; files written before read them as NULL.
            let have: HashSet<String> = log.column_names().into_iter().collect();
            let missing: Vec<_> =
                t.def.delta_fields()?.into_iter().filter(|f| !have.contains(f.name())).collect();
            if !missing.is_empty() {
                delta::add_columns(&t.dir, missing)?;
                log.update()?;
            }
            t.evolved.store(true, Ordering::Relaxed);
        }
        Ok(log)
    }

    /// What follows the commit of `version` to table `t`: its checkpoint when the version is a
    /// multiple of the table's interval, and, every [`compact::COMPACT_EVERY`] versions, a
    /// merge of small files. Exactly one writer commits each version, so concurrent writers
    /// neither repeat nor race for these. A failure only means the log or files stay as they
    /// are.
    fn after_commit(&self, t: &Table, log: &mut Log, version: i64) {
        self.checkpoint_quietly(t, log, version);
        if version % compact::COMPACT_EVERY == 0 {
            if let Err(e) = self.compact_log(t, log, false) {
                eprintln!(
                    "note: compacting {} failed ({e:#}); its files stay as they are",
                    t.def.name
                );
            }
        }
    }

    fn checkpoint_quietly(&self, t: &Table, log: &Log, version: i64) {
        if version % log.checkpoint_interval() != 0 {
            return;
        }
        if let Err(e) = delta::checkpoint(&t.dir, version) {
            eprintln!(
                "note: the checkpoint of {} at version {version} failed ({e:#}); readers replay its log instead",
                t.def.name
            );
        }
    }
}

/// Creates the tables of a new benchmark folder: each table's version 0, then the architectures
/// rows, then the marker. Processes that start on a new folder at once (the tasks of an array
/// job) all run this: each step is a create-if-absent, so they agree on one result.
fn create(
    dir: &Path,
    defs: &[TableDef],
    architectures: impl FnOnce() -> Result<Vec<RecordBatch>>,
) -> Result<()> {
    if dir.exists() {
        let foreign = std::fs::read_dir(dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .flatten()
            .any(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                !TABLES.contains(&n.as_str()) && n != MARKER && !n.starts_with('.')
            });
        if foreign {
            bail!(
                "{} exists but is not a robbench benchmark (no {MARKER}); give an empty or new folder",
                dir.display()
            );
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut arch_log = None;
    for def in defs {
        let log = delta::create(&dir.join(def.name), def)?;
        if def.name == "architectures" {
            arch_log = Some(log);
        }
    }
    let mut log = arch_log.ok_or_else(|| anyhow!("internal: no architectures table"))?;
    if log.files().is_empty() {
        let def = defs.iter().find(|d| d.name == "architectures").unwrap();
        let batch = files::concat(&def.arrow, &architectures()?)?;
        let file = files::write(&log.dir, &def.arrow, std::slice::from_ref(&batch))?;
        let info = CommitInfo {
            statement: Some("create the benchmark".into()),
            rows_added: batch.num_rows() as i64,
            rows_removed: 0,
        };
        loop {
            match log.try_commit(
                Operation::Append,
                std::slice::from_ref(&file),
                &[],
                true,
                &info,
            )? {
                Attempt::Committed(_) => break,
                Attempt::Raced => {
                    log.update()?;
                    if !log.files().is_empty() {
                        files::remove(&log.dir, std::iter::once(&file));
                        break; // another creator added them
                    }
                }
            }
        }
    }
    // The marker comes last: a folder without it was never finished and is not opened.
    robbench_vocab::durable::write(
        &dir.join(MARKER),
        format!("{{\"format\": {FORMAT}}}\n").as_bytes(),
    )
}
