//! Reading single rows by key, for train (is this run recorded?) and the importers: only the
//! files whose statistics might hold the key are read.

use std::collections::{HashMap, HashSet};

use anyhow::{anyhow, bail, Result};
use arrow::record_batch::RecordBatch;

use super::files;
use super::Store;

impl Store {
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
