//! A store bound to a DuckDB connection: each benchmark table is a view over the Parquet files
//! of its version, so a query reads only what it needs and start-up copies nothing; a statement
//! that changes a table is turned into one store call.
//!
//! - `INSERT [OR IGNORE | OR REPLACE] INTO t ...` runs into an empty staging table with t's
//!   keys and checks, whose rows then go to [`Store::append`]: the cost does not depend on what
//!   t holds.
//! - Anything else that writes t runs against a temporary table of t's rows (`rewrite.rs`).
//! - What a statement does is read from its text first (`statement.rs`).
//!
//! A table's view is created when a statement first names it; after every statement, the
//! views of tables that another process (or a running `train`) committed to are shown at their
//! new version.

mod rewrite;
mod statement;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use duckdb::Connection;

use super::history::CommitInfo;
use super::table::TableDef;
use super::{AsOf, OnKey, Store, TABLES, VIEWS_SQL};
pub use statement::{alters_definition, classify, Write};
use statement::{tokens, words};

pub type Output = (SchemaRef, Vec<RecordBatch>);

struct Shown {
    name: &'static str,
    /// The version its view shows (None: no view yet, nothing read).
    version: Option<i64>,
}

/// Words of a statement that read the catalog: it is given every table and view.
const CATALOG_WORDS: [&str; 6] = [
    "duckdb_tables",
    "duckdb_views",
    "duckdb_columns",
    "information_schema",
    "pragma_table_info",
    "show",
];

/// A view of `VIEWS_SQL`, created when a statement first names it.
struct View {
    name: String,
    create: String,
    /// The benchmark tables it reads, directly or through the views before it.
    tables: Vec<&'static str>,
    /// The views of `VIEWS_SQL` it reads (indices into the list).
    views: Vec<usize>,
    created: bool,
}

pub struct Bench {
    store: Arc<Store>,
    shown: Vec<Shown>,
    /// Inside BEGIN ... COMMIT (duckdb-rs cannot tell: its is_autocommit is always true).
    in_transaction: bool,
    views: Vec<View>,
    /// Functions that read benchmark tables themselves (search, predict): a statement that
    /// names one is given every table.
    readers: Vec<&'static str>,
}

impl Bench {
    /// Opens (or, if it does not exist yet, creates) a benchmark folder into `conn`, which must
    /// be a fresh in-memory connection with the robbench functions registered. Nothing is read
    /// yet: a table's view (and a view of `VIEWS_SQL`) is created when a statement first names
    /// it, so a statement pays only for what it reads.
    pub fn open(
        conn: &Connection,
        dir: &Path,
        read_only: bool,
        as_of: Option<&AsOf>,
    ) -> Result<Bench> {
        let architectures = || -> Result<Vec<RecordBatch>> {
            Ok(conn.prepare("SELECT * FROM nb201_architectures()")?.query_arrow([])?.collect())
        };
        let defs = super::table::definitions(conn)?;
        let store = Arc::new(Store::open(dir, read_only, as_of, defs, architectures)?);
        let shown = TABLES.iter().map(|&name| Shown { name, version: None }).collect();
        Ok(Bench {
            store,
            shown,
            in_transaction: false,
            views: views(VIEWS_SQL),
            readers: Vec::new(),
        })
    }

    /// Names functions that read benchmark tables themselves, so that a statement calling one
    /// is given every table.
    pub fn set_readers(&mut self, names: &[&'static str]) {
        self.readers = names.to_vec();
    }

    pub fn store(&self) -> Arc<Store> {
        self.store.clone()
    }

    pub fn dir(&self) -> &Path {
        &self.store.dir
    }

    pub fn read_only(&self) -> bool {
        self.store.read_only
    }

    /// The CREATE TABLE statement of a benchmark table (it is shown as a view).
    pub fn ddl(&self, table: &str) -> Option<&str> {
        self.store.def(table).ok().map(|d| d.ddl.as_str())
    }

    /// Makes table `i`'s view show the table's latest version.
    fn show(&mut self, conn: &Connection, i: usize) -> Result<()> {
        let name = self.shown[i].name;
        let def = self.store.def(name)?;
        let version = self.store.snapshot(name)?;
        let dir = self.store.table_dir(name)?;
        let files: Vec<PathBuf> = version.files.iter().map(|f| dir.join(&f.path)).collect();
        let context = || format!("cannot read table {name} from {}", dir.display());
        let create =
            |body: String| conn.execute_batch(&format!("CREATE OR REPLACE VIEW {name} AS {body}"));
        // Binding the view reads the files' footers: done once, and a second time only for a
        // table with a column none of its files has (written before the column existed).
        if create(select(def, &files, None)).is_err() {
            let present = columns_present(conn, &files).with_context(context)?;
            create(select(def, &files, Some(&present))).with_context(context)?;
        }
        self.shown[i].version = Some(version.version);
        Ok(())
    }

    /// The names the benchmark gives a session: its tables, views and their columns.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
        names.extend(self.views.iter().map(|v| v.name.clone()));
        names.extend(self.store.defs().flat_map(|d| d.columns.iter().map(|c| c.name.clone())));
        names
    }

    /// Shows the tables and creates the views `sql` may read: those it names, in its text or
    /// its strings (a query given to pareto()), and what the views it names read. A statement
    /// that reads the catalog or calls a function that reads tables itself gets them all.
    fn show_read(&mut self, conn: &Connection, sql: &str) -> Result<()> {
        let words = words(sql);
        let all = self.readers.iter().chain(&CATALOG_WORDS).any(|r| words.contains(*r));
        for i in 0..self.shown.len() {
            let s = &self.shown[i];
            let named = all
                || words.contains(s.name)
                || self.views.iter().any(|v| words.contains(&v.name) && v.tables.contains(&s.name));
            if s.version.is_none() && named {
                self.show(conn, i)?;
            }
        }
        for i in 0..self.views.len() {
            if all || words.contains(&self.views[i].name) {
                self.create_view(conn, i)?;
            }
        }
        Ok(())
    }

    /// Creates view `i` of `VIEWS_SQL`, after the views it reads (its tables are shown).
    fn create_view(&mut self, conn: &Connection, i: usize) -> Result<()> {
        if self.views[i].created {
            return Ok(());
        }
        for k in self.views[i].views.clone() {
            self.create_view(conn, k)?;
        }
        let v = &mut self.views[i];
        conn.execute_batch(&v.create)
            .with_context(|| format!("cannot create the benchmark view {}", v.name))?;
        v.created = true;
        Ok(())
    }

    /// Shows every table and creates every view.
    pub fn show_all(&mut self, conn: &Connection) -> Result<()> {
        for i in 0..self.shown.len() {
            if self.shown[i].version.is_none() {
                self.show(conn, i)?;
            }
        }
        for i in 0..self.views.len() {
            self.create_view(conn, i)?;
        }
        Ok(())
    }

    /// Whether `e` is DuckDB's error for a benchmark table or view not shown yet.
    fn not_shown(&self, e: &anyhow::Error) -> bool {
        let m = format!("{e:#}");
        let names = TABLES.iter().copied().chain(self.views.iter().map(|v| v.name.as_str()));
        m.contains("Catalog Error")
            && names.into_iter().any(|n| m.contains(&format!("with name {n} does not exist")))
    }

    /// Shows the tables that changed since they were shown.
    pub fn pick_up(&mut self, conn: &Connection) -> Result<()> {
        for i in 0..self.shown.len() {
            if let Some(v) = self.shown[i].version {
                if self.store.changed_since(self.shown[i].name, v)? {
                    self.show(conn, i)?;
                }
            }
        }
        Ok(())
    }

    /// Shows every shown table at its latest version (after a reader's file was removed
    /// meanwhile).
    pub fn refresh(&mut self, conn: &Connection) -> Result<()> {
        for i in 0..self.shown.len() {
            if self.shown[i].version.is_some() {
                self.show(conn, i)?;
            }
        }
        Ok(())
    }

    /// Runs `sql` with `run` (which executes a statement on `conn`), turning a change of a
    /// benchmark table into a store commit. The tables it reads are shown first.
    pub fn execute(
        &mut self,
        conn: &Connection,
        sql: &str,
        run: &dyn Fn(&str) -> Result<Output>,
    ) -> Result<Output> {
        // A failed statement aborts a transaction, so one is given every table at its start.
        let begins = matches!(tokens(sql).first().map(|x| x.0.as_str()), Some("begin" | "start"));
        if begins || self.in_transaction {
            self.show_all(conn)?;
        } else {
            self.show_read(conn, sql)?;
        }
        // A safety net: a statement that reads a table without naming it (a function that
        // is not among the readers) runs again with everything shown.
        match self.execute_shown(conn, sql, run) {
            Err(e) if !self.in_transaction && self.not_shown(&e) => {
                self.show_all(conn)?;
                self.execute_shown(conn, sql, run)
            }
            result => result,
        }
    }

    fn execute_shown(
        &mut self,
        conn: &Connection,
        sql: &str,
        run: &dyn Fn(&str) -> Result<Output>,
    ) -> Result<Output> {
        let write = classify(sql);
        if let Write::Insert { table, .. } | Write::Rewrite { table, .. } = &write {
            let def = self.store.def(table)?;
            if self.store.read_only {
                bail!(
                    "the benchmark {} is open read-only: nothing was written to {table}",
                    self.dir().display()
                );
            }
            if def.read_only() {
                bail!("{table} is read-only: nothing was written");
            }
            if self.in_transaction {
                bail!("robbench commits each statement that changes a benchmark table on its own: run the change to {table} outside BEGIN ... COMMIT");
            }
        }
        let info = CommitInfo::statement(sql);
        match write {
            Write::None => {
                let out = run(sql)?;
                let t = tokens(sql);
                match t.first().map(|x| x.0.as_str()) {
                    Some("begin") | Some("start") => self.in_transaction = true,
                    Some("commit" | "rollback" | "abort" | "end") => self.in_transaction = false,
                    _ => {}
                }
                Ok(out)
            }
            Write::Insert { table, on_key, span } => {
                self.insert(conn, table, on_key, span, sql, run, info)
            }
            Write::Rewrite { table, operation } => {
                self.rewrite(conn, table, operation, sql, run, info)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn insert(
        &mut self,
        conn: &Connection,
        table: &'static str,
        on_key: OnKey,
        span: (usize, usize),
        sql: &str,
        run: &dyn Fn(&str) -> Result<Output>,
        info: CommitInfo,
    ) -> Result<Output> {
        let def = self.store.def(table)?;
        let stage = format!("__stage_{table}");
        conn.execute_batch(&temp_ddl(def, &stage)).context("cannot stage the insert")?;
        let _stage = DropOnExit(conn, format!("DROP TABLE IF EXISTS temp.{stage}"));
        let staged = format!("{}{stage}{}", &sql[..span.0], &sql[span.1..]);
        run(&staged)
            .map_err(|e| match format!("{e:#}") {
                m if m.contains(&stage) => anyhow::anyhow!(unstage(&m, &stage, table)),
                _ => e,
            })
            .and_then(|out| {
                let batches: Vec<RecordBatch> =
                    conn.prepare(&format!("SELECT * FROM {stage}"))?.query_arrow([])?.collect();
                self.store.append(table, batches, on_key, info)?;
                Ok(out)
            })
    }
}

/// The table's DDL, creating a temporary table `name` instead.
fn temp_ddl(def: &TableDef, name: &str) -> String {
    def.ddl.replacen(
        &format!("CREATE TABLE {}", def.name),
        &format!("CREATE OR REPLACE TEMP TABLE {name}"),
        1,
    )
}

/// The table's columns, each cast to its type (`present`: the columns the files have; the
/// others read as NULL).
fn cast_list(def: &TableDef, present: Option<&std::collections::HashSet<String>>) -> String {
    def.columns
        .iter()
        .map(|c| match present.is_none_or(|p| p.contains(&c.name)) {
            true => format!("CAST(\"{}\" AS {}) AS \"{}\"", c.name, c.sql_type, c.name),
            false => format!("CAST(NULL AS {}) AS \"{}\"", c.sql_type, c.name),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn parquet_list(files: &[PathBuf]) -> String {
    let list = files
        .iter()
        .map(|p| format!("'{}'", p.display().to_string().replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ");
    format!("[{list}]")
}

/// The query a table's view is: its files' rows in the table's columns and types (`present`:
/// the columns the files have; the others read as NULL).
fn select(
    def: &TableDef,
    files: &[PathBuf],
    present: Option<&std::collections::HashSet<String>>,
) -> String {
    if files.is_empty() {
        let nulls = def
            .columns
            .iter()
            .map(|c| format!("CAST(NULL AS {}) AS \"{}\"", c.sql_type, c.name))
            .collect::<Vec<_>>()
            .join(", ");
        return format!("SELECT {nulls} WHERE false");
    }
    format!(
        "SELECT {} FROM read_parquet({}, union_by_name = true)",
        cast_list(def, present),
        parquet_list(files)
    )
}

/// The views `views_sql` creates, in order.
fn views(views_sql: &str) -> Vec<View> {
    let mut views: Vec<View> = Vec::new();
    for statement in views_sql.split(';') {
        let t = tokens(statement);
        let Some(k) = t.windows(2).position(|w| w[0].0 == "create" && w[1].0 == "view") else {
            continue;
        };
        let Some(name) = t.get(k + 2).map(|x| x.0.clone()) else { continue };
        let reads = |n: &str| t.iter().skip(k + 3).any(|x| x.0 == n);
        let mut tables: Vec<&'static str> = TABLES.iter().copied().filter(|x| reads(x)).collect();
        let mut before = Vec::new();
        for (i, v) in views.iter().enumerate().filter(|(_, v)| reads(&v.name)) {
            tables.extend(&v.tables);
            before.push(i);
        }
        let create = format!("{};", statement.trim());
        views.push(View { name, create, tables, views: before, created: false });
    }
    views
}

/// The columns that at least one of `files` has.
fn columns_present(
    conn: &Connection,
    files: &[PathBuf],
) -> Result<std::collections::HashSet<String>> {
    let sql = format!("SELECT DISTINCT name FROM parquet_schema({})", parquet_list(files));
    Ok(conn.prepare(&sql)?.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<_, _>>()?)
}

/// DuckDB's message about a staged INSERT, made one about the statement as written: the staging
/// table's name becomes the table's, and the caret under an excerpt that showed it moves with it.
fn unstage(message: &str, stage: &str, table: &str) -> String {
    let shift = stage.len() - table.len();
    let mut lines = Vec::new();
    let mut renamed_at = None;
    for line in message.lines() {
        if let Some(at) = renamed_at.take() {
            let caret = line.find('^').unwrap_or(0);
            if caret > at && caret >= shift && line[..shift].trim().is_empty() {
                lines.push(line[shift..].to_string());
                continue;
            }
        }
        if line.starts_with("LINE ") {
            renamed_at = line.find(stage);
        }
        lines.push(line.replace(stage, table));
    }
    lines.join("\n")
}

/// Drops a statement's temporary tables when it ends, however it ends.
struct DropOnExit<'a>(&'a Connection, String);

impl Drop for DropOnExit<'_> {
    fn drop(&mut self) {
        let _ = self.0.execute_batch(&self.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staged_statement_s_errors_name_the_table_and_point_where_they_did() {
        // DuckDB points at `train` (column 41 of the excerpt, 33 once renamed).
        let excerpt = |table: &str, caret: usize| {
            format!(
                "Binder Error: train: epochs must be positive, got 0\n\nLINE 1: INSERT INTO {table} FROM train(1, epochs := 0)\n{}^",
                " ".repeat(caret)
            )
        };
        let staged = excerpt("__stage_metrics", 41);
        assert_eq!(staged.lines().nth(2).unwrap().find("train"), Some(41));
        let want = excerpt("metrics", 33);
        assert_eq!(want.lines().nth(2).unwrap().find("train"), Some(33));
        assert_eq!(unstage(&staged, "__stage_metrics", "metrics"), want);
        // An excerpt that starts after the name, and the name elsewhere in a message.
        let cut = "Binder Error: table __stage_metrics has 20 columns\n\nLINE 1: ...ROM train(1)\n        ^";
        assert_eq!(
            unstage(cut, "__stage_metrics", "metrics"),
            "Binder Error: table metrics has 20 columns\n\nLINE 1: ...ROM train(1)\n        ^"
        );
    }
}
