//! The rank correlations of `crate::stats` in SQL: the aggregates
//! `spearman(x, y)` and `kendall_tau(x, y)`: macros that collect the (x, y) pairs of a group
//! with `list()` and pass them to the scalar functions here. Pairs with a NULL are skipped, as
//! SQL aggregates skip NULLs; fewer than two pairs, or a constant side, give NULL (scipy: nan).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use arrow::datatypes::{DataType, Field, Float64Type};
use arrow::record_batch::RecordBatch;
use duckdb::vscalar::{ArrowFunctionSignature, VArrowScalar};

use super::table_fn::BoxError;
use crate::stats::{kendall_tau_b, spearman};

pub const MACROS: &str = "
CREATE MACRO spearman(x, y) AS robbench_spearman_pairs(list([CAST(x AS DOUBLE), CAST(y AS DOUBLE)]));
CREATE MACRO kendall_tau(x, y) AS robbench_kendall_pairs(list([CAST(x AS DOUBLE), CAST(y AS DOUBLE)]));
";

fn pairs_signature() -> Vec<ArrowFunctionSignature> {
    let inner = DataType::List(Arc::new(Field::new("l", DataType::Float64, true)));
    vec![ArrowFunctionSignature::exact(
        vec![DataType::List(Arc::new(Field::new("l", inner, true)))],
        DataType::Float64,
    )]
}

fn per_row(
    input: RecordBatch,
    name: &str,
    f: fn(&[f64], &[f64]) -> Option<f64>,
) -> Result<ArrayRef, BoxError> {
    let lists = input.column(0).as_list::<i32>();
    let mut out = Vec::with_capacity(lists.len());
    for row in 0..lists.len() {
        if lists.is_null(row) {
            out.push(None);
            continue;
        }
        let pairs = lists.value(row);
        let pairs = pairs.as_list::<i32>();
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for p in 0..pairs.len() {
            let pair = pairs.value(p);
            let pair = pair.as_primitive::<Float64Type>();
            if pair.len() != 2 || pair.is_null(0) || pair.is_null(1) {
                continue;
            }
            let (a, b) = (pair.value(0), pair.value(1));
            if a.is_nan() || b.is_nan() {
                return Err(
                    format!("{name}: NaN in the input (filter it out or cast it to NULL)").into()
                );
            }
            x.push(a);
            y.push(b);
        }
        out.push(f(&x, &y));
    }
    Ok(Arc::new(Float64Array::from(out)))
}

/// `robbench_spearman_pairs` (`KENDALL` false) and `robbench_kendall_pairs`: a coefficient per
/// row of two lists, which the `spearman` and `kendall_tau` macros aggregate into.
pub struct Pairs<const KENDALL: bool>;

impl<const KENDALL: bool> VArrowScalar for Pairs<KENDALL> {
    type State = ();
    fn invoke(_: &(), input: RecordBatch) -> Result<ArrayRef, BoxError> {
        if KENDALL {
            per_row(input, "kendall_tau", kendall_tau_b)
        } else {
            per_row(input, "spearman", spearman)
        }
    }
    fn signatures() -> Vec<ArrowFunctionSignature> {
        pairs_signature()
    }
}
