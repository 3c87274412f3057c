//! What robbench knows of each benchmark table, derived once from `schema/tables.sql`: its
//! columns and SQL types, its key, the columns its files are sorted by, and the same schema
//! as Arrow (for the Parquet files) and as Delta Lake (for the log).

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context, Result};
use arrow::datatypes::SchemaRef;
use duckdb::Connection;

pub const TABLES_SQL: &str = include_str!("../../schema/tables.sql");

/// The tables of every benchmark, in schema order.
pub const TABLES: [&str; 8] =
    ["architectures", "runs", "metrics", "curves", "corruptions", "scores", "standard", "hardware"];

/// Tables no statement may change: every benchmark has the same one.
pub const READ_ONLY_TABLES: [&str; 1] = ["architectures"];

#[derive(Clone, Debug)]
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

/// The catalog `definitions` creates the tables in, on the caller's connection, and drops.
const SCRATCH: &str = "__robbench_schema";

/// Every table's definition, read from DuckDB after `TABLES_SQL` ran in a scratch in-memory
/// catalog attached to `conn` (DuckDB is the parser of the schema, so nothing here restates
/// it). A catalog, not a second database: opening DuckDB again would cost as much as the rest
/// of a cold start.
pub fn definitions(conn: &Connection) -> Result<Vec<TableDef>> {
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
