//! A store bound to a DuckDB connection: each benchmark table is a view over the Parquet files
//! of its version, so a query reads only what it needs and start-up copies nothing; a statement
//! that changes a table is turned into one store call.
//!
//! - `INSERT [OR IGNORE | OR REPLACE] INTO t ...` runs into an empty staging table with t's
//!   keys and checks, whose rows then go to [`Store::append`]: the cost does not depend on what
//!   t holds.
//! - Anything else that writes t (UPDATE, DELETE, an INSERT that reads t or has ON CONFLICT,
//!   COPY) runs against a temporary table holding t's current rows, which shadows the view for
//!   that one statement (DuckDB looks in the temporary schema first); the files whose rows the
//!   statement changed are then replaced through [`Store::rewrite`].
//!
//! After every statement, tables that another process (or a running `train`) committed to are
//! shown at their new version.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use duckdb::Connection;

use super::log::{CommitInfo, Operation};
use super::table::TableDef;
use super::{AsOf, OnKey, RowDelta, Store, TABLES, VIEWS_SQL};

pub type Output = (SchemaRef, Vec<RecordBatch>);

/// What a statement does to the benchmark's tables.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// Nothing: it runs as it is.
    None,
    /// A plain insert into `table`, whose name lies at `span` of the statement.
    Insert { table: &'static str, on_key: OnKey, span: (usize, usize) },
    /// Any other change of `table`.
    Rewrite { table: &'static str, operation: &'static str },
}

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
        let bench = Bench {
            store,
            shown,
            in_transaction: false,
            views: views(VIEWS_SQL),
            readers: Vec::new(),
        };
        Ok(bench)
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

    fn rewrite(
        &mut self,
        conn: &Connection,
        table: &'static str,
        operation: &'static str,
        sql: &str,
        run: &dyn Fn(&str) -> Result<Output>,
        info: CommitInfo,
    ) -> Result<Output> {
        let _temps = DropOnExit(conn, format!(
            "DROP TABLE IF EXISTS temp.{table}; DROP TABLE IF EXISTS temp.__rows; DROP TABLE IF EXISTS temp.__after; DROP TABLE IF EXISTS temp.__picked;"
        ));
        let def = self.store.def(table)?;
        let version = self.store.snapshot(table)?;
        let dir = self.store.table_dir(table)?;
        let paths: Vec<PathBuf> = version.files.iter().map(|f| dir.join(&f.path)).collect();
        // The table's rows, in file order, as a temporary table of the same name; __rows says
        // which file each row (by rowid) came from and what it held.
        conn.execute_batch(&temp_ddl(def, table))?;
        // An UPDATE or DELETE whose rows its WHERE clause alone picks loads only those rows;
        // any other change loads the whole table.
        let mut narrowed = false;
        if !paths.is_empty() {
            let cols = cast_list(def, None);
            let list = parquet_list(&paths);
            let source = format!("read_parquet({list}, union_by_name = true, filename = true, file_row_number = true)");
            let threads: i64 =
                conn.query_row("SELECT current_setting('threads')", [], |r| r.get(0))?;
            if let Some((alias, condition)) = narrow(sql, def) {
                narrowed = conn
                    .execute_batch(&format!(
                        "CREATE OR REPLACE TEMP TABLE __picked AS SELECT * FROM (SELECT {cols}, filename AS __file, file_row_number AS __pos FROM {source}) AS \"{alias}\" WHERE {condition}"
                    ))
                    .is_ok();
            }
            // One thread: rows are inserted, and so numbered, in the order asked for.
            conn.execute_batch("SET threads = 1")?;
            let filled = conn.execute_batch(&if narrowed {
                format!(
                    "INSERT INTO temp.{table} SELECT * EXCLUDE (__file, __pos) FROM __picked ORDER BY __file, __pos;
                     CREATE TEMP TABLE __rows AS
                       SELECT row_number() OVER (ORDER BY __file, __pos) - 1 AS rid, __file AS filename, __pos AS pos FROM __picked;
                     DROP TABLE __picked;"
                )
            } else {
                format!(
                    "INSERT INTO temp.{table} SELECT {cols} FROM {source} ORDER BY filename, file_row_number;
                     CREATE TEMP TABLE __rows AS
                       SELECT row_number() OVER (ORDER BY filename, file_row_number) - 1 AS rid, filename, file_row_number AS pos
                       FROM {source};"
                )
            });
            conn.execute_batch(&format!("SET threads = {threads}"))?;
            filled.with_context(|| format!("cannot read table {table} from {}", dir.display()))?;
            conn.execute_batch(&format!(
                "CREATE OR REPLACE TEMP TABLE __rows AS SELECT r.rid, r.filename, r.pos, hash(t) AS h FROM __rows r JOIN temp.{table} t ON t.rowid = r.rid"
            ))?;
        } else {
            conn.execute_batch(
                "CREATE TEMP TABLE __rows (rid BIGINT, filename VARCHAR, pos BIGINT, h UBIGINT)",
            )?;
        }
        let n: i64 = conn.query_row("SELECT count(*) FROM __rows", [], |r| r.get(0))?;
        if !narrowed && n != version.rows() && version.files.iter().all(|f| f.rows > 0) {
            bail!("internal: {table} read {n} rows where its log has {}", version.rows());
        }
        let out = run(sql)?;
        conn.execute_batch(&format!(
            "CREATE TEMP TABLE __after AS SELECT t.rowid AS rid, hash(t) AS h FROM temp.{table} t"
        ))?;
        let changed: Vec<String> = conn
            .prepare(
                "SELECT DISTINCT r.filename FROM __rows r LEFT JOIN __after a USING (rid)
                 WHERE a.rid IS NULL OR a.h <> r.h ORDER BY 1",
            )?
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<_, _>>()?;
        let added: i64 =
            conn.query_row(&format!("SELECT count(*) FROM __after WHERE rid >= {n}"), [], |r| {
                r.get(0)
            })?;
        if changed.is_empty() && added == 0 {
            return Ok(out);
        }
        // Rows as the table's content changed: an updated row counts as removed and added.
        let count = |sql: &str| -> Result<i64> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
        let mut info = info;
        info.rows_removed = count(
            "SELECT count(*) FROM __rows r LEFT JOIN __after a USING (rid) WHERE a.rid IS NULL OR a.h <> r.h",
        )?;
        info.rows_added = count(
            "SELECT count(*) FROM __after a LEFT JOIN __rows r USING (rid) WHERE r.rid IS NULL OR a.h <> r.h",
        )?;
        let list = changed
            .iter()
            .map(|f| format!("'{}'", f.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(", ");
        let filter = if changed.is_empty() {
            "false".to_string()
        } else {
            format!("r.filename IN ({list})")
        };
        let mut batches: Vec<RecordBatch> = Vec::new();
        if narrowed {
            // The rows of a changed file that the statement did not pick stay as they are.
            for file in &changed {
                let picked: std::collections::HashSet<usize> = conn
                    .prepare("SELECT pos FROM __rows WHERE filename = ?")?
                    .query_map([file], |r| r.get::<_, i64>(0))?
                    .map(|p| p.map(|p| p as usize))
                    .collect::<Result<_, _>>()?;
                let rows = super::files::concat(
                    &def.arrow,
                    &super::files::read(Path::new(file), &def.arrow)?,
                )?;
                let keep: Vec<bool> = (0..rows.num_rows()).map(|i| !picked.contains(&i)).collect();
                batches.push(super::files::filter_rows(&rows, &keep)?);
            }
        }
        batches.extend(
            conn.prepare(&format!(
                "SELECT t.* FROM temp.{table} t LEFT JOIN __rows r ON t.rowid = r.rid
                 WHERE t.rowid >= {n} OR {filter} ORDER BY t.rowid"
            ))?
            .query_arrow([])?,
        );
        let remove: Vec<String> = changed
            .iter()
            .map(|f| {
                Path::new(f)
                    .strip_prefix(&dir)
                    .map(|p| p.to_string_lossy().into_owned())
                    .map_err(|_| anyhow!("internal: {f} is not a file of {}", dir.display()))
            })
            .collect::<Result<_>>()?;
        let op = match operation {
            "DELETE" | "TRUNCATE" => Operation::Delete,
            "UPDATE" => Operation::Update,
            _ => Operation::Replace,
        };
        // The change row by row, for re-applying it should a file it replaces be replaced
        // meanwhile (tables with a key, where a row can be found again).
        let delta = if def.key.is_empty() {
            None
        } else {
            let cols = cast_list(def, None);
            // The old values of the rows it removed, read again from their files: by row
            // number, which lets DuckDB skip the row groups that hold none of them.
            let positions: Vec<(String, i64)> = conn
                .prepare(
                    "SELECT r.filename, r.pos FROM __rows r LEFT JOIN __after a USING (rid)
                     WHERE a.rid IS NULL OR a.h <> r.h ORDER BY 1, 2",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let mut removed: Vec<RecordBatch> = Vec::new();
            for file in &changed {
                let rows: Vec<String> = positions
                    .iter()
                    .filter(|(f, _)| f == file)
                    .map(|(_, p)| p.to_string())
                    .collect();
                if rows.is_empty() {
                    continue;
                }
                let file = PathBuf::from(file);
                removed.extend(
                    conn.prepare(&format!(
                        "SELECT {cols} FROM read_parquet({}, file_row_number = true) WHERE file_row_number IN ({})",
                        parquet_list(std::slice::from_ref(&file)),
                        rows.join(", ")
                    ))?
                    .query_arrow([])?,
                );
            }
            let added: Vec<RecordBatch> = conn
                .prepare(&format!(
                    "SELECT t.* FROM temp.{table} t JOIN __after a ON t.rowid = a.rid
                     LEFT JOIN __rows r ON r.rid = a.rid WHERE r.rid IS NULL OR a.h <> r.h"
                ))?
                .query_arrow([])?
                .collect();
            Some(RowDelta { removed, added })
        };
        self.store.rewrite(table, version.version, &remove, batches, delta, op, info)?;
        Ok(out)
    }
}

/// For an UPDATE or DELETE of `def`'s table whose WHERE clause alone picks the rows it changes:
/// the name its rows go by in the statement and that condition. None when it may read or
/// change more: the table named again (a subquery), UPDATE ... FROM, DELETE ... USING, a
/// key column assigned (DuckDB checks a new key against the rows it holds), or a condition
/// that gives another answer when evaluated again.
fn narrow(sql: &str, def: &TableDef) -> Option<(String, String)> {
    let t = tokens(sql);
    let word = |k: usize| t.get(k).map(|x| x.0.as_str()).unwrap_or("");
    if t.iter().filter(|x| x.0 == def.name).count() != 1 {
        return None;
    }
    let (mut k, update) = match word(0) {
        "update" => (1, true),
        "delete" if word(1) == "from" => (2, false),
        _ => return None,
    };
    let (_, _, next) = table_at(&t, k)?;
    k = next;
    let mut alias = def.name.to_string();
    if word(k) == "as" {
        alias = word(k + 1).to_string();
        k += 2;
    } else if !matches!(word(k), "set" | "where" | "") {
        alias = word(k).to_string();
        k += 1;
    }
    // The clauses at depth 0 after the name: SET (an UPDATE's), WHERE, RETURNING.
    let mut depth = 0;
    let (mut at_where, mut at_returning) = (None, None);
    let mut assigned = Vec::new();
    for j in k..t.len() {
        match t[j].0.as_str() {
            "(" => depth += 1,
            ")" => depth -= 1,
            "where" if depth == 0 && at_where.is_none() => at_where = Some(j),
            "returning" if depth == 0 => at_returning = Some(j),
            "from" | "using" if depth == 0 && at_where.is_none() => return None,
            "=" if depth == 0
                && at_where.is_none()
                && matches!(word(j.saturating_sub(2)), "set" | ",") =>
            {
                assigned.push(word(j - 1).to_string());
            }
            _ => {}
        }
    }
    if update && (word(k) != "set" || assigned.is_empty()) || !update && Some(k) != at_where {
        return None;
    }
    if assigned.iter().any(|c| def.key.iter().any(|&i| def.columns[i].name == *c)) {
        return None;
    }
    let start = t[at_where?].2;
    let end = at_returning.map(|j| t[j].1).unwrap_or(sql.len());
    let condition = sql[start..end].trim().trim_end_matches(';').trim();
    let volatile =
        ["random", "uuid", "gen_random_uuid", "nextval", "setseed", "now", "current_timestamp"];
    if condition.is_empty() || t.iter().any(|x| volatile.contains(&x.0.as_str())) {
        return None;
    }
    Some((alias, condition.to_string()))
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

/// Every word of `sql`, lowercased, strings and comments included (a string may be a query, a
/// comment costs at most a table read in vain).
fn words(sql: &str) -> std::collections::HashSet<String> {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect()
}

/// The columns that at least one of `files` has.
fn columns_present(
    conn: &Connection,
    files: &[PathBuf],
) -> Result<std::collections::HashSet<String>> {
    let sql = format!("SELECT DISTINCT name FROM parquet_schema({})", parquet_list(files));
    Ok(conn.prepare(&sql)?.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<_, _>>()?)
}

/// Words, quoted identifiers and symbols of a statement, with their byte spans; strings and
/// comments are skipped.
fn tokens(sql: &str) -> Vec<(String, usize, usize)> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if sql[i..].starts_with("--") {
            i = sql[i..].find('\n').map(|k| i + k).unwrap_or(b.len());
        } else if sql[i..].starts_with("/*") {
            i = sql[i + 2..].find("*/").map(|k| i + 2 + k + 2).unwrap_or(b.len());
        } else if c == b'\'' {
            i += 1;
            while i < b.len() {
                if b[i] == b'\'' && b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                } else if b[i] == b'\'' {
                    i += 1;
                    break;
                } else {
                    i += 1;
                }
            }
        } else if c == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += 1;
            }
            i = (i + 1).min(b.len());
            out.push((
                sql[start + 1..i.saturating_sub(1).max(start + 1)].to_ascii_lowercase(),
                start,
                i,
            ));
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((sql[start..i].to_ascii_lowercase(), start, i));
        } else {
            out.push((sql[i..i + 1].to_string(), i, i + 1));
            i += 1;
        }
    }
    out
}

/// The benchmark table a name token (possibly `main.t` or `"t"`) names, with the span of the
/// whole name, starting at token `k`.
fn table_at(
    t: &[(String, usize, usize)],
    k: usize,
) -> Option<(&'static str, (usize, usize), usize)> {
    let (mut name, start, mut end, mut next) = (t.get(k)?.0.as_str(), t[k].1, t[k].2, k + 1);
    if matches!(name, "main" | "memory") && t.get(k + 1).is_some_and(|x| x.0 == ".") {
        let n = t.get(k + 2)?;
        (name, end, next) = (n.0.as_str(), n.2, k + 3);
    }
    TABLES.iter().find(|x| **x == name).map(|x| (*x, (start, end), next))
}

/// What `sql` does to the benchmark's tables.
pub fn classify(sql: &str) -> Write {
    let t = tokens(sql);
    let word = |k: usize| t.get(k).map(|x| x.0.as_str()).unwrap_or("");
    let mut k = 0;
    while word(k) == "(" {
        k += 1;
    }
    let mentions = |table: &str| t.iter().filter(|x| x.0 == table).count();
    match word(k) {
        "insert" => {
            let mut j = k + 1;
            let mut on_key = OnKey::Refuse;
            if word(j) == "or" {
                on_key = match word(j + 1) {
                    "replace" => OnKey::Replace,
                    "ignore" => OnKey::Ignore,
                    _ => OnKey::Refuse,
                };
                j += 2;
            }
            if word(j) != "into" {
                return Write::None;
            }
            let Some((table, span, _)) = table_at(&t, j + 1) else { return Write::None };
            let on_conflict = t.windows(2).any(|w| w[0].0 == "on" && w[1].0 == "conflict");
            if on_conflict || mentions(table) > 1 {
                return Write::Rewrite { table, operation: "INSERT" };
            }
            Write::Insert { table, on_key, span }
        }
        "update" => match table_at(&t, k + 1) {
            Some((table, ..)) => Write::Rewrite { table, operation: "UPDATE" },
            None => Write::None,
        },
        "delete" if word(k + 1) == "from" => match table_at(&t, k + 2) {
            Some((table, ..)) => Write::Rewrite { table, operation: "DELETE" },
            None => Write::None,
        },
        "truncate" => {
            let j = if word(k + 1) == "table" { k + 2 } else { k + 1 };
            match table_at(&t, j) {
                Some((table, ..)) => Write::Rewrite { table, operation: "TRUNCATE" },
                None => Write::None,
            }
        }
        "copy" => match table_at(&t, k + 1) {
            Some((table, _, next))
                if t[next..].iter().any(|x| x.0 == "from") && word(next) != "to" =>
            {
                Write::Rewrite { table, operation: "INSERT" }
            }
            _ => Write::None,
        },
        "with" => {
            // A change after common table expressions: the first INSERT INTO, UPDATE or
            // DELETE FROM at depth 0 names it.
            let inserts_into = |j: usize| {
                (j >= 1 && word(j - 1) == "insert")
                    || (j >= 3 && word(j - 3) == "insert" && word(j - 2) == "or")
            };
            let mut depth = 0i32;
            for j in k..t.len() {
                match t[j].0.as_str() {
                    "(" => depth += 1,
                    ")" => depth -= 1,
                    "into" if depth == 0 && inserts_into(j) => {
                        if let Some((table, ..)) = table_at(&t, j + 1) {
                            return Write::Rewrite { table, operation: "INSERT" };
                        }
                    }
                    "update" if depth == 0 => {
                        if let Some((table, ..)) = table_at(&t, j + 1) {
                            return Write::Rewrite { table, operation: "UPDATE" };
                        }
                    }
                    "from" if depth == 0 && word(j.saturating_sub(1)) == "delete" => {
                        if let Some((table, ..)) = table_at(&t, j + 1) {
                            return Write::Rewrite { table, operation: "DELETE" };
                        }
                    }
                    _ => {}
                }
            }
            Write::None
        }
        _ => Write::None,
    }
}

/// Statements that would replace or alter a benchmark table's definition in the session.
pub fn alters_definition(sql: &str) -> Option<&'static str> {
    let t = tokens(sql);
    let first = t.first().map(|x| x.0.as_str()).unwrap_or("");
    if !matches!(first, "drop" | "alter" | "create") {
        return None;
    }
    let temp = t.iter().take(5).any(|x| x.0 == "temp" || x.0 == "temporary");
    if first == "create" && temp {
        return None;
    }
    // The object's name follows TABLE or VIEW (after IF [NOT] EXISTS).
    let k = t.iter().position(|x| x.0 == "table" || x.0 == "view")?;
    let mut j = k + 1;
    while matches!(t.get(j).map(|x| x.0.as_str()), Some("if" | "not" | "exists")) {
        j += 1;
    }
    table_at(&t, j).map(|(table, ..)| table)
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

    #[test]
    fn only_a_where_clause_that_alone_picks_the_rows_narrows_a_rewrite() {
        let conn = Connection::open_in_memory().unwrap();
        let defs = super::super::table::definitions(&conn).unwrap();
        let metrics = defs.iter().find(|d| d.name == "metrics").unwrap();
        let picks = |sql: &str| narrow(sql, metrics);
        let some = |alias: &str, cond: &str| Some((alias.to_string(), cond.to_string()));
        assert_eq!(
            picks("UPDATE metrics SET pgd8 = 0.5 WHERE arch < 100;"),
            some("metrics", "arch < 100")
        );
        assert_eq!(
            picks("update main.metrics as m set pgd8 = pgd8 + 1, clean = 0 where m.dataset = 'x' returning *"),
            some("m", "m.dataset = 'x'")
        );
        assert_eq!(
            picks("DELETE FROM metrics m WHERE arch IN (SELECT arch FROM runs)"),
            some("m", "arch IN (SELECT arch FROM runs)")
        );
        for sql in [
            "UPDATE metrics SET pgd8 = 1",
            "DELETE FROM metrics",
            "UPDATE metrics SET run_id = 'x' WHERE arch = 1",
            "UPDATE metrics SET pgd8 = r.x FROM runs r WHERE metrics.run_id = r.run_id",
            "DELETE FROM metrics USING runs WHERE metrics.run_id = runs.run_id",
            "DELETE FROM metrics WHERE pgd8 < (SELECT avg(pgd8) FROM metrics)",
            "DELETE FROM metrics WHERE random() < 0.5",
            "INSERT INTO metrics SELECT * FROM metrics",
        ] {
            assert_eq!(picks(sql), None, "{sql}");
        }
    }

    #[test]
    fn statements_are_classified_by_what_they_change() {
        let w = classify("INSERT INTO metrics FROM train(1)");
        assert_eq!(w, Write::Insert { table: "metrics", on_key: OnKey::Refuse, span: (12, 19) });
        assert!(matches!(
            classify("insert or replace into \"scores\" values (1)"),
            Write::Insert { table: "scores", on_key: OnKey::Replace, .. }
        ));
        assert!(matches!(
            classify("INSERT OR IGNORE INTO main.runs SELECT 1"),
            Write::Insert { table: "runs", on_key: OnKey::Ignore, span: (22, 31) }
        ));
        // Statements that rewrite a table's files, and the table and operation each names.
        let rewrites = [
            ("INSERT INTO metrics SELECT * FROM metrics", "metrics", "INSERT"),
            ("insert into runs values (1) on conflict do nothing", "runs", "INSERT"),
            ("UPDATE metrics SET pgd8 = 1", "metrics", "UPDATE"),
            ("delete from curves where 'metrics' = ''", "curves", "DELETE"),
            ("WITH x AS (SELECT 1) DELETE FROM runs", "runs", "DELETE"),
            ("COPY scores FROM 'x.csv'", "scores", "INSERT"),
        ];
        for (sql, table, operation) in rewrites {
            assert_eq!(classify(sql), Write::Rewrite { table, operation }, "{sql}");
        }
        for sql in [
            "SELECT * FROM metrics",
            "INSERT INTO mine SELECT * FROM metrics",
            "COPY metrics TO 'x.csv'",
        ] {
            assert_eq!(classify(sql), Write::None, "{sql}");
        }
        assert_eq!(alters_definition("DROP VIEW metrics"), Some("metrics"));
        assert_eq!(alters_definition("create or replace view runs as select 1"), Some("runs"));
        assert_eq!(alters_definition("CREATE TEMP TABLE runs AS SELECT 1"), None);
        assert_eq!(alters_definition("CREATE TABLE mine AS SELECT * FROM runs"), None);
    }
}
