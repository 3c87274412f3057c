//! The benchmark folder (SPEC section 3): one Delta Lake table per benchmark table, and the
//! only code that writes them.
//!
//! - [`Store`] owns the folder: creating it, opening it (at its latest versions or as it was at
//!   a version or time), and every change: [`Store::append`] (INSERT, a finished run, a score,
//!   an import), [`Store::rewrite`] (UPDATE, DELETE: only the files holding affected rows) and
//!   [`Store::compact`]. Each change is one Delta commit of one table.
//! - [`session::Bench`] binds a store to a DuckDB connection: each table is a view over the
//!   files of its version, and statements that change a table are turned into store calls.
//!
//! Costs: an append writes one file and checks its keys against the files whose statistics
//!   might hold them ([`keys`]), so it costs the same whatever the table holds; a reader opens
//!   the files of one version and nothing else; files are merged by size tier ([`tiers`]), so
//!   a table has a bounded number of files and each row is rewritten a logarithmic number of
//!   times.
//!
//! A statement that changes several tables makes one commit per table; `train` commits a run's
//! curves before its runs row, so a runs row marks a complete record, and a run whose curves
//! are committed but whose runs row is not (a kill between the two) is trained or resumed again
//! by the next call, whose curves then add nothing new and whose runs row completes it.

pub mod delta;
pub mod files;
pub mod keys;
pub mod legacy;
pub mod rows;
pub mod session;
pub mod table;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context, Result};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use delta::{Attempt, CommitInfo, Log, Operation, Version};
use files::DataFile;
use keys::Key;
pub use session::Bench;
pub use table::{TableDef, TABLES};

pub const VIEWS_SQL: &str = include_str!("../../schema/views.sql");
pub const MARKER: &str = "robbench.json";
/// The folder format this robbench writes: 2 is Delta Lake tables (1 was Parquet parts).
pub const FORMAT: u64 = 2;

/// How long a data file that no version references any more stays for readers that may still
/// read it, before `--optimize` removes it (Delta's default retention: a week).
pub const RETENTION_HOURS: f64 = 168.0;

/// Size tiers of data files: tier k holds files of TIER_BASE * 4^k bytes up to 4 times that.
/// Once a tier has TIER_FILES files, they are merged into one (which lands a tier or two up).
pub const TIER_BASE: i64 = 64 << 10;
pub const TIER_FILES: usize = 8;
/// Files from this size on are merged only on demand (`--optimize`), so no statement pays for
/// reading them.
pub const LARGE_FILE_BYTES: i64 = 256 << 20;
/// Only a commit whose version is a multiple of this looks for a tier to merge: exactly one
/// writer commits each version, so concurrent writers do not all merge the same files.
pub const COMPACT_EVERY: i64 = 4;

/// The tier of a file of `size` bytes (see [`TIER_BASE`]).
fn tier(size: i64) -> u32 {
    let mut k = 0;
    let mut bound = TIER_BASE * 4;
    while size >= bound && k < 30 {
        k += 1;
        bound = bound.saturating_mul(4);
    }
    k
}

/// The files an automatic compaction merges: the smallest tier that has [`TIER_FILES`] files
/// (files of [`LARGE_FILE_BYTES`] and more never).
pub fn tiers(files: &[DataFile]) -> Option<Vec<DataFile>> {
    let mut by_tier: std::collections::BTreeMap<u32, Vec<DataFile>> = Default::default();
    for f in files.iter().filter(|f| f.size < LARGE_FILE_BYTES) {
        by_tier.entry(tier(f.size)).or_default().push(f.clone());
    }
    by_tier.into_values().find(|v| v.len() >= TIER_FILES)
}

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
    log: Mutex<Log>,
}

/// The benchmark folder and its tables.
pub struct Store {
    pub dir: PathBuf,
    pub read_only: bool,
    /// The benchmark version shown, when opened as of one.
    as_of: Option<u64>,
    tables: Vec<Table>,
    rt: tokio::runtime::Runtime,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the I/O runtime")
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
    /// Opens the benchmark folder `dir`, creating it (with the architectures table's rows from
    /// `architectures`) if it does not exist yet.
    pub fn open(
        dir: &Path,
        read_only: bool,
        as_of: Option<&AsOf>,
        architectures: impl FnOnce() -> Result<Vec<RecordBatch>>,
    ) -> Result<Store> {
        let dir = absolute(dir)?;
        let defs = table::definitions()?;
        let rt = runtime()?;
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
                create(&rt, &dir, &defs, architectures)?;
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
                rt.block_on(Log::create(&tdir, &def))?;
            }
            let version = versions.as_ref().map(|v| v[def.name]);
            let log = match version {
                // A table with no commit before the time asked for: its creation.
                Some(v) => rt.block_on(Log::open(&tdir, Some(v.max(0))))?,
                None => rt.block_on(Log::open(&tdir, None))?,
            };
            tables.push(Table { def, dir: tdir, log: Mutex::new(log) });
        }
        let store = Store { dir, read_only: read_only || as_of.is_some(), as_of, tables, rt };
        if !store.read_only {
            store.evolve_schemas()?;
        }
        Ok(store)
    }

    /// The benchmark version shown, when opened as of one (`--as-of`).
    pub fn as_of_version(&self) -> Option<u64> {
        self.as_of
    }

    /// Compacts every table (however few its small files) and vacuums it with `retention`:
    /// per table, the files merged and the files removed.
    pub fn optimize(
        &self,
        retention: std::time::Duration,
    ) -> Result<Vec<(&'static str, usize, usize)>> {
        if self.read_only {
            bail!("the benchmark {} is open read-only: nothing optimized", self.dir.display());
        }
        let mut report = Vec::new();
        for t in &self.tables {
            let merged = if t.def.read_only() { 0 } else { self.compact(t.def.name, true)? };
            let removed = self.vacuum(t.def.name, retention)?;
            report.push((t.def.name, merged, removed));
        }
        Ok(report)
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
        let mut log = t.log.lock().unwrap();
        // A read-only session follows other writers; one opened as of a version stays there.
        if self.as_of.is_none() {
            self.rt.block_on(log.update())?;
        }
        log.snapshot()
    }

    /// Whether the table has a version after `version` (one file probe).
    pub fn changed_since(&self, name: &str, version: i64) -> Result<bool> {
        if self.as_of.is_some() {
            return Ok(false);
        }
        let t = self.table(name)?;
        Ok(t.dir.join(delta::LOG_DIR).join(format!("{:020}.json", version + 1)).exists())
    }

    fn writable(&self, t: &Table) -> Result<()> {
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
        Ok(())
    }

    /// Adds columns robbench's schema has and the table's log does not (a folder written by an
    /// older robbench): a metadata-only commit; files written before read those columns as NULL.
    fn evolve_schemas(&self) -> Result<()> {
        for t in &self.tables {
            let mut log = t.log.lock().unwrap();
            let have: HashSet<String> = log.column_names()?.into_iter().collect();
            let missing: Vec<_> =
                t.def.delta_fields()?.into_iter().filter(|f| !have.contains(f.name())).collect();
            if missing.is_empty() {
                continue;
            }
            self.rt.block_on(log.add_columns(missing))?;
        }
        Ok(())
    }

    /// Appends rows given by column name (see [`rows::Row`]).
    pub fn append_rows(&self, name: &str, rows: &[rows::Row], on_key: OnKey) -> Result<Written> {
        let batch = rows::to_batch(&self.schema(name)?, rows)?;
        self.append(name, vec![batch], on_key, CommitInfo::default())
    }

    /// Appends `batches` to the table as one commit, with its key rule: the keys are checked
    /// against the files that might hold them, then against each version committed meanwhile.
    pub fn append(
        &self,
        name: &str,
        batches: Vec<RecordBatch>,
        on_key: OnKey,
        mut info: CommitInfo,
    ) -> Result<Written> {
        let t = self.table(name)?;
        self.writable(t)?;
        let def = &t.def;
        let batch = concat(&def.arrow, &batches)?;
        if batch.num_rows() == 0 {
            return Ok(Written::default());
        }
        // Rows of the batch that share a key: the last one stands for it (DuckDB's staging
        // table has refused them already; rows from train or an import are checked here).
        let row_keys = keys::of_batch(&batch, &def.key);
        let mut keep = vec![true; batch.num_rows()];
        if !def.key.is_empty() {
            let mut seen: HashMap<&Key, usize> = HashMap::new();
            for (i, k) in row_keys.iter().enumerate() {
                if let Some(j) = seen.insert(k, i) {
                    match on_key {
                        OnKey::Refuse => bail!(keys::duplicate_message(def, k)),
                        OnKey::Ignore => keep[i] = false,
                        OnKey::Replace => keep[j] = false,
                    }
                }
            }
        }
        let mut log = t.log.lock().unwrap();
        self.rt.block_on(log.update())?;
        let mut to_check = log.files()?;
        // Replace: positions of rows to drop, per existing file.
        let mut replaced: HashMap<String, HashSet<usize>> = HashMap::new();
        let mut written: Option<DataFile> = None;
        // (a file holding replaced rows, its copy without them: None when none are left)
        let mut rewritten: Vec<(DataFile, Option<DataFile>)> = Vec::new();
        let outcome = loop {
            let wanted: HashSet<Key> = row_keys
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(key, _)| key.clone())
                .collect();
            let hits = keys::find(def, &t.dir, &to_check, &wanted)?;
            if !hits.is_empty() {
                match on_key {
                    OnKey::Refuse => {
                        let key =
                            hits.values().next().and_then(|h| h.first()).map(|(k, _)| k.clone());
                        remove_files(
                            &t.dir,
                            written.iter().chain(rewritten.iter().filter_map(|(_, n)| n.as_ref())),
                        );
                        bail!(keys::duplicate_message(def, &key.unwrap_or_default()));
                    }
                    OnKey::Ignore => {
                        let held: HashSet<&Key> = hits.values().flatten().map(|(k, _)| k).collect();
                        for (i, k) in row_keys.iter().enumerate() {
                            if held.contains(k) {
                                keep[i] = false;
                            }
                        }
                        remove_files(&t.dir, written.take().iter());
                    }
                    OnKey::Replace => {
                        for (path, found) in hits {
                            replaced
                                .entry(path)
                                .or_default()
                                .extend(found.into_iter().map(|(_, p)| p));
                        }
                        remove_files(&t.dir, rewritten.iter().filter_map(|(_, n)| n.as_ref()));
                        rewritten.clear();
                    }
                }
            }
            let kept = filter_rows(&batch, &keep)?;
            if kept.num_rows() == 0 && replaced.is_empty() {
                break None;
            }
            if written.is_none() && kept.num_rows() > 0 {
                written = Some(files::write(&t.dir, &def.arrow, std::slice::from_ref(&kept))?);
            }
            if rewritten.is_empty() && !replaced.is_empty() {
                let active = log.files()?;
                for (path, drop) in &replaced {
                    let old =
                        active.iter().find(|f| &f.path == path).cloned().ok_or_else(|| {
                            anyhow!("internal: {path} of {name} is not in the table")
                        })?;
                    let new = without_rows(&t.dir, def, &old, drop)?;
                    rewritten.push((old, new));
                }
            }
            let add: Vec<DataFile> = written
                .iter()
                .cloned()
                .chain(rewritten.iter().filter_map(|(_, n)| n.clone()))
                .collect();
            let remove: Vec<DataFile> = rewritten.iter().map(|(o, _)| o.clone()).collect();
            info.rows_added = kept.num_rows() as i64;
            info.rows_removed = replaced.values().map(|d| d.len() as i64).sum();
            let op = if remove.is_empty() { Operation::Append } else { Operation::Replace };
            let before = log.version();
            match self.rt.block_on(log.try_commit(op, &add, &remove, true, &info))? {
                Attempt::Committed(v) => break Some((v, info.rows_added)),
                Attempt::Raced => {
                    self.rt.block_on(log.update())?;
                    let mut added = Vec::new();
                    let mut gone = HashSet::new();
                    for v in before + 1..=log.version() {
                        let (a, r) = log.changes(v)?;
                        added.extend(a);
                        gone.extend(r);
                    }
                    if replaced.keys().any(|p| gone.contains(p)) {
                        // A file this replace rewrites was rewritten meanwhile: start over on
                        // the new version.
                        remove_files(&t.dir, rewritten.iter().filter_map(|(_, n)| n.as_ref()));
                        rewritten.clear();
                        replaced.clear();
                        to_check = log.files()?;
                    } else {
                        to_check = added;
                    }
                }
            }
        };
        drop(log);
        let Some((version, rows)) = outcome else {
            return Ok(Written { version: None, rows: 0 });
        };
        self.compact_quietly(name, version);
        Ok(Written { version: Some(version), rows })
    }

    /// Replaces the files `remove` of version `base` by `batches` (their rows as a statement
    /// left them): an UPDATE or DELETE. When a file it replaces was replaced meanwhile (a
    /// compaction, another statement), the statement's change of rows, `delta`, is applied to
    /// the new version instead, as long as every row it removed is still there unchanged. A
    /// [`Conflict`] when it is not, or when a key it writes was added meanwhile.
    #[allow(clippy::too_many_arguments)]
    pub fn rewrite(
        &self,
        name: &str,
        base: i64,
        remove: &[String],
        batches: Vec<RecordBatch>,
        delta: Option<RowDelta>,
        operation: Operation,
        info: CommitInfo,
    ) -> Result<Written> {
        let t = self.table(name)?;
        self.writable(t)?;
        let def = &t.def;
        let batch = concat(&def.arrow, &batches)?;
        let mut log = t.log.lock().unwrap();
        self.rt.block_on(log.update())?;
        // What this attempt removes and adds; every file written is removed again unless
        // committed.
        let mut add: Vec<DataFile> = Vec::new();
        if batch.num_rows() > 0 {
            add.push(files::write(&t.dir, &def.arrow, std::slice::from_ref(&batch))?);
        }
        let mut written = add.clone();
        let mut old_paths: Vec<String> = remove.to_vec();
        let mut new_keys: HashSet<Key> = keys::of_batch(&batch, &def.key).into_iter().collect();
        let conflict = |why: String, written: &[DataFile]| -> anyhow::Error {
            remove_files(&t.dir, written.iter());
            anyhow::Error::new(Conflict(why))
        };
        let mut checked = base;
        loop {
            let active = log.files()?;
            let mut old: Option<Vec<DataFile>> =
                old_paths.iter().map(|p| active.iter().find(|f| &f.path == p).cloned()).collect();
            if old.is_none() {
                let changed =
                    format!("rows of {name} that this statement changed were changed meanwhile");
                let Some(d) = delta.as_ref().filter(|_| !def.key.is_empty()) else {
                    return Err(conflict(changed, &written));
                };
                let Some((files_old, files_new)) = self.reapply(t, &active, d)? else {
                    return Err(conflict(changed, &written));
                };
                remove_files(&t.dir, written.iter());
                written = files_new.clone();
                add = files_new;
                old_paths = files_old.iter().map(|f| f.path.clone()).collect();
                new_keys =
                    keys::of_batch(&concat(&def.arrow, &d.added)?, &def.key).into_iter().collect();
                old = Some(files_old);
            }
            let old = old.expect("set above");
            let mut added = Vec::new();
            for v in checked + 1..=log.version() {
                added.extend(log.changes(v)?.0);
            }
            // Only what the new version holds counts: files added and removed again since
            // (merged by a compaction, say) hold no key of the table any more, and the files
            // this commit replaces hold the old rows of its own keys.
            let now: HashSet<String> = log.files()?.into_iter().map(|f| f.path).collect();
            added.retain(|f| now.contains(&f.path) && !old_paths.contains(&f.path));
            if !keys::find(def, &t.dir, &added, &new_keys)?.is_empty() {
                return Err(conflict(
                    format!("a key this statement writes to {name} was added meanwhile"),
                    &written,
                ));
            }
            checked = log.version();
            match self.rt.block_on(log.try_commit(operation.clone(), &add, &old, true, &info))? {
                Attempt::Committed(v) => {
                    drop(log);
                    self.compact_quietly(name, v);
                    return Ok(Written { version: Some(v), rows: info.rows_added });
                }
                Attempt::Raced => self.rt.block_on(log.update())?,
            }
        }
    }

    /// The files of `active` that hold the rows `delta` removed, and their replacements:
    /// the same files without those rows, and the rows `delta` added. None when a removed row
    /// is no longer there as the statement read it.
    fn reapply(
        &self,
        t: &Table,
        active: &[DataFile],
        delta: &RowDelta,
    ) -> Result<Option<(Vec<DataFile>, Vec<DataFile>)>> {
        let def = &t.def;
        let removed = concat(&def.arrow, &delta.removed)?;
        let removed_keys = keys::of_batch(&removed, &def.key);
        let converter = arrow::row::RowConverter::new(
            def.arrow
                .fields()
                .iter()
                .map(|f| arrow::row::SortField::new(f.data_type().clone()))
                .collect(),
        )?;
        let old_rows = converter.convert_columns(removed.columns())?;
        let want: HashMap<&Key, Vec<u8>> = removed_keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k, old_rows.row(i).as_ref().to_vec()))
            .collect();
        let keys: HashSet<Key> = removed_keys.iter().cloned().collect();
        let hits = keys::find(def, &t.dir, active, &keys)?;
        if hits.values().map(Vec::len).sum::<usize>() != keys.len() {
            return Ok(None);
        }
        let mut old = Vec::new();
        let mut new = Vec::new();
        for (path, found) in hits {
            let file = active.iter().find(|f| f.path == path).cloned().expect("a hit is active");
            let rows = concat(&def.arrow, &files::read(&t.dir.join(&path), &def.arrow)?)?;
            let converted = converter.convert_columns(rows.columns())?;
            if found.iter().any(|(k, pos)| {
                want.get(k).map(|w| w.as_slice()) != Some(converted.row(*pos).as_ref())
            }) {
                return Ok(None);
            }
            let drop: HashSet<usize> = found.iter().map(|(_, p)| *p).collect();
            if let Some(f) = without_rows(&t.dir, def, &file, &drop)? {
                new.push(f);
            }
            old.push(file);
        }
        let added = concat(&def.arrow, &delta.added)?;
        if added.num_rows() > 0 {
            new.push(files::write(&t.dir, &def.arrow, &[added])?);
        }
        Ok(Some((old, new)))
    }

    /// Compacts after the commit of `version`, when it is that version's turn; a failure only
    /// means the files stay as they are.
    fn compact_quietly(&self, name: &str, version: i64) {
        if version % COMPACT_EVERY != 0 {
            return;
        }
        if let Err(e) = self.compact(name, false) {
            eprintln!("note: compacting {name} failed ({e:#}); its files stay as they are");
        }
    }

    /// Merges files of the table into one, sorted by its key, in a commit that changes no data
    /// (readers and appends never conflict with it): with `force` all of them, else the
    /// smallest size tier that is full ([`tiers`]). Returns the number of files merged.
    pub fn compact(&self, name: &str, force: bool) -> Result<usize> {
        let t = self.table(name)?;
        if self.read_only {
            return Ok(0);
        }
        let def = &t.def;
        let mut log = t.log.lock().unwrap();
        let files = log.files()?;
        let small: Vec<DataFile> = match force {
            true if files.len() > 1 => files,
            true => return Ok(0),
            false => match tiers(&files) {
                Some(tier) => tier,
                None => return Ok(0),
            },
        };
        let mut batches = Vec::new();
        for f in &small {
            batches.extend(files::read(&t.dir.join(&f.path), &def.arrow)?);
        }
        let merged = sort(&concat(&def.arrow, &batches)?, &def.order)?;
        let new = files::write(&t.dir, &def.arrow, &[merged])?;
        let info = CommitInfo { statement: Some("compact".into()), ..CommitInfo::default() };
        loop {
            match self.rt.block_on(log.try_commit(
                Operation::Compact,
                std::slice::from_ref(&new),
                &small,
                false,
                &info,
            ))? {
                Attempt::Committed(_) => return Ok(small.len()),
                Attempt::Raced => {
                    self.rt.block_on(log.update())?;
                    let active: HashSet<String> =
                        log.files()?.into_iter().map(|f| f.path).collect();
                    if small.iter().any(|f| !active.contains(&f.path)) {
                        // Another process compacted or rewrote some of these files first.
                        remove_files(&t.dir, std::iter::once(&new));
                        return Ok(0);
                    }
                }
            }
        }
    }

    /// Removes the files no version within `retention` references (Delta's vacuum). Returns
    /// the number of files removed.
    pub fn vacuum(&self, name: &str, retention: std::time::Duration) -> Result<usize> {
        let t = self.table(name)?;
        if self.read_only {
            bail!("the benchmark is open read-only: nothing vacuumed");
        }
        let log = t.log.lock().unwrap();
        let removed = self.rt.block_on(log.vacuum(retention))?;
        Ok(removed)
    }

    /// The first row of `table` whose `column` equals `value`.
    pub fn lookup(&self, table: &str, column: &str, value: &str) -> Result<Option<Record>> {
        let keys = HashSet::from([value.to_string()]);
        Ok(self.lookup_many(table, column, &keys)?.remove(value))
    }

    /// Whether any row of `table` has `value` in `column`.
    pub fn contains(&self, table: &str, column: &str, value: &str) -> Result<bool> {
        Ok(self.lookup(table, column, value)?.is_some())
    }

    /// The first row of `table` for each of `values` of the VARCHAR `column` that has one, from
    /// the latest version: only files whose statistics might hold one of the values are read.
    pub fn lookup_many(
        &self,
        table: &str,
        column: &str,
        values: &HashSet<String>,
    ) -> Result<HashMap<String, Record>> {
        use arrow::array::{Array, AsArray};
        let mut found: HashMap<String, Record> = HashMap::new();
        let (Some(lo), Some(hi)) = (values.iter().min(), values.iter().max()) else {
            return Ok(found);
        };
        let t = self.table(table)?;
        let key = t
            .def
            .column_names()
            .position(|c| c == column)
            .ok_or_else(|| anyhow!("internal: {table} has no column {column}"))?;
        for f in self.snapshot(table)?.files {
            let stats = files::parse_stats(f.stats.as_deref());
            let range = stats.as_ref().and_then(|s| {
                Some((
                    s["minValues"][column].as_str()?.to_string(),
                    s["maxValues"][column].as_str()?.to_string(),
                ))
            });
            if let Some((fmin, fmax)) = range {
                if fmax.as_str() < lo.as_str()
                    || fmin.as_str() > hi.as_str()
                    || !values
                        .iter()
                        .any(|v| fmin.as_str() <= v.as_str() && v.as_str() <= fmax.as_str())
                {
                    continue;
                }
            }
            for batch in files::read(&t.dir.join(&f.path), &t.def.arrow)? {
                let keys = batch.column(key).as_string::<i32>();
                for row in 0..keys.len() {
                    if keys.is_valid(row)
                        && values.contains(keys.value(row))
                        && !found.contains_key(keys.value(row))
                    {
                        found.insert(keys.value(row).to_string(), Record(batch.slice(row, 1)));
                    }
                }
            }
        }
        Ok(found)
    }
}

/// One row of a table, in the table's schema, read by column with its type.
#[derive(Clone, Debug)]
pub struct Record(RecordBatch);

impl Record {
    fn column(&self, name: &str) -> Result<&arrow::array::ArrayRef> {
        let i =
            self.0.schema().index_of(name).map_err(|_| anyhow!("internal: no column {name}"))?;
        Ok(self.0.column(i))
    }

    /// An INTEGER or BIGINT column (None: NULL).
    pub fn int(&self, name: &str) -> Result<Option<i64>> {
        use arrow::array::{Array, AsArray};
        use arrow::datatypes::{DataType, Int32Type, Int64Type};
        let c = self.column(name)?;
        if c.is_null(0) {
            return Ok(None);
        }
        Ok(Some(match c.data_type() {
            DataType::Int32 => c.as_primitive::<Int32Type>().value(0) as i64,
            DataType::Int64 => c.as_primitive::<Int64Type>().value(0),
            other => bail!("internal: column {name} is {other}, not an integer"),
        }))
    }

    /// A DOUBLE column (None: NULL).
    pub fn float(&self, name: &str) -> Result<Option<f64>> {
        use arrow::array::{Array, AsArray};
        use arrow::datatypes::{DataType, Float64Type};
        let c = self.column(name)?;
        match c.data_type() {
            DataType::Float64 => {
                Ok((!c.is_null(0)).then(|| c.as_primitive::<Float64Type>().value(0)))
            }
            other => bail!("internal: column {name} is {other}, not a double"),
        }
    }

    /// A VARCHAR column (None: NULL).
    pub fn text(&self, name: &str) -> Result<Option<String>> {
        use arrow::array::{Array, AsArray};
        use arrow::datatypes::DataType;
        let c = self.column(name)?;
        match c.data_type() {
            DataType::Utf8 => {
                Ok((!c.is_null(0)).then(|| c.as_string::<i32>().value(0).to_string()))
            }
            other => bail!("internal: column {name} is {other}, not text"),
        }
    }
}

pub mod history;

/// Creates the tables of a new benchmark folder: each table's version 0, then the architectures
/// rows, then the marker. Processes that start on a new folder at once (the tasks of an array
/// job) all run this: each step is a create-if-absent, so they agree on one result.
fn create(
    rt: &tokio::runtime::Runtime,
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
        let log = rt.block_on(Log::create(&dir.join(def.name), def))?;
        if def.name == "architectures" {
            arch_log = Some(log);
        }
    }
    let mut log = arch_log.ok_or_else(|| anyhow!("internal: no architectures table"))?;
    if log.files()?.is_empty() {
        let def = defs.iter().find(|d| d.name == "architectures").unwrap();
        let batch = concat(&def.arrow, &architectures()?)?;
        let file = files::write(&log.dir, &def.arrow, std::slice::from_ref(&batch))?;
        let info = CommitInfo {
            statement: Some("create the benchmark".into()),
            rows_added: batch.num_rows() as i64,
            rows_removed: 0,
        };
        loop {
            match rt.block_on(log.try_commit(
                Operation::Append,
                std::slice::from_ref(&file),
                &[],
                true,
                &info,
            ))? {
                Attempt::Committed(_) => break,
                Attempt::Raced => {
                    rt.block_on(log.update())?;
                    if !log.files()?.is_empty() {
                        remove_files(&log.dir, std::iter::once(&file));
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

fn concat(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<RecordBatch> {
    let conformed: Vec<RecordBatch> =
        batches.iter().map(|b| files::conform(b, schema)).collect::<Result<_>>()?;
    Ok(arrow::compute::concat_batches(schema, &conformed)?)
}

fn filter_rows(batch: &RecordBatch, keep: &[bool]) -> Result<RecordBatch> {
    let mask = arrow::array::BooleanArray::from(keep.to_vec());
    Ok(arrow::compute::filter_record_batch(batch, &mask)?)
}

fn sort(batch: &RecordBatch, by: &[usize]) -> Result<RecordBatch> {
    let columns: Vec<arrow::compute::SortColumn> = by
        .iter()
        .map(|&i| arrow::compute::SortColumn { values: batch.column(i).clone(), options: None })
        .collect();
    let indices = arrow::compute::lexsort_to_indices(&columns, None)?;
    Ok(arrow::compute::take_record_batch(batch, &indices)?)
}

/// A copy of `file` without the rows at `drop` (None: no row is left).
fn without_rows(
    dir: &Path,
    def: &TableDef,
    file: &DataFile,
    drop: &HashSet<usize>,
) -> Result<Option<DataFile>> {
    let batch = concat(&def.arrow, &files::read(&dir.join(&file.path), &def.arrow)?)?;
    let keep: Vec<bool> = (0..batch.num_rows()).map(|i| !drop.contains(&i)).collect();
    let kept = filter_rows(&batch, &keep)?;
    if kept.num_rows() == 0 {
        return Ok(None);
    }
    files::write(dir, &def.arrow, &[kept]).map(Some)
}

/// Removes files this process wrote and no commit references.
fn remove_files<'a>(dir: &Path, files: impl Iterator<Item = &'a DataFile>) {
    for f in files {
        let _ = std::fs::remove_file(dir.join(&f.path));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(size: i64) -> DataFile {
        DataFile { path: format!("f{size}"), size, rows: 1, stats: None }
    }

    #[test]
    fn a_tier_is_merged_once_it_is_full_and_large_files_never() {
        assert_eq!(
            (tier(0), tier(TIER_BASE * 4 - 1), tier(TIER_BASE * 4), tier(TIER_BASE * 16)),
            (0, 0, 1, 2)
        );
        let mut files: Vec<DataFile> = (0..TIER_FILES as i64 - 1).map(|k| file(1000 + k)).collect();
        files.extend((0..TIER_FILES as i64).map(|k| file(TIER_BASE * 4 + k)));
        // Tier 0 is one short; tier 1 is full.
        let merged = tiers(&files).unwrap();
        assert_eq!(merged.len(), TIER_FILES);
        assert!(merged.iter().all(|f| tier(f.size) == 1));
        files.push(file(5));
        assert!(tiers(&files).unwrap().iter().all(|f| tier(f.size) == 0));
        let large: Vec<DataFile> = (0..20).map(|k| file(LARGE_FILE_BYTES + k)).collect();
        assert!(tiers(&large).is_none());
    }
}
