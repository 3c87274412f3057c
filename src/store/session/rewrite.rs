//! A statement that rewrites a benchmark table (UPDATE, DELETE, an INSERT that reads the
//! table, COPY): it runs against a temporary table holding the rows it may change, which
//! shadows the view for that one statement (DuckDB looks in the temporary schema first); the
//! files whose rows it changed are then replaced through [`Store::rewrite`].

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use arrow::record_batch::RecordBatch;
use duckdb::Connection;

use super::statement::narrow;
use super::{cast_list, parquet_list, temp_ddl, Bench, DropOnExit, Output};
use crate::store::history::CommitInfo;
use crate::store::log::Operation;
use crate::store::{files, RowDelta};

impl Bench {
    pub(super) fn rewrite(
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
                let rows = files::concat(&def.arrow, &files::read(Path::new(file), &def.arrow)?)?;
                let keep: Vec<bool> = (0..rows.num_rows()).map(|i| !picked.contains(&i)).collect();
                batches.push(files::filter_rows(&rows, &keep)?);
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
