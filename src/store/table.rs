//! What robbench knows of each benchmark table, derived once from `schema/tables.sql`: its
//! columns and SQL types, its key, the columns its files are sorted by, and the same schema
//! as Arrow (for the Parquet files) and as Delta Lake (for the log).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use arrow::datatypes::{Schema, SchemaRef};
use duckdb::Connection;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const TABLES_SQL: &str = include_str!("../../schema/tables.sql");

/// The tables of every benchmark, in schema order.
pub const TABLES: [&str; 8] =
    ["architectures", "runs", "metrics", "curves", "corruptions", "scores", "standard", "hardware"];

/// Tables no statement may change: every benchmark has the same one.
pub const READ_ONLY_TABLES: [&str; 1] = ["architectures"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// DuckDB's name of the type (INTEGER, VARCHAR[], ...).
    pub sql_type: String,
}

#[derive(Clone, Debug)]
pub struct TableDef {
    pub name: &'static str,
    /// The CREATE TABLE statement, with its keys and checks.
    pub ddl: String,
    pub columns: Vec<Column>,
    /// Positions of the primary-key columns (empty: the table has no key).
    pub key: Vec<usize>,
    /// Positions of the columns compacted files are sorted by: the key, else the first column.
    /// Sorted files have narrow per-file and per-row-group ranges, which is what makes a key
    /// look-up skip nearly every file.
    pub order: Vec<usize>,
    pub arrow: SchemaRef,
}

impl TableDef {
    pub fn read_only(&self) -> bool {
        READ_ONLY_TABLES.contains(&self.name)
    }

    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// The Delta Lake schema of the table. Every field is nullable: DuckDB's checks (NOT NULL,
    /// ranges, keys) run before anything is written, and a nullable schema keeps the files
    /// readable by engines that would otherwise enforce stricter rules of their own.
    pub fn delta_fields(&self) -> Result<Vec<deltalake_core::kernel::StructField>> {
        use deltalake_core::kernel::{ArrayType, DataType, PrimitiveType, StructField};
        self.columns
            .iter()
            .map(|c| {
                let ty = match c.sql_type.as_str() {
                    "INTEGER" => DataType::Primitive(PrimitiveType::Integer),
                    "BIGINT" => DataType::Primitive(PrimitiveType::Long),
                    "DOUBLE" => DataType::Primitive(PrimitiveType::Double),
                    "VARCHAR" => DataType::Primitive(PrimitiveType::String),
                    "BOOLEAN" => DataType::Primitive(PrimitiveType::Boolean),
                    "TIMESTAMP" => DataType::Primitive(PrimitiveType::TimestampNtz),
                    "VARCHAR[]" => DataType::Array(Box::new(ArrayType::new(
                        DataType::Primitive(PrimitiveType::String),
                        true,
                    ))),
                    other => bail!(
                        "internal: column {}.{} has type {other}, which robbench does not store",
                        self.name,
                        c.name
                    ),
                };
                Ok(StructField::new(c.name.clone(), ty, true))
            })
            .collect()
    }
}

/// Every table's definition: from the user's cache when it holds the definitions of this
/// schema, this derivation and this DuckDB, else derived through `conn` ([`derive`]) and
/// cached. Deriving costs 11-24 ms, a third of a cold `robbench -c` before the cache.
pub fn definitions(conn: &Connection) -> Result<Vec<TableDef>> {
    definitions_cached(conn, cache_file().as_deref())
}

/// [`definitions`] with the cache at `cache` (None: none). A cache that cannot be read, parsed
/// or written is passed over: it only saves time.
fn definitions_cached(conn: &Connection, cache: Option<&Path>) -> Result<Vec<TableDef>> {
    if let Some(defs) = cache.and_then(read_cache) {
        return Ok(defs);
    }
    let defs = derive(conn)?;
    if let Some(path) = cache {
        write_cache(path, &defs);
    }
    Ok(defs)
}

/// A table's definition as the cache holds it.
#[derive(Serialize, Deserialize)]
struct Cached {
    name: String,
    ddl: String,
    columns: Vec<Column>,
    key: Vec<usize>,
    order: Vec<usize>,
    arrow: Schema,
}

/// The cache file of these definitions: named by a hash of the schema, of this file (the
/// derivation) and of the DuckDB version, so that a change to any of them reads none of an
/// older file. It lies in `$ROBBENCH_CACHE`, else `$XDG_CACHE_HOME/robbench`, else
/// `~/.cache/robbench`.
fn cache_file() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = var("ROBBENCH_CACHE")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("robbench")))
        .or_else(|| var("HOME").map(|d| d.join(".cache/robbench")))?;
    let mut hash = Sha256::new();
    for part in [TABLES_SQL, include_str!("table.rs"), crate::sql::DUCKDB_VERSION] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    Some(dir.join(format!("tables-{}.json", &format!("{:x}", hash.finalize())[..16])))
}

fn read_cache(path: &Path) -> Option<Vec<TableDef>> {
    let text = std::fs::read_to_string(path).ok()?;
    let cached: Vec<Cached> = serde_json::from_str(&text).ok()?;
    if cached.len() != TABLES.len() {
        return None;
    }
    TABLES
        .iter()
        .zip(cached)
        .map(|(&name, c)| {
            (c.name == name).then(|| TableDef {
                name,
                ddl: c.ddl,
                columns: c.columns,
                key: c.key,
                order: c.order,
                arrow: Arc::new(c.arrow),
            })
        })
        .collect()
}

/// Writes the cache whole or not at all (a file of its own, then renamed over the name), so
/// that processes starting at once never read half of one.
fn write_cache(path: &Path, defs: &[TableDef]) {
    let cached: Vec<Cached> = defs
        .iter()
        .map(|d| Cached {
            name: d.name.to_string(),
            ddl: d.ddl.clone(),
            columns: d.columns.clone(),
            key: d.key.clone(),
            order: d.order.clone(),
            arrow: d.arrow.as_ref().clone(),
        })
        .collect();
    let Ok(text) = serde_json::to_string(&cached) else { return };
    let tmp = path.with_extension(format!("{}.partial", std::process::id()));
    let written = path.parent().is_some_and(|d| std::fs::create_dir_all(d).is_ok())
        && std::fs::write(&tmp, text).is_ok()
        && std::fs::rename(&tmp, path).is_ok();
    if !written {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// The catalog `derive` creates the tables in, on the caller's connection, and drops.
const SCRATCH: &str = "__robbench_schema";

/// Every table's definition, read from DuckDB after `TABLES_SQL` ran in a scratch in-memory
/// catalog attached to `conn` (DuckDB is the parser of the schema, so nothing here restates
/// it). A catalog, not a second database: opening DuckDB again would cost as much as the rest
/// of a cold start.
fn derive(conn: &Connection) -> Result<Vec<TableDef>> {
    let home: String = conn.query_row("SELECT current_database()", [], |r| r.get(0))?;
    conn.execute_batch(&format!("ATTACH ':memory:' AS {SCRATCH}; USE {SCRATCH};"))
        .context("cannot attach a scratch catalog")?;
    let _detach = Detach(conn, home);
    conn.execute_batch(TABLES_SQL).context("cannot create the benchmark tables")?;
    let in_scratch = format!("database_name = '{SCRATCH}'");
    let mut ddl: HashMap<String, String> = HashMap::new();
    for row in conn
        .prepare(&format!("SELECT table_name, sql FROM duckdb_tables() WHERE {in_scratch}"))?
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
    {
        let (t, sql) = row?;
        ddl.insert(t, sql);
    }
    // pragma_table_info per table: duckdb_columns() would bind every view of the catalog,
    // DuckDB's own included, which costs more than the rest of this function.
    let per_table = TABLES
        .iter()
        .map(|t| {
            format!(
                "SELECT '{t}' AS t, cid, name, type FROM pragma_table_info('{SCRATCH}.main.{t}')"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let mut columns: HashMap<String, Vec<Column>> = HashMap::new();
    for row in conn
        .prepare(&format!("SELECT t, name, type FROM ({per_table}) ORDER BY t, cid"))?
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, Column { name: r.get(1)?, sql_type: r.get(2)? }))
        })?
    {
        let (t, c) = row?;
        columns.entry(t).or_default().push(c);
    }
    let mut keys: HashMap<String, Vec<String>> = HashMap::new();
    for row in conn
        .prepare(&format!(
            "SELECT table_name, unnest(constraint_column_names) FROM duckdb_constraints()
             WHERE {in_scratch} AND constraint_type = 'PRIMARY KEY'"
        ))?
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
    {
        let (t, c) = row?;
        keys.entry(t).or_default().push(c);
    }
    TABLES
        .iter()
        .map(|&name| {
            let arrow = conn
                .prepare(&format!("SELECT * FROM {SCRATCH}.main.{name} LIMIT 0"))?
                .query_arrow([])?
                .get_schema();
            let ddl =
                ddl.remove(name).ok_or_else(|| anyhow!("internal: {name} was not created"))?;
            let columns = columns.remove(name).unwrap_or_default();
            let position = |n: &str| {
                columns
                    .iter()
                    .position(|c| c.name == n)
                    .ok_or_else(|| anyhow!("internal: key column {n} of {name} is not a column"))
            };
            let key = keys
                .remove(name)
                .unwrap_or_default()
                .iter()
                .map(|n| position(n))
                .collect::<Result<Vec<_>>>()?;
            let order = if key.is_empty() { vec![0] } else { key.clone() };
            Ok(TableDef { name, ddl, columns, key, order, arrow })
        })
        .collect()
}

/// Goes back to the connection's own catalog and drops the scratch one.
struct Detach<'a>(&'a Connection, String);

impl Drop for Detach<'_> {
    fn drop(&mut self) {
        let _ = self.0.execute_batch(&format!("USE \"{}\"; DETACH {SCRATCH};", self.1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &[TableDef], b: &[TableDef]) {
        assert_eq!(a.len(), TABLES.len());
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x.name, y.name);
            assert_eq!(x.ddl, y.ddl, "{}", x.name);
            assert_eq!(x.columns, y.columns, "{}", x.name);
            assert_eq!((&x.key, &x.order), (&y.key, &y.order), "{}", x.name);
            assert_eq!(x.arrow, y.arrow, "{}", x.name);
        }
    }

    /// Definitions read back from the cache are the ones DuckDB derives, Arrow schemas (with
    /// their list fields and timestamps) included; a damaged cache is passed over and replaced.
    #[test]
    fn the_cache_gives_the_derived_definitions_and_a_damaged_one_is_replaced() {
        let conn = Connection::open_in_memory().unwrap();
        let derived = derive(&conn).unwrap();
        assert!(derived.iter().any(|d| d
            .arrow
            .fields()
            .iter()
            .any(|f| matches!(f.data_type(), arrow::datatypes::DataType::List(_)))));
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("cache/tables.json");
        same(&definitions_cached(&conn, Some(&file)).unwrap(), &derived);
        assert!(file.exists(), "the first call writes the cache");
        same(&read_cache(&file).expect("a cache written is read back"), &derived);
        for damage in
            ["", "{", "[]", &std::fs::read_to_string(&file).unwrap().replacen("runs", "rnus", 1)]
        {
            std::fs::write(&file, damage).unwrap();
            assert!(read_cache(&file).is_none(), "{damage:.40}");
            same(&definitions_cached(&conn, Some(&file)).unwrap(), &derived);
            same(&read_cache(&file).expect("rewritten"), &derived);
        }
        // No cache file at all (an unwritable place): derived every time.
        let nowhere = Path::new("/proc/robbench-cannot-write-here/tables.json");
        same(&definitions_cached(&conn, Some(nowhere)).unwrap(), &derived);
    }
}
