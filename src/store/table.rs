//! What robbench knows of each benchmark table, derived once from `schema/tables.sql`: its
//! columns and SQL types, its key, the columns its files are sorted by, and the same schema
//! as Arrow (for the Parquet files) and as Delta Lake (for the log).

use std::sync::Arc;

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

/// Every table's definition, read from DuckDB after `TABLES_SQL` ran on a scratch connection
/// (DuckDB is the parser of the schema, so nothing here restates it).
pub fn definitions() -> Result<Vec<TableDef>> {
    let conn = Connection::open_in_memory().context("cannot start DuckDB")?;
    conn.execute_batch(TABLES_SQL).context("cannot create the benchmark tables")?;
    TABLES.iter().map(|name| definition(&conn, name)).collect()
}

fn definition(conn: &Connection, name: &'static str) -> Result<TableDef> {
    let arrow =
        conn.prepare(&format!("SELECT * FROM {name} LIMIT 0"))?.query_arrow([])?.get_schema();
    let ddl: String =
        conn.query_row("SELECT sql FROM duckdb_tables() WHERE table_name = ?", [name], |r| {
            r.get(0)
        })?;
    let columns = conn
        .prepare("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index")?
        .query_map([name], |r| Ok(Column { name: r.get(0)?, sql_type: r.get(1)? }))?
        .collect::<Result<Vec<_>, _>>()?;
    let key_names: Vec<String> = conn
        .prepare(
            "SELECT unnest(constraint_column_names) FROM duckdb_constraints()
             WHERE table_name = ? AND constraint_type = 'PRIMARY KEY'",
        )?
        .query_map([name], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let position = |n: &str| {
        columns
            .iter()
            .position(|c| c.name == n)
            .ok_or_else(|| anyhow!("internal: key column {n} of {name} is not a column"))
    };
    let key = key_names.iter().map(|n| position(n)).collect::<Result<Vec<_>>>()?;
    let order = if key.is_empty() { vec![0] } else { key.clone() };
    Ok(TableDef { name, ddl, columns, key, order, arrow: Arc::clone(&arrow) })
}
