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
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use duckdb::Connection;

use super::table_fn::{declare, BoxError, Computed};

pub struct Bind {
    rows: RecordBatch,
}

/// Which rows are on the front: `values[c][r]` is column c of row r, larger is better.
pub fn front(values: &[Vec<Option<f64>>], n: usize) -> Vec<bool> {
    let valid: Vec<bool> =
        (0..n).map(|r| values.iter().all(|c| c[r].is_some_and(|v| !v.is_nan()))).collect();
    let at = |c: usize, r: usize| values[c][r].unwrap_or(f64::NAN);
    // Rows sorted by the first column (best first): a row can only be dominated by rows that
    // come before it or tie with it there.
    let mut order: Vec<usize> = (0..n).filter(|&r| valid[r]).collect();
    order.sort_by(|&a, &b| at(0, b).total_cmp(&at(0, a)));
    // `a` is at least as good as `b` everywhere and better somewhere.
    let dominates = |a: usize, b: usize| {
        let mut strictly = false;
        for c in 0..values.len() {
            let (x, y) = (at(c, a), at(c, b));
            if x < y {
                return false;
            }
            strictly |= x > y;
        }
        strictly
    };
    let mut on = vec![false; n];
    let mut front: Vec<usize> = Vec::new();
    for &r in &order {
        if !front.iter().any(|&f| dominates(f, r)) {
            // A later row may tie on the first column and dominate an earlier one there.
            front.retain(|&f| !dominates(r, f));
            front.push(r);
        }
    }
    for f in front {
        on[f] = true;
    }
    on
}

fn bind_pareto(bind: &BindInfo) -> Result<Bind> {
    // SAFETY: registered with an Arc<Mutex<Connection>> as extra info (sql::register_bench),
    // which DuckDB keeps alive as long as the function.
    let conn = unsafe { &*bind.get_extra_info::<Arc<Mutex<Connection>>>() }.clone();
    let sql = Some(bind.get_parameter(0))
        .filter(|v| !v.is_null())
        .map(|v| v.to_string())
        .ok_or_else(|| anyhow!("pareto: which query? pass its SQL text first"))?;
    let list = |name: &str| -> Vec<String> {
        bind.get_named_parameter(name)
            .filter(|v| !v.is_null())
            .and_then(|v| v.to_list())
            .map(|l| l.iter().map(|x| x.to_string()).collect())
            .unwrap_or_default()
    };
    let columns = list("columns");
    if columns.len() < 2 {
        bail!("pareto: name two or more columns (columns := ['a', 'b'])");
    }
    let maximize: Vec<bool> = match list("maximize") {
        m if m.is_empty() => vec![true; columns.len()],
        m if m.len() == columns.len() => m.iter().map(|x| x == "true").collect(),
        m => bail!("pareto: {} columns but {} maximize flags", columns.len(), m.len()),
    };
    let conn = conn.lock().map_err(|_| anyhow!("pareto: the session is gone"))?;
    let mut stmt = conn.prepare(&sql).with_context(|| format!("pareto: the query {sql:?}"))?;
    let batches: Vec<RecordBatch> = stmt.query_arrow([])?.collect();
    let schema: SchemaRef = stmt.schema();
    let rows = concat_batches(&schema, &batches)?;
    let mut values = Vec::new();
    for (c, up) in columns.iter().zip(&maximize) {
        let idx =
            schema.index_of(c).map_err(|_| anyhow!("pareto: the query has no column '{c}'"))?;
        let col = rows.column(idx);
        if !col.data_type().is_numeric() {
            bail!("pareto: column '{c}' is {}, not a number", col.data_type());
        }
        let col = cast(col, &DataType::Float64)?;
        let col = col.as_any().downcast_ref::<arrow::array::Float64Array>().expect("Float64");
        let sign = if *up { 1.0 } else { -1.0 };
        values.push((0..col.len()).map(|r| col.is_valid(r).then(|| sign * col.value(r))).collect());
    }
    let keep = BooleanArray::from(front(&values, rows.num_rows()));
    Ok(Bind { rows: filter_record_batch(&rows, &keep)? })
}

pub struct Pareto;

impl VTab for Pareto {
    type BindData = Bind;
    type InitData = Computed;

    fn bind(bind: &BindInfo) -> Result<Bind, BoxError> {
        let b = bind_pareto(bind).map_err(|e| format!("{e:#}"))?;
        declare(bind, &b.rows.schema())?;
        Ok(b)
    }

    fn init(_: &InitInfo) -> Result<Computed, BoxError> {
        Ok(Computed::default())
    }

    fn func(func: &TableFunctionInfo<Self>, output: &mut DataChunkHandle) -> Result<(), BoxError> {
        let rows = func.get_bind_data().rows.clone();
        func.get_init_data().emit(output, || Ok(rows))
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::Varchar)])
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        let t = |id| LogicalTypeHandle::from(id);
        Some(vec![
            ("columns".to_string(), LogicalTypeHandle::list(&t(LogicalTypeId::Varchar))),
            ("maximize".into(), LogicalTypeHandle::list(&t(LogicalTypeId::Boolean))),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::front;

    /// Against the definition, pair by pair, on random points with ties.
    #[test]
    fn front_is_the_brute_force_non_dominated_set() {
        let mut x: u64 = 7;
        let mut next = || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((x >> 33) % 20) as f64
        };
        for dims in [2, 3] {
            let n = 300;
            let values: Vec<Vec<Option<f64>>> =
                (0..dims).map(|_| (0..n).map(|_| Some(next())).collect()).collect();
            let got = front(&values, n);
            for r in 0..n {
                let dominated = (0..n).any(|o| {
                    (0..dims).all(|c| values[c][o] >= values[c][r])
                        && (0..dims).any(|c| values[c][o] > values[c][r])
                });
                assert_eq!(got[r], !dominated, "row {r} in {dims} dimensions");
            }
        }
        let with_null = vec![vec![Some(1.0), None], vec![Some(1.0), Some(5.0)]];
        assert_eq!(front(&with_null, 2), [true, false]);
    }
}
