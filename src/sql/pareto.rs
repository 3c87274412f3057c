//! `pareto(query, columns := [...], maximize := [...])`: the rows of a query that no other row
//! dominates over the named columns (at least as good in every one, better in one), each
//! maximised unless `maximize` says false for it. Rows with a NULL or NaN in those columns take
//! no part. E.g. parameters against PGD-8 accuracy:
//!
//! ```sql
//! FROM pareto('SELECT arch, params_cifar10 AS params, pgd8 FROM metrics_mean JOIN architectures USING (arch)
//!              WHERE dataset = ''cifar10''', columns := ['params', 'pgd8'], maximize := [false, true]);
//! ```

use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use arrow::array::{Array, BooleanArray};
use arrow::compute::{cast, concat_batches, filter_record_batch};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use duckdb::vtab::BindInfo;
use duckdb::Connection;

use super::params;
use super::table_fn::BindRows;
use crate::search::pareto::front;

pub struct Pareto;

impl BindRows for Pareto {
    const FUNCTION: Option<&'static params::Function> = Some(&params::PARETO);

    type Context = Arc<Mutex<Connection>>;

    fn rows(bind: &BindInfo, conn: &Arc<Mutex<Connection>>) -> Result<RecordBatch> {
        let sql = Some(bind.get_parameter(0))
            .filter(|v| !v.is_null())
            .map(|v| v.to_string())
            .ok_or_else(|| anyhow!("which query? pass its SQL text first"))?;
        let list = |name: &str| -> Vec<String> {
            bind.get_named_parameter(name)
                .filter(|v| !v.is_null())
                .and_then(|v| v.to_list())
                .map(|l| l.iter().map(|x| x.to_string()).collect())
                .unwrap_or_default()
        };
        let columns = list("columns");
        if columns.len() < 2 {
            bail!("name two or more columns (columns := ['a', 'b'])");
        }
        let maximize: Vec<bool> = match list("maximize") {
            m if m.is_empty() => vec![true; columns.len()],
            m if m.len() == columns.len() => m.iter().map(|x| x == "true").collect(),
            m => bail!("{} columns but {} maximize flags", columns.len(), m.len()),
        };
        let conn = conn.lock().map_err(|_| anyhow!("the session is gone"))?;
        let mut stmt = conn.prepare(&sql).with_context(|| format!("the query {sql:?}"))?;
        let batches: Vec<RecordBatch> = stmt.query_arrow([])?.collect();
        let schema: SchemaRef = stmt.schema();
        let rows = concat_batches(&schema, &batches)?;
        let mut values = Vec::new();
        for (c, up) in columns.iter().zip(&maximize) {
            let idx = schema.index_of(c).map_err(|_| anyhow!("the query has no column '{c}'"))?;
            let col = rows.column(idx);
            if !col.data_type().is_numeric() {
                bail!("column '{c}' is {}, not a number", col.data_type());
            }
            let col = cast(col, &DataType::Float64)?;
            let col = col.as_any().downcast_ref::<arrow::array::Float64Array>().expect("Float64");
            let sign = if *up { 1.0 } else { -1.0 };
            values.push(
                (0..col.len()).map(|r| col.is_valid(r).then(|| sign * col.value(r))).collect(),
            );
        }
        let keep = BooleanArray::from(front(&values, rows.num_rows()));
        Ok(filter_record_batch(&rows, &keep)?)
    }
}
