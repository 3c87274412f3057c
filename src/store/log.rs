//! One table's Delta Lake log as robbench reads and appends to it: the files of a version, from
//! the latest checkpoint and the commits after it, and commits of add and remove actions.
//!
//! delta-rs (`delta.rs`) creates the tables, changes their schema, writes their checkpoints and
//! vacuums them; this module does the work of every statement. It exists because that work is
//! small and frequent (a cold query reads two or three logs, a fill's writers each commit a few
//! runs): delta-rs replays a log through an async runtime and its kernel's expression engine,
//! which costs tens of milliseconds per table, while the protocol's reading rules for the tables
//! robbench makes are a page of code. The tests below check this reader against delta-rs's
//! file list at every version of a log with checkpoints, rewrites and compactions.
//!
//! A commit is the atomic creation of the next version's file: the actions are written to a
//! temporary file in `_delta_log` and hard-linked into place, which fails if the version exists
//! (delta-rs commits the same way on a local or NFS folder). No lock is taken, so this works on
//! NFS, Lustre and GPFS, which often lack `flock`. A writer that loses the race reads the
//! versions committed meanwhile and decides again ([`super::Store`]).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use arrow::array::{Array, AsArray, StructArray};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use serde_json::{json, Value};

use super::files::{self, DataFile};
use super::history::CommitInfo;

pub const LOG_DIR: &str = "_delta_log";

/// Reader features of the tables robbench reads: its own tables need timestampNtz only.
const READER_FEATURES: &[&str] = &["timestampNtz"];
/// Writer features robbench honours: timestampNtz asks nothing of a writer; appendOnly and
/// invariants only when a table's configuration or schema turns them on, which robbench checks.
const WRITER_FEATURES: &[&str] = &["timestampNtz", "appendOnly", "invariants"];

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
#[derive(Clone, Copy, Debug)]
pub enum Operation {
    Append,
    Update,
    Delete,
    Replace,
    Compact,
}

impl Operation {
    /// The operation and its parameters as Delta's commitInfo names them (as delta-rs wrote
    /// them before robbench committed itself, so `history()` reads both alike).
    fn commit_info(self, target_size: i64) -> (&'static str, Value) {
        match self {
            Operation::Append => ("WRITE", json!({"mode": "Append"})),
            Operation::Replace => ("WRITE", json!({"mode": "Overwrite"})),
            Operation::Update => ("UPDATE", json!({})),
            Operation::Delete => ("DELETE", json!({})),
            Operation::Compact => ("OPTIMIZE", json!({"targetSize": target_size.to_string()})),
        }
    }
}

/// The outcome of a commit attempt at the version after the one read.
pub enum Attempt {
    Committed(i64),
    /// Another writer committed that version first: nothing was written.
    Raced,
}

/// A table's protocol action.
#[derive(Clone, Debug, Default)]
struct Protocol {
    reader: i64,
    writer: i64,
    reader_features: Vec<String>,
    writer_features: Vec<String>,
}

/// One table's log, read up to a version.
pub struct Log {
    pub dir: PathBuf,
    version: i64,
    /// The active files, in the order the log added them.
    files: Vec<DataFile>,
    columns: Vec<String>,
    configuration: HashMap<String, String>,
    protocol: Protocol,
}

/// The path of version `v`'s commit file.
pub fn commit_path(dir: &Path, v: i64) -> PathBuf {
    dir.join(LOG_DIR).join(format!("{v:020}.json"))
}

impl Log {
    /// Whether `dir` holds a Delta table.
    pub fn exists(dir: &Path) -> bool {
        commit_path(dir, 0).exists()
    }

    /// Reads the table in `dir` at its latest version, or at `version`.
    pub fn open(dir: &Path, version: Option<i64>) -> Result<Log> {
        let mut log = Log {
            dir: dir.to_path_buf(),
            version: -1,
            files: Vec::new(),
            columns: Vec::new(),
            configuration: HashMap::new(),
            protocol: Protocol::default(),
        };
        if let Some((v, parts)) = log.checkpoint_at_most(version)? {
            log.read_checkpoint(v, parts)?;
        }
        while version.is_none_or(|want| log.version < want) && log.read_next()? {}
        if log.version < 0 {
            bail!("{}: not a Delta table (no {LOG_DIR}/{:020}.json)", dir.display(), 0);
        }
        if let Some(want) = version {
            if log.version != want {
                bail!(
                    "{}: the table has no version {want} (its latest is {})",
                    dir.display(),
                    log.version
                );
            }
        }
        log.check_readable()?;
        Ok(log)
    }

    pub fn version(&self) -> i64 {
        self.version
    }

    /// The table's columns as its log declares them.
    pub fn column_names(&self) -> Vec<String> {
        self.columns.clone()
    }

    /// The files of the version read.
    pub fn files(&self) -> Vec<DataFile> {
        self.files.clone()
    }

    pub fn snapshot(&self) -> Version {
        Version { version: self.version, files: self.files() }
    }

    /// Reads the versions committed since the one read.
    pub fn update(&mut self) -> Result<()> {
        while self.read_next()? {}
        self.check_readable()
    }

    /// The actions of version `v`: the files it added and the paths it removed.
    pub fn changes(&self, v: i64) -> Result<(Vec<DataFile>, Vec<String>)> {
        let path = commit_path(&self.dir, v);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut added = Vec::new();
        let mut removed = Vec::new();
        for action in actions(&text, &path)? {
            if let Some(add) = action.get("add") {
                added.push(data_file(add));
            } else if let Some(remove) = action.get("remove") {
                removed.push(decode(remove["path"].as_str().unwrap_or_default()));
            }
        }
        Ok((added, removed))
    }

    /// The last checkpoint at or before `version` (the latest when None): its version and
    /// number of parts. `_last_checkpoint` names the latest; an older one is found by listing.
    fn checkpoint_at_most(&self, version: Option<i64>) -> Result<Option<(i64, Option<i64>)>> {
        let log_dir = self.dir.join(LOG_DIR);
        let last = match std::fs::read_to_string(log_dir.join("_last_checkpoint")) {
            Ok(text) => {
                let v: Value = serde_json::from_str(&text).with_context(|| {
                    format!(
                        "{}: not a _last_checkpoint",
                        log_dir.join("_last_checkpoint").display()
                    )
                })?;
                v["version"].as_i64().map(|n| (n, v["parts"].as_i64()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", log_dir.display())),
        };
        match (last, version) {
            (Some(c), None) => Ok(Some(c)),
            (Some(c), Some(want)) if c.0 <= want => Ok(Some(c)),
            (_, None) => Ok(None),
            (_, Some(want)) => {
                let mut best: Option<(i64, Option<i64>)> = None;
                let entries = std::fs::read_dir(&log_dir)
                    .with_context(|| format!("cannot list {}", log_dir.display()))?;
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let Some(rest) = name.strip_suffix(".parquet") else { continue };
                    let mut it = rest.split('.');
                    let (Some(v), Some("checkpoint")) = (it.next(), it.next()) else { continue };
                    let Ok(v) = v.parse::<i64>() else { continue };
                    let parts = match (it.next(), it.next()) {
                        (None, _) => None,
                        (Some(_), Some(n)) => n.parse().ok(),
                        _ => continue,
                    };
                    if v <= want && best.is_none_or(|b| v > b.0) {
                        best = Some((v, parts));
                    }
                }
                Ok(best)
            }
        }
    }

    /// Reads the checkpoint of version `v` (in `parts` parts, or one file).
    fn read_checkpoint(&mut self, v: i64, parts: Option<i64>) -> Result<()> {
        let log_dir = self.dir.join(LOG_DIR);
        let paths: Vec<PathBuf> = match parts {
            None | Some(1) if log_dir.join(format!("{v:020}.checkpoint.parquet")).exists() => {
                vec![log_dir.join(format!("{v:020}.checkpoint.parquet"))]
            }
            Some(n) => (1..=n)
                .map(|i| log_dir.join(format!("{v:020}.checkpoint.{i:010}.{n:010}.parquet")))
                .collect(),
            None => bail!("{}: checkpoint {v} is missing", log_dir.display()),
        };
        for path in paths {
            // Read whole: the reader would otherwise clone the descriptor and seek for every
            // page. Only the columns read below are decoded (not the tombstones of `remove`).
            let file =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file))
                .with_context(|| format!("{}: not a Delta checkpoint", path.display()))?;
            let schema = builder.parquet_schema();
            let fields = schema.root_schema().get_fields();
            let roots = (0..fields.len())
                .filter(|&i| ["add", "metaData", "protocol"].contains(&fields[i].name()));
            let mask = ProjectionMask::roots(schema, roots);
            let reader = builder.with_projection(mask).build()?;
            for batch in reader {
                let batch = batch.with_context(|| format!("cannot read {}", path.display()))?;
                let field = |name: &str| batch.column_by_name(name).map(|c| c.as_struct());
                if let Some(add) = field("add") {
                    for i in (0..add.len()).filter(|&i| add.is_valid(i)) {
                        self.files.push(DataFile {
                            path: decode(&text_at(add, "path", i)?.unwrap_or_default()),
                            size: int_at(add, "size", i).unwrap_or(0),
                            rows: 0,
                            stats: text_at(add, "stats", i)?,
                        });
                    }
                }
                if let Some(meta) = field("metaData") {
                    for i in (0..meta.len()).filter(|&i| meta.is_valid(i)) {
                        let schema = text_at(meta, "schemaString", i)?.unwrap_or_default();
                        self.set_schema(&schema, &path)?;
                        self.configuration = configuration_at(meta, i);
                    }
                }
                if let Some(p) = field("protocol") {
                    for i in (0..p.len()).filter(|&i| p.is_valid(i)) {
                        self.protocol = Protocol {
                            reader: int_at(p, "minReaderVersion", i).unwrap_or(1),
                            writer: int_at(p, "minWriterVersion", i).unwrap_or(2),
                            reader_features: texts_at(p, "readerFeatures", i),
                            writer_features: texts_at(p, "writerFeatures", i),
                        };
                    }
                }
            }
        }
        for f in &mut self.files {
            f.rows = rows_of(f.stats.as_deref());
        }
        self.version = v;
        Ok(())
    }

    /// Applies the next version's commit, if it exists.
    fn read_next(&mut self) -> Result<bool> {
        let path = commit_path(&self.dir, self.version + 1);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        for action in actions(&text, &path)? {
            if let Some(add) = action.get("add") {
                let f = data_file(add);
                self.files.retain(|g| g.path != f.path);
                self.files.push(f);
            } else if let Some(remove) = action.get("remove") {
                let p = decode(remove["path"].as_str().unwrap_or_default());
                self.files.retain(|g| g.path != p);
            } else if let Some(meta) = action.get("metaData") {
                self.set_schema(meta["schemaString"].as_str().unwrap_or_default(), &path)?;
                self.configuration = meta["configuration"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default();
            } else if let Some(p) = action.get("protocol") {
                let list = |k: &str| -> Vec<String> {
                    p[k].as_array()
                        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                        .unwrap_or_default()
                };
                self.protocol = Protocol {
                    reader: p["minReaderVersion"].as_i64().unwrap_or(1),
                    writer: p["minWriterVersion"].as_i64().unwrap_or(2),
                    reader_features: list("readerFeatures"),
                    writer_features: list("writerFeatures"),
                };
            }
        }
        self.version += 1;
        Ok(true)
    }

    fn set_schema(&mut self, schema: &str, at: &Path) -> Result<()> {
        let v: Value = serde_json::from_str(schema)
            .with_context(|| format!("{}: the table's schemaString is not JSON", at.display()))?;
        self.columns = v["fields"]
            .as_array()
            .map(|f| f.iter().filter_map(|x| x["name"].as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        Ok(())
    }

    /// Refuses a table whose protocol asks a reader for what this reader does not do
    /// (deletion vectors, column mapping, ...): reading it as plain files would be wrong.
    fn check_readable(&self) -> Result<()> {
        let p = &self.protocol;
        let unknown: Vec<&String> =
            p.reader_features.iter().filter(|f| !READER_FEATURES.contains(&f.as_str())).collect();
        if p.reader > 3 || p.reader == 2 || !unknown.is_empty() {
            bail!(
                "{}: the table needs Delta reader version {} with features {:?}, which robbench does not read",
                self.dir.display(),
                p.reader,
                p.reader_features
            );
        }
        Ok(())
    }

    /// Refuses a commit the table's protocol forbids robbench (features it does not honour;
    /// removing files of an append-only table).
    fn check_writable(&self, removes: bool) -> Result<()> {
        let p = &self.protocol;
        let unknown: Vec<&String> =
            p.writer_features.iter().filter(|f| !WRITER_FEATURES.contains(&f.as_str())).collect();
        if (3..=6).contains(&p.writer) || p.writer > 7 || !unknown.is_empty() {
            bail!(
                "{}: the table needs Delta writer version {} with features {:?}, which robbench does not write",
                self.dir.display(),
                p.writer,
                p.writer_features
            );
        }
        if removes && self.configuration.get("delta.appendOnly").is_some_and(|v| v == "true") {
            bail!(
                "{}: the table is append-only (delta.appendOnly): rows cannot be removed",
                self.dir.display()
            );
        }
        Ok(())
    }

    /// Tries to commit `add` and `remove` as the version after the one read; on success the
    /// log is at that version.
    pub fn try_commit(
        &mut self,
        operation: Operation,
        add: &[DataFile],
        remove: &[DataFile],
        data_change: bool,
        info: &CommitInfo,
    ) -> Result<Attempt> {
        self.check_writable(!remove.is_empty())?;
        let now = millis();
        let target = add.iter().map(|f| f.size).max().unwrap_or(0);
        let (name, parameters) = operation.commit_info(target);
        let mut lines = vec![json!({"commitInfo": {
            "timestamp": now,
            "operation": name,
            "operationParameters": parameters,
            "engineInfo": concat!("robbench:", env!("CARGO_PKG_VERSION")),
            "robbench": info.to_json(),
        }})];
        for f in add {
            lines.push(json!({"add": {
                "path": encode(&f.path),
                "partitionValues": {},
                "size": f.size,
                "modificationTime": now,
                "dataChange": data_change,
                "stats": f.stats,
            }}));
        }
        for f in remove {
            lines.push(json!({"remove": {
                "path": encode(&f.path),
                "deletionTimestamp": now,
                "dataChange": data_change,
                "extendedFileMetadata": true,
                "partitionValues": {},
                "size": f.size,
            }}));
        }
        let mut text = String::new();
        for l in &lines {
            text.push_str(&serde_json::to_string(l)?);
            text.push('\n');
        }
        let next = self.version + 1;
        let target_path = commit_path(&self.dir, next);
        let tmp = robbench_vocab::durable::temporary_sibling(&target_path);
        let written = std::fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
            .with_context(|| format!("cannot write {}", tmp.display()));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        // The link either creates the version or finds it taken; the temporary name goes
        // either way.
        let linked = std::fs::hard_link(&tmp, &target_path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(Attempt::Raced),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot commit {}", target_path.display()))
            }
        }
        robbench_vocab::durable::sync_dir(&self.dir.join(LOG_DIR))?;
        let removed: std::collections::HashSet<&str> =
            remove.iter().map(|f| f.path.as_str()).collect();
        self.files.retain(|f| !removed.contains(f.path.as_str()));
        for f in add {
            self.files.retain(|g| g.path != f.path);
            self.files.push(f.clone());
        }
        self.version = next;
        Ok(Attempt::Committed(next))
    }

    /// Versions between checkpoints, as the table's configuration sets it.
    pub fn checkpoint_interval(&self) -> i64 {
        self.configuration
            .get("delta.checkpointInterval")
            .and_then(|v| v.parse().ok())
            .filter(|&n: &i64| n > 0)
            .unwrap_or(100)
    }
}

/// The actions of a commit file, one JSON object per line.
fn actions(text: &str, path: &Path) -> Result<Vec<Value>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .with_context(|| format!("{}: not a Delta log entry", path.display()))
        })
        .collect()
}

fn data_file(add: &Value) -> DataFile {
    let stats = add.get("stats").and_then(|s| s.as_str()).map(str::to_string);
    DataFile {
        path: decode(add["path"].as_str().unwrap_or_default()),
        size: add["size"].as_i64().unwrap_or(0),
        rows: rows_of(stats.as_deref()),
        stats,
    }
}

fn rows_of(stats: Option<&str>) -> i64 {
    files::parse_stats(stats).and_then(|s| s["numRecords"].as_i64()).unwrap_or(0)
}

fn text_at(s: &StructArray, name: &str, i: usize) -> Result<Option<String>> {
    let Some(c) = s.column_by_name(name) else { return Ok(None) };
    if c.is_null(i) {
        return Ok(None);
    }
    let c = arrow::compute::cast(&c.slice(i, 1), &DataType::Utf8)?;
    Ok(Some(c.as_string::<i32>().value(0).to_string()))
}

fn int_at(s: &StructArray, name: &str, i: usize) -> Option<i64> {
    let c = s.column_by_name(name)?;
    if c.is_null(i) {
        return None;
    }
    let c = arrow::compute::cast(&c.slice(i, 1), &DataType::Int64).ok()?;
    Some(c.as_primitive::<arrow::datatypes::Int64Type>().value(0))
}

fn texts_at(s: &StructArray, name: &str, i: usize) -> Vec<String> {
    let Some(c) = s.column_by_name(name) else { return Vec::new() };
    if c.is_null(i) {
        return Vec::new();
    }
    let Some(list) = c.as_list_opt::<i32>() else { return Vec::new() };
    let values = list.value(i);
    let Ok(values) = arrow::compute::cast(&values, &DataType::Utf8) else { return Vec::new() };
    let values = values.as_string::<i32>();
    (0..values.len()).filter(|&k| values.is_valid(k)).map(|k| values.value(k).to_string()).collect()
}

fn configuration_at(meta: &StructArray, i: usize) -> HashMap<String, String> {
    let Some(c) = meta.column_by_name("configuration") else { return HashMap::new() };
    let Some(map) = c.as_map_opt() else { return HashMap::new() };
    if map.is_null(i) {
        return HashMap::new();
    }
    let entries = map.value(i);
    let (Ok(k), Ok(v)) = (
        arrow::compute::cast(entries.column(0), &DataType::Utf8),
        arrow::compute::cast(entries.column(1), &DataType::Utf8),
    ) else {
        return HashMap::new();
    };
    let (k, v) = (k.as_string::<i32>(), v.as_string::<i32>());
    (0..k.len())
        .filter(|&j| v.is_valid(j))
        .map(|j| (k.value(j).to_string(), v.value(j).to_string()))
        .collect()
}

/// Delta log paths are URI-encoded; robbench's own names never need it, but other writers'
/// might.
fn decode(path: &str) -> String {
    percent_encoding::percent_decode_str(path).decode_utf8_lossy().into_owned()
}

fn encode(path: &str) -> String {
    // Everything but unreserved characters and the path separator, as a URI path segment.
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(path, SET).to_string()
}

fn millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::rows::Row;
    use crate::store::{OnKey, Store};
    use std::collections::BTreeSet;

    /// (path, size, rows) of each active file, as delta-rs reads the table at `version`.
    fn delta_rs_files(dir: &Path, version: i64) -> BTreeSet<(String, i64, i64)> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let url = url::Url::from_directory_path(dir).unwrap();
            let table = deltalake_core::DeltaTableBuilder::from_url(url)
                .unwrap()
                .with_version(version as u64)
                .load()
                .await
                .unwrap();
            table
                .snapshot()
                .unwrap()
                .log_data()
                .iter()
                .map(|f| (f.path().into_owned(), f.size(), f.num_records().unwrap_or(0) as i64))
                .collect()
        })
    }

    fn ours(dir: &Path, version: Option<i64>) -> (i64, BTreeSet<(String, i64, i64)>) {
        let log = Log::open(dir, version).unwrap();
        (log.version(), log.files().into_iter().map(|f| (f.path, f.size, f.rows)).collect())
    }

    /// This reader and delta-rs give the same files at every version of a log of more than a
    /// hundred versions: appends, rewrites that remove files, compactions (no data change),
    /// and the checkpoint delta-rs writes at version 100 (read from _last_checkpoint for the
    /// latest version, found by listing for the versions after it).
    #[test]
    fn the_files_of_every_version_are_delta_rs_s() {
        let tmp = tempfile::tempdir().unwrap();
        let conn = duckdb::Connection::open_in_memory().unwrap();
        let defs = crate::store::table::definitions(&conn).unwrap();
        let store = Store::open(tmp.path(), false, None, defs, || Ok(Vec::new())).unwrap();
        let dir = tmp.path().join("scores");
        for k in 0..120 {
            let row = Row::new()
                .set("arch", k % 50)
                .set("dataset", "cifar10")
                .set("score", format!("s{k}"))
                .set("value", k as f64);
            store.append_rows("scores", &[row], OnKey::Refuse).unwrap();
            if k % 25 == 24 {
                // A rewrite: the first file goes, its rows but one come back in a new file.
                let v = store.snapshot("scores").unwrap();
                let first = v.files[0].clone();
                let schema = store.schema("scores").unwrap();
                let rows = files::read(&dir.join(&first.path), &schema).unwrap();
                let all = crate::store::files::concat(&schema, &rows).unwrap();
                let kept = all.slice(1, all.num_rows() - 1);
                let info = CommitInfo::statement("DELETE a row");
                store
                    .rewrite(
                        "scores",
                        v.version,
                        &[first.path],
                        vec![kept],
                        None,
                        Operation::Delete,
                        info,
                    )
                    .unwrap();
            }
        }
        let latest = Log::open(&dir, None).unwrap().version();
        assert!(latest > 120, "{latest} versions");
        assert!(dir.join(LOG_DIR).join(format!("{:020}.checkpoint.parquet", 100)).exists());
        let history =
            crate::store::history::commits(tmp.path(), &[store.def("scores").unwrap().clone()])
                .unwrap();
        assert!(history.iter().any(|c| c.operation == "OPTIMIZE"), "no compaction happened");
        for v in 0..=latest {
            assert_eq!(ours(&dir, Some(v)), (v, delta_rs_files(&dir, v)), "version {v}");
        }
        assert_eq!(ours(&dir, None), (latest, delta_rs_files(&dir, latest)));
        // Rows counted by the log are the rows the table holds.
        let rows: i64 = Log::open(&dir, None).unwrap().snapshot().rows();
        assert_eq!(rows, 120 - 120 / 25);
    }
}
