//! The benchmark folder (SPEC section 3): Parquet tables loaded into an in-memory DuckDB, and
//! every change a statement makes written back durably before the statement is reported done.

pub mod parts;
pub mod rows;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use arrow::datatypes::SchemaRef;
use duckdb::Connection;

pub const TABLES_SQL: &str = include_str!("../../schema/tables.sql");
pub const VIEWS_SQL: &str = include_str!("../../schema/views.sql");

/// The tables of every benchmark, in schema order.
pub const TABLES: [&str; 6] = ["architectures", "runs", "metrics", "curves", "corruptions", "scores"];
const READ_ONLY_TABLES: [&str; 1] = ["architectures"];
const MARKER: &str = "robbench.json";

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

    /// Appends rows to a table as a new part; the open session picks them up after the statement.
    pub fn append(&self, table: &str, batch: &arrow::record_batch::RecordBatch) -> Result<()> {
        if self.read_only {
            bail!("the benchmark {} is open read-only", self.dir.display());
        }
        let dir = self.dir.join(table);
        let (gen, _) = parts::current(&dir)?;
        parts::write(&dir, gen, batch.schema(), std::slice::from_ref(batch))?;
        Ok(())
    }
}

/// What a table holds as far as the files on disk are concerned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Snapshot {
    count: i64,
    hash: String,
    max_rowid: i64,
}

struct TableState {
    name: &'static str,
    generation: u64,
    loaded: BTreeSet<String>,
    on_disk: Snapshot,
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
        let exists = dir.join(MARKER).exists();
        if !exists {
            if read_only {
                bail!("{} is not a robbench benchmark (no {MARKER}) and --read-only forbids creating it", dir.display());
            }
            if dir.exists() && dir.read_dir().map(|mut d| d.next().is_some()).unwrap_or(true) {
                bail!(
                    "{} exists but is not a robbench benchmark (no {MARKER}); give an empty or new folder",
                    dir.display()
                );
            }
        }
        conn.execute_batch(TABLES_SQL).context("cannot create the benchmark tables")?;
        let mut schemas = HashMap::new();
        for t in TABLES {
            let schema = conn.prepare(&format!("SELECT * FROM {t} LIMIT 0"))?.query_arrow([])?.get_schema();
            schemas.insert(t.to_string(), schema);
        }
        let catalog = Arc::new(Catalog { dir: dir.to_path_buf(), read_only, schemas });
        let mut bench = Bench {
            dir: dir.to_path_buf(),
            read_only,
            tables: TABLES
                .iter()
                .map(|&name| TableState { name, generation: 0, loaded: BTreeSet::new(), on_disk: Snapshot::default() })
                .collect(),
            catalog,
        };
        if !exists {
            bench.create(conn)?;
        }
        for i in 0..bench.tables.len() {
            bench.reload(conn, i)?;
        }
        conn.execute_batch(VIEWS_SQL).context("cannot create the benchmark views")?;
        Ok(bench)
    }

    fn create(&mut self, conn: &Connection) -> Result<()> {
        std::fs::create_dir_all(&self.dir).with_context(|| format!("cannot create {}", self.dir.display()))?;
        for t in TABLES {
            std::fs::create_dir_all(self.dir.join(t))?;
        }
        let batches: Vec<_> = conn.prepare("SELECT * FROM nb201_architectures()")?.query_arrow([])?.collect();
        parts::write(&self.dir.join("architectures"), 0, self.catalog.schema("architectures")?, &batches)?;
        // The marker comes last: a folder without it was never finished and is not opened.
        let marker = self.dir.join(MARKER);
        std::fs::write(&marker, "{\"format\": 1}\n").with_context(|| format!("cannot write {}", marker.display()))?;
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

    fn table_dir(&self, i: usize) -> PathBuf {
        self.dir.join(self.tables[i].name)
    }

    /// Replaces the in-memory table with what is on disk.
    fn reload(&mut self, conn: &Connection, i: usize) -> Result<()> {
        let dir = self.table_dir(i);
        let name = self.tables[i].name;
        let (gen, current) = parts::current(&dir)?;
        conn.execute_batch(&format!("DELETE FROM {name}"))?;
        load_parts(conn, name, &parts::paths(&dir, &current))?;
        if !self.read_only {
            parts::remove_older(&dir, gen)?;
            parts::remove_stale_temporaries(&dir);
        }
        let t = &mut self.tables[i];
        t.generation = gen;
        t.loaded = current.into_iter().map(|p| p.name).collect();
        t.on_disk = snapshot(conn, name, None)?;
        Ok(())
    }

    /// Called after every statement: writes what the statement changed and loads what other
    /// processes (or a running `train`) appended. `may_have_changed` is false for statements
    /// that cannot modify a table, which skips hashing the tables.
    pub fn sync(&mut self, conn: &Connection, may_have_changed: bool) -> Result<()> {
        if !conn.is_autocommit() {
            return Ok(()); // inside BEGIN ... COMMIT: persist at COMMIT
        }
        let mut errors = Vec::new();
        if may_have_changed {
            for i in 0..self.tables.len() {
                if let Err(e) = self.persist(conn, i) {
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
            _ => Err(anyhow!(errors.iter().map(|e| format!("{e:#}")).collect::<Vec<_>>().join("; "))),
        }
    }

    fn persist(&mut self, conn: &Connection, i: usize) -> Result<()> {
        let name = self.tables[i].name;
        let now = snapshot(conn, name, None)?;
        let before = self.tables[i].on_disk.clone();
        if now == before {
            return Ok(());
        }
        if self.read_only {
            bail!("the benchmark is open read-only: the change to {name} was discarded");
        }
        if READ_ONLY_TABLES.contains(&name) {
            bail!("{name} is read-only: the change was discarded");
        }
        let dir = self.table_dir(i);
        let schema = self.catalog.schema(name)?;
        let appended_only = now.count > before.count && snapshot(conn, name, Some(before.max_rowid))? == before;
        if appended_only {
            let sql = format!("SELECT * FROM {name} WHERE rowid > {} ORDER BY rowid", before.max_rowid);
            let batches: Vec<_> = conn.prepare(&sql)?.query_arrow([])?.collect();
            let part = parts::write(&dir, self.tables[i].generation, schema, &batches)?;
            self.tables[i].loaded.insert(part);
        } else {
            let batches: Vec<_> = conn.prepare(&format!("SELECT * FROM {name} ORDER BY rowid"))?.query_arrow([])?.collect();
            let gen = parts::current(&dir)?.0.max(self.tables[i].generation) + 1;
            let part = parts::write(&dir, gen, schema, &batches)?;
            parts::remove_older(&dir, gen)?;
            let t = &mut self.tables[i];
            t.generation = gen;
            t.loaded = BTreeSet::from([part]);
        }
        self.tables[i].on_disk = now;
        Ok(())
    }

    fn pick_up(&mut self, conn: &Connection, i: usize) -> Result<()> {
        let dir = self.table_dir(i);
        let (gen, current) = parts::current(&dir)?;
        let t = &self.tables[i];
        if gen > t.generation || (gen == t.generation && current.iter().filter(|p| t.loaded.contains(&p.name)).count() < t.loaded.len()) {
            return self.reload(conn, i); // another process rewrote the table
        }
        let new: Vec<_> = current.into_iter().filter(|p| !t.loaded.contains(&p.name)).collect();
        if new.is_empty() {
            return Ok(());
        }
        load_parts(conn, t.name, &parts::paths(&dir, &new))?;
        let name = t.name;
        let t = &mut self.tables[i];
        t.loaded.extend(new.into_iter().map(|p| p.name));
        t.on_disk = snapshot(conn, name, None)?;
        Ok(())
    }
}

fn load_parts(conn: &Connection, table: &str, files: &[PathBuf]) -> Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    let list = files
        .iter()
        .map(|p| format!("'{}'", p.display().to_string().replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ");
    conn.execute_batch(&format!(
        "INSERT INTO {table} BY NAME SELECT * FROM read_parquet([{list}], union_by_name = true)"
    ))
    .with_context(|| format!("cannot load table {table} from {list}"))
}

/// Row count, an order-independent content hash and the highest rowid, optionally of the rows up
/// to a rowid (to tell a pure append from a rewrite).
fn snapshot(conn: &Connection, table: &str, up_to_rowid: Option<i64>) -> Result<Snapshot> {
    let filter = up_to_rowid.map(|r| format!("WHERE rowid <= {r}")).unwrap_or_default();
    let sql = format!(
        "SELECT count(*), CAST(coalesce(sum(CAST(hash(t) AS HUGEINT)), 0) AS VARCHAR), coalesce(max(rowid), -1) FROM {table} t {filter}"
    );
    conn.query_row(&sql, [], |r| Ok(Snapshot { count: r.get(0)?, hash: r.get(1)?, max_rowid: r.get(2)? }))
        .with_context(|| format!("cannot read table {table}"))
}
