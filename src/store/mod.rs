//! The benchmark folder (SPEC section 3): Parquet tables loaded into an in-memory DuckDB, and
//! every change a statement makes written back durably before the statement is reported done.
//!
//! Any number of processes may change one folder at once. A statement runs on the process's
//! own copy of the tables, without any lock; then its commit takes the folder's lock
//! ([`lock::Lock`]) and looks at the disk. If nobody committed since the copy was read, the
//! change is written as it is (an append as a new part, anything else as a new generation).
//! Otherwise the statement's change, the rows it added and the rows it removed, is re-applied
//! to the table as it is on disk now, as Delta Lake and Iceberg re-apply a commit: rows it
//! removed must still be there, rows it added must not collide with a key added meanwhile. A
//! change that does not apply is a [`Conflict`]: nothing is written, and the session runs the
//! statement again on the new state. Readers take no lock: they read whole parts of one
//! generation (the highest: a table is the parts of its highest generation), and parts that a
//! rewrite superseded stay on disk for [`GRACE`] so a reader that listed them can still read
//! them.

pub mod lock;
pub mod parts;
pub mod rows;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use arrow::datatypes::SchemaRef;
use duckdb::Connection;

pub const TABLES_SQL: &str = include_str!("../../schema/tables.sql");
pub const VIEWS_SQL: &str = include_str!("../../schema/views.sql");

/// The tables of every benchmark, in schema order.
pub const TABLES: [&str; 6] =
    ["architectures", "runs", "metrics", "curves", "corruptions", "scores"];
const READ_ONLY_TABLES: [&str; 1] = ["architectures"];
const MARKER: &str = "robbench.json";

/// How long parts that a rewrite superseded stay readable.
pub const GRACE: Duration = Duration::from_secs(600);

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

/// What a process needs to write rows of a table without going through SQL (a `train` call
/// records runs while its statement is still running): the folder and each table's schema.
#[derive(Clone)]
pub struct Catalog {
    pub dir: PathBuf,
    pub read_only: bool,
    pub schemas: HashMap<String, SchemaRef>,
}

impl Catalog {
    pub fn schema(&self, table: &str) -> Result<SchemaRef> {
        self.schemas.get(table).cloned().ok_or_else(|| anyhow!("no benchmark table '{table}'"))
    }

    /// Takes the folder's commit lock (for a check-then-append that must not race).
    pub fn lock(&self) -> Result<lock::Lock> {
        if self.read_only {
            bail!("the benchmark {} is open read-only", self.dir.display());
        }
        lock::Lock::acquire(&self.dir)
    }

    /// Appends rows to a table as a new part of its current generation; the open session picks
    /// them up after the statement. The caller holds the commit lock, under which it checked
    /// that the rows' keys are new.
    pub fn append(
        &self,
        _lock: &lock::Lock,
        table: &str,
        batch: &arrow::record_batch::RecordBatch,
    ) -> Result<()> {
        let dir = self.dir.join(table);
        let (gen, _) = parts::current(&dir)?;
        parts::write(&dir, gen, batch.schema(), std::slice::from_ref(batch))?;
        Ok(())
    }
}

impl Catalog {
    /// Whether any row of `table` on disk has `value` in the VARCHAR column `column`.
    pub fn contains(&self, table: &str, column: &str, value: &str) -> Result<bool> {
        use arrow::array::{Array, AsArray};
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        use parquet::arrow::ProjectionMask;
        let dir = self.dir.join(table);
        for path in parts::paths(&dir, &parts::current(&dir)?.1) {
            let file = std::fs::File::open(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(file)
                .with_context(|| format!("{}: not Parquet", path.display()))?;
            let Some(idx) = builder.schema().fields().iter().position(|f| f.name() == column)
            else {
                continue;
            };
            let mask = ProjectionMask::roots(builder.parquet_schema(), [idx]);
            for batch in builder.with_projection(mask).build()? {
                let batch = batch?;
                let col = arrow::compute::cast(batch.column(0), &arrow::datatypes::DataType::Utf8)?;
                let strings = col.as_string::<i32>();
                if (0..strings.len()).any(|i| strings.is_valid(i) && strings.value(i) == value) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}

impl Catalog {
    /// The first row of `table` whose `column` equals `value`, every column as text (NULL as
    /// None), from the files on disk.
    pub fn lookup(&self, table: &str, column: &str, value: &str) -> Result<Option<Fields>> {
        let keys = HashSet::from([value.to_string()]);
        Ok(self.lookup_many(table, column, &keys)?.remove(value))
    }

    /// The first row of `table` for each of `values` of `column` that has one, every column as
    /// text, in one pass over the files on disk.
    pub fn lookup_many(
        &self,
        table: &str,
        column: &str,
        values: &HashSet<String>,
    ) -> Result<HashMap<String, Fields>> {
        use arrow::array::{Array, AsArray};
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let mut found: HashMap<String, Fields> = HashMap::new();
        if values.is_empty() {
            return Ok(found);
        }
        let dir = self.dir.join(table);
        for path in parts::paths(&dir, &parts::current(&dir)?.1) {
            let file = std::fs::File::open(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(file)
                .with_context(|| format!("{}: not Parquet", path.display()))?;
            for batch in builder.build()? {
                let batch = batch?;
                let Ok(key) = batch.schema().index_of(column) else { break };
                let texts: Vec<arrow::array::ArrayRef> = batch
                    .columns()
                    .iter()
                    .map(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8))
                    .collect::<Result<_, _>>()?;
                let keys = texts[key].as_string::<i32>();
                let schema = batch.schema();
                for row in 0..keys.len() {
                    if !keys.is_valid(row) {
                        continue;
                    }
                    let k = keys.value(row);
                    if !values.contains(k) || found.contains_key(k) {
                        continue;
                    }
                    let fields = schema
                        .fields()
                        .iter()
                        .zip(&texts)
                        .map(|(f, c)| {
                            let c = c.as_string::<i32>();
                            (f.name().clone(), c.is_valid(row).then(|| c.value(row).to_string()))
                        })
                        .collect();
                    found.insert(k.to_string(), fields);
                }
            }
        }
        Ok(found)
    }
}

/// A row as text by column name (NULL as None).
pub type Fields = HashMap<String, Option<String>>;

/// What a table holds as far as the files on disk are concerned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Snapshot {
    count: i64,
    hash: String,
    max_rowid: i64,
}

struct TableState {
    name: &'static str,
    /// The table's CREATE statement, and its columns (name, SQL type) in order.
    ddl: String,
    columns: Vec<(String, String)>,
    generation: u64,
    loaded: BTreeSet<String>,
    /// Until a statement may change it, a table is a view over its Parquet files: a query then
    /// reads only what it needs, and start-up copies nothing.
    materialized: bool,
    /// The table's snapshot while it equals the files on disk; taken only before a statement
    /// that may change it.
    on_disk: Option<Snapshot>,
}

pub struct Bench {
    dir: PathBuf,
    read_only: bool,
    tables: Vec<TableState>,
    catalog: Arc<Catalog>,
}

impl Bench {
    /// Opens (or, if it does not exist yet, creates) a benchmark folder into `conn`, which must
    /// be a fresh in-memory connection with the robbench functions registered.
    pub fn open(conn: &Connection, dir: &Path, read_only: bool) -> Result<Bench> {
        let mut exists = dir.join(MARKER).exists();
        // Creating is a commit too: processes that start on a new folder at once (the tasks of
        // an array job) wait for the first, then find its folder.
        let mut creating = None;
        if !exists {
            if read_only {
                bail!("{} is not a robbench benchmark (no {MARKER}) and --read-only forbids creating it", dir.display());
            }
            // A folder with files but no lock file is someone else's: not ours to touch. (A
            // creator takes the lock first, so a folder being created has the lock file.)
            let foreign = |dir: &Path| -> Result<bool> {
                Ok(std::fs::read_dir(dir)
                    .with_context(|| format!("cannot list {}", dir.display()))?
                    .flatten()
                    .any(|e| e.file_name() != lock::LOCK_FILE))
            };
            let locked = dir.join(lock::LOCK_FILE).exists();
            if dir.exists() && !locked && !dir.join(MARKER).exists() && foreign(dir)? {
                bail!(
                    "{} exists but is not a robbench benchmark (no {MARKER}); give an empty or new folder",
                    dir.display()
                );
            }
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let lock = lock::Lock::acquire(dir)?;
            exists = dir.join(MARKER).exists();
            if !exists {
                if foreign(dir)? {
                    bail!(
                        "{} exists but is not a robbench benchmark (no {MARKER}); give an empty or new folder",
                        dir.display()
                    );
                }
                creating = Some(lock);
            }
        }
        conn.execute_batch(TABLES_SQL).context("cannot create the benchmark tables")?;
        let mut schemas = HashMap::new();
        let mut tables = Vec::new();
        for name in TABLES {
            let schema = conn
                .prepare(&format!("SELECT * FROM {name} LIMIT 0"))?
                .query_arrow([])?
                .get_schema();
            schemas.insert(name.to_string(), schema);
            let ddl: String = conn.query_row(
                "SELECT sql FROM duckdb_tables() WHERE table_name = ?",
                [name],
                |r| r.get(0),
            )?;
            let columns = conn
                .prepare("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index")?
                .query_map([name], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            tables.push(TableState {
                name,
                ddl,
                columns,
                generation: 0,
                loaded: BTreeSet::new(),
                materialized: true,
                on_disk: None,
            });
        }
        let catalog = Arc::new(Catalog { dir: dir.to_path_buf(), read_only, schemas });
        let mut bench = Bench { dir: dir.to_path_buf(), read_only, tables, catalog };
        if let Some(_lock) = creating {
            bench.create(conn)?;
        }
        for i in 0..bench.tables.len() {
            bench.reload(conn, i)?;
        }
        conn.execute_batch(VIEWS_SQL).context("cannot create the benchmark views")?;
        Ok(bench)
    }

    fn create(&mut self, conn: &Connection) -> Result<()> {
        for t in TABLES {
            std::fs::create_dir_all(self.dir.join(t))?;
        }
        let batches: Vec<_> =
            conn.prepare("SELECT * FROM nb201_architectures()")?.query_arrow([])?.collect();
        parts::write(
            &self.dir.join("architectures"),
            0,
            self.catalog.schema("architectures")?,
            &batches,
        )?;
        // The marker comes last: a folder without it was never finished and is not opened.
        let marker = self.dir.join(MARKER);
        robbench_vocab::durable::write(&marker, b"{\"format\": 1}\n")?;
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.clone()
    }

    /// The CREATE TABLE statement of a benchmark table (it may currently be a view).
    pub fn ddl(&self, table: &str) -> Option<&str> {
        self.tables.iter().find(|t| t.name == table).map(|t| t.ddl.as_str())
    }

    fn table_dir(&self, i: usize) -> PathBuf {
        self.dir.join(self.tables[i].name)
    }

    /// Makes the table (or its view) show what is on disk.
    fn reload(&mut self, conn: &Connection, i: usize) -> Result<()> {
        let dir = self.table_dir(i);
        let (gen, current) = parts::current(&dir)?;
        let files = parts::paths(&dir, &current);
        let t = &self.tables[i];
        if t.materialized && !files.is_empty() {
            conn.execute_batch(&format!("DROP TABLE {}", t.name))?;
        } else if !t.materialized {
            conn.execute_batch(&format!("DROP VIEW {}", t.name))?;
        }
        let materialized = if files.is_empty() {
            if !t.materialized {
                conn.execute_batch(&t.ddl)?;
            } else {
                conn.execute_batch(&format!("DELETE FROM {}", t.name))?;
            }
            true
        } else {
            conn.execute_batch(&format!(
                "CREATE VIEW {} AS SELECT {} FROM {}",
                t.name,
                select(&t.columns, &files)?,
                parquet_list(&files)
            ))
            .with_context(|| format!("cannot read table {} from {}", t.name, dir.display()))?;
            false
        };
        if !self.read_only {
            parts::remove_superseded(&dir, GRACE)?;
            parts::remove_stale_temporaries(&dir);
        }
        let t = &mut self.tables[i];
        t.generation = gen;
        t.loaded = current.into_iter().map(|p| p.name).collect();
        t.materialized = materialized;
        t.on_disk = None;
        Ok(())
    }

    /// Turns a view over Parquet into a table that statements can change.
    fn materialize(&mut self, conn: &Connection, i: usize) -> Result<()> {
        let t = &self.tables[i];
        if t.materialized {
            return Ok(());
        }
        let dir = self.table_dir(i);
        let files: Vec<PathBuf> = t.loaded.iter().map(|n| dir.join(n)).collect();
        conn.execute_batch(&format!("DROP VIEW {}; {}", t.name, t.ddl))?;
        conn.execute_batch(&format!(
            "INSERT INTO {} SELECT {} FROM {}",
            t.name,
            select(&t.columns, &files)?,
            parquet_list(&files)
        ))
        .with_context(|| format!("cannot load table {} from {}", t.name, dir.display()))?;
        self.tables[i].materialized = true;
        Ok(())
    }

    /// Called before a statement that may change tables: makes them tables and records what
    /// they hold, to tell afterwards what changed.
    pub fn prepare(&mut self, conn: &Connection) -> Result<()> {
        for i in 0..self.tables.len() {
            self.materialize(conn, i)?;
            let name = self.tables[i].name;
            self.tables[i].on_disk = Some(snapshot(conn, name, None)?);
            if !READ_ONLY_TABLES.contains(&name) {
                // The rows as they were, to tell afterwards which the statement added and removed.
                conn.execute_batch(&format!(
                    "CREATE OR REPLACE TEMP TABLE {} AS SELECT * FROM {name}",
                    before_table(name)
                ))?;
            }
        }
        Ok(())
    }

    /// Makes every table show what is on disk now (after a conflict, or a reader's part that
    /// a rewrite removed).
    pub fn refresh(&mut self, conn: &Connection) -> Result<()> {
        for i in 0..self.tables.len() {
            self.reload(conn, i)?;
        }
        Ok(())
    }

    /// Called after every statement: writes what the statement changed and loads what other
    /// processes (or a running `train`) appended. `may_have_changed` is false for statements
    /// that cannot modify a table.
    pub fn sync(&mut self, conn: &Connection, may_have_changed: bool) -> Result<()> {
        if !conn.is_autocommit() {
            return Ok(()); // inside BEGIN ... COMMIT: persist at COMMIT
        }
        let mut errors = Vec::new();
        if may_have_changed {
            let mut lock = None;
            for i in 0..self.tables.len() {
                if let Err(e) = self.persist(conn, i, &mut lock) {
                    // Nothing half-done stays in memory either: the table is what the disk says.
                    let _ = self.reload(conn, i);
                    errors.push(e);
                }
            }
        }
        for i in 0..self.tables.len() {
            if let Err(e) = self.pick_up(conn, i) {
                errors.push(e);
            }
        }
        match errors.len() {
            0 => Ok(()),
            _ => {
                Err(anyhow!(errors.iter().map(|e| format!("{e:#}")).collect::<Vec<_>>().join("; ")))
            }
        }
    }

    /// Commits what the statement changed in table `i`, under the folder's lock (taken at the
    /// first table that changed and held for the others).
    fn persist(
        &mut self,
        conn: &Connection,
        i: usize,
        lock: &mut Option<lock::Lock>,
    ) -> Result<()> {
        let name = self.tables[i].name;
        if !self.tables[i].materialized {
            return Ok(()); // a view over the files cannot have changed
        }
        let Some(before) = self.tables[i].on_disk.take() else {
            bail!("internal: {name} was not snapshotted before the statement");
        };
        let now = snapshot(conn, name, None)?;
        if now == before {
            return Ok(());
        }
        if self.read_only {
            bail!("the benchmark is open read-only: the change to {name} was discarded");
        }
        if READ_ONLY_TABLES.contains(&name) {
            bail!("{name} is read-only: the change was discarded");
        }
        if lock.is_none() {
            *lock = Some(lock::Lock::acquire(&self.dir)?);
        }
        let dir = self.table_dir(i);
        let (disk_gen, disk_parts) = parts::current(&dir)?;
        let t = &self.tables[i];
        let unchanged = disk_gen == t.generation
            && disk_parts.len() == t.loaded.len()
            && disk_parts.iter().all(|p| t.loaded.contains(&p.name));
        if !unchanged {
            return self.reapply(conn, i, disk_gen, &disk_parts);
        }
        let schema = self.catalog.schema(name)?;
        let appended_only =
            now.count > before.count && snapshot(conn, name, Some(before.max_rowid))? == before;
        if appended_only {
            let sql =
                format!("SELECT * FROM {name} WHERE rowid > {} ORDER BY rowid", before.max_rowid);
            let batches: Vec<_> = conn.prepare(&sql)?.query_arrow([])?.collect();
            let part = parts::write(&dir, disk_gen, schema, &batches)?;
            self.tables[i].loaded.insert(part);
        } else {
            let batches: Vec<_> = conn
                .prepare(&format!("SELECT * FROM {name} ORDER BY rowid"))?
                .query_arrow([])?
                .collect();
            let gen = disk_gen + 1;
            let part = parts::write(&dir, gen, schema, &batches)?;
            parts::remove_superseded(&dir, GRACE)?;
            let t = &mut self.tables[i];
            t.generation = gen;
            t.loaded = BTreeSet::from([part]);
        }
        Ok(())
    }

    /// Applies the statement's change to table `i` as it is on disk now (generation `gen`,
    /// `disk_parts`), which other processes changed since this one read it: the rows the
    /// statement removed are removed, each once, and must all still be there; the rows it
    /// added are added under the table's keys and checks. Anything else is a [`Conflict`].
    fn reapply(
        &mut self,
        conn: &Connection,
        i: usize,
        gen: u64,
        disk_parts: &[parts::Part],
    ) -> Result<()> {
        let t = &self.tables[i];
        let name = t.name;
        let dir = self.table_dir(i);
        let before = before_table(name);
        let count = |table: &str| -> Result<i64> {
            Ok(conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
        };
        conn.execute_batch(&format!(
            "CREATE OR REPLACE TEMP TABLE __added AS SELECT * FROM {name} EXCEPT ALL SELECT * FROM {before};
             CREATE OR REPLACE TEMP TABLE __removed AS SELECT * FROM {before} EXCEPT ALL SELECT * FROM {name};"
        ))?;
        let removed = count("__removed")?;
        let files = parts::paths(&dir, disk_parts);
        let disk = if files.is_empty() {
            format!("SELECT * FROM {before} LIMIT 0")
        } else {
            format!("SELECT {} FROM {}", select(&t.columns, &files)?, parquet_list(&files))
        };
        conn.execute_batch(&format!(
            "CREATE OR REPLACE TEMP TABLE __disk AS {disk};
             CREATE OR REPLACE TEMP TABLE __kept AS SELECT * FROM __disk EXCEPT ALL SELECT * FROM __removed;"
        ))
        .with_context(|| format!("cannot read table {name} from {}", dir.display()))?;
        if count("__kept")? != count("__disk")? - removed {
            bail!(Conflict(format!(
                "rows of {name} that this statement updated or deleted were updated or deleted meanwhile"
            )));
        }
        let work = format!("__commit_{name}");
        let ddl = t.ddl.replacen(
            &format!("CREATE TABLE {name}"),
            &format!("CREATE OR REPLACE TEMP TABLE {work}"),
            1,
        );
        conn.execute_batch(&ddl).with_context(|| format!("cannot stage table {name}"))?;
        conn.execute_batch(&format!("INSERT INTO {work} SELECT * FROM __kept"))?;
        if let Err(e) = conn.execute_batch(&format!("INSERT INTO {work} SELECT * FROM __added")) {
            let e = format!("{e}").replace(": Error code 1: Unknown error code", "");
            bail!(Conflict(format!("{name}: {e}")));
        }
        let schema = self.catalog.schema(name)?;
        if removed == 0 {
            let batches: Vec<_> = conn.prepare("SELECT * FROM __added")?.query_arrow([])?.collect();
            parts::write(&dir, gen, schema, &batches)?;
        } else {
            let batches: Vec<_> =
                conn.prepare(&format!("SELECT * FROM {work}"))?.query_arrow([])?.collect();
            parts::write(&dir, gen + 1, schema, &batches)?;
            parts::remove_superseded(&dir, GRACE)?;
        }
        conn.execute_batch(&format!(
            "DROP TABLE __added; DROP TABLE __removed; DROP TABLE __disk; DROP TABLE __kept; DROP TABLE {work};"
        ))?;
        self.reload(conn, i)
    }

    fn pick_up(&mut self, conn: &Connection, i: usize) -> Result<()> {
        let dir = self.table_dir(i);
        let (gen, current) = parts::current(&dir)?;
        let t = &self.tables[i];
        let vanished =
            current.iter().filter(|p| t.loaded.contains(&p.name)).count() < t.loaded.len();
        let new: Vec<_> = current.into_iter().filter(|p| !t.loaded.contains(&p.name)).collect();
        if gen > t.generation || vanished || (!t.materialized && !new.is_empty()) {
            return self.reload(conn, i); // rewritten elsewhere, or a view to widen
        }
        if new.is_empty() {
            return Ok(());
        }
        let files = parts::paths(&dir, &new);
        conn.execute_batch(&format!(
            "INSERT INTO {} SELECT {} FROM {}",
            t.name,
            select(&t.columns, &files)?,
            parquet_list(&files)
        ))
        .with_context(|| format!("cannot load new rows of {} from {}", t.name, dir.display()))?;
        let t = &mut self.tables[i];
        t.loaded.extend(new.into_iter().map(|p| p.name));
        t.on_disk = None;
        Ok(())
    }
}

/// The temporary copy of a table taken before a statement that may change it.
fn before_table(name: &str) -> String {
    format!("__before_{name}")
}

/// The table's columns as a typed select list over `files`. A column that none of the files has
/// (they were written before the column existed) reads as NULL, so older benchmark folders open
/// after the schema gains a column.
fn select(columns: &[(String, String)], files: &[PathBuf]) -> Result<String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let mut present = BTreeSet::new();
    for path in files {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let reader = SerializedFileReader::new(file)
            .with_context(|| format!("{}: not Parquet", path.display()))?;
        present.extend(
            reader
                .metadata()
                .file_metadata()
                .schema_descr()
                .root_schema()
                .get_fields()
                .iter()
                .map(|f| f.name().to_string()),
        );
    }
    Ok(columns
        .iter()
        .map(|(name, ty)| match present.contains(name) {
            true => format!("CAST(\"{name}\" AS {ty}) AS \"{name}\""),
            false => format!("CAST(NULL AS {ty}) AS \"{name}\""),
        })
        .collect::<Vec<_>>()
        .join(", "))
}

fn parquet_list(files: &[PathBuf]) -> String {
    let list = files
        .iter()
        .map(|p| format!("'{}'", p.display().to_string().replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ");
    format!("read_parquet([{list}], union_by_name = true)")
}

/// Row count, an order-independent content hash and the highest rowid, optionally of the rows up
/// to a rowid (to tell a pure append from a rewrite).
fn snapshot(conn: &Connection, table: &str, up_to_rowid: Option<i64>) -> Result<Snapshot> {
    let filter = up_to_rowid.map(|r| format!("WHERE rowid <= {r}")).unwrap_or_default();
    let sql = format!(
        "SELECT count(*), CAST(coalesce(sum(CAST(hash(t) AS HUGEINT)), 0) AS VARCHAR), coalesce(max(rowid), -1) FROM {table} t {filter}"
    );
    conn.query_row(&sql, [], |r| {
        Ok(Snapshot { count: r.get(0)?, hash: r.get(1)?, max_rowid: r.get(2)? })
    })
    .with_context(|| format!("cannot read table {table}"))
}
