//! Search-space functions: `arch_str`, `arch_id`, `arch_uid`, and `nb201_architectures()`, the
//! rows of the architectures table.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, AsArray, BooleanArray, Float64Array, Int32Array, Int64Array, ListBuilder,
    StringArray, StringBuilder,
};
use arrow::datatypes::{DataType, Int64Type};
use arrow::record_batch::RecordBatch;
use duckdb::vscalar::{ArrowFunctionSignature, VArrowScalar};
use duckdb::vtab::BindInfo;
use robbench_space::{self as space, Op, Space};

use super::table_fn::{BindRows, BoxError};

fn int_input(col: &ArrayRef) -> Result<Int64Array, BoxError> {
    Ok(arrow::compute::cast(col, &DataType::Int64)?.as_primitive::<Int64Type>().clone())
}

/// `arch_str(arch)`: the cell string of an index.
pub struct ArchStr;
impl VArrowScalar for ArchStr {
    type State = ();
    fn invoke(_: &(), input: RecordBatch) -> Result<ArrayRef, BoxError> {
        let space = Space::get();
        let ids = int_input(input.column(0))?;
        let out = ids
            .iter()
            .map(|id| id.map(|i| space.cell(i).map(|c| c.to_string())).transpose())
            .collect::<Result<StringArray, _>>()?;
        Ok(Arc::new(out))
    }
    fn signatures() -> Vec<ArrowFunctionSignature> {
        vec![ArrowFunctionSignature::exact(vec![DataType::Int64], DataType::Utf8)]
    }
}

/// `arch_id(arch_str)`: the index of a cell string.
pub struct ArchId;
impl VArrowScalar for ArchId {
    type State = ();
    fn invoke(_: &(), input: RecordBatch) -> Result<ArrayRef, BoxError> {
        let space = Space::get();
        let strs = input.column(0).as_string::<i32>();
        let out = strs
            .iter()
            .map(|s| s.map(|s| space.index_of(s).map(|i| i as i32)).transpose())
            .collect::<Result<Int32Array, _>>()?;
        Ok(Arc::new(out))
    }
    fn signatures() -> Vec<ArrowFunctionSignature> {
        vec![ArrowFunctionSignature::exact(vec![DataType::Utf8], DataType::Int32)]
    }
}

/// `arch_uid(arch or arch_str)`: the smallest index of the isomorphism class.
pub struct ArchUid;
impl VArrowScalar for ArchUid {
    type State = ();
    fn invoke(_: &(), input: RecordBatch) -> Result<ArrayRef, BoxError> {
        let space = Space::get();
        let col = input.column(0);
        let out: Int32Array = if col.data_type() == &DataType::Utf8 {
            col.as_string::<i32>()
                .iter()
                .map(|s| {
                    s.map(|s| space.index_of(s).and_then(|i| space.uid(i as i64)).map(|u| u as i32))
                        .transpose()
                })
                .collect::<Result<_, _>>()?
        } else {
            int_input(col)?
                .iter()
                .map(|i| i.map(|i| space.uid(i).map(|u| u as i32)).transpose())
                .collect::<Result<_, _>>()?
        };
        Ok(Arc::new(out))
    }
    fn signatures() -> Vec<ArrowFunctionSignature> {
        vec![
            ArrowFunctionSignature::exact(vec![DataType::Int64], DataType::Int32),
            ArrowFunctionSignature::exact(vec![DataType::Utf8], DataType::Int32),
        ]
    }
}

/// All 15,625 rows of the architectures table, in its column order.
pub fn architectures_batch() -> Result<RecordBatch, BoxError> {
    let space = Space::get();
    let n = space.len();
    let cells: Vec<_> = (0..n).map(|i| space.cell(i as i64)).collect::<Result<_, _>>()?;
    let ints = |f: &dyn Fn(usize) -> i64| {
        Arc::new(Int32Array::from_iter_values((0..n).map(|i| f(i) as i32))) as ArrayRef
    };
    let mut ops = ListBuilder::new(StringBuilder::new());
    for c in &cells {
        for op in c.ops() {
            ops.values().append_value(op.name());
        }
        ops.append(true);
    }
    let shapes = [space::CIFAR10, space::CIFAR100, space::IMAGENET16];
    let mut columns: Vec<(&str, ArrayRef)> = vec![
        ("arch", ints(&|i| i as i64)),
        ("arch_str", Arc::new(StringArray::from_iter_values(cells.iter().map(|c| c.to_string())))),
        ("uid", ints(&|i| space.uid(i as i64).unwrap() as i64)),
        (
            "is_unique",
            Arc::new(BooleanArray::from_iter(
                (0..n).map(|i| Some(space.uid(i as i64).unwrap() == i)),
            )),
        ),
        ("ops", Arc::new(ops.finish())),
    ];
    for (name, op) in [
        ("n_none", Op::None),
        ("n_skip", Op::SkipConnect),
        ("n_conv1x1", Op::Conv1x1),
        ("n_conv3x3", Op::Conv3x3),
        ("n_pool", Op::AvgPool3x3),
    ] {
        columns.push((name, ints(&|i| cells[i].count(op) as i64)));
    }
    for (name, shape) in
        ["params_cifar10", "params_cifar100", "params_imagenet16"].into_iter().zip(shapes)
    {
        columns.push((
            name,
            Arc::new(Int64Array::from_iter_values(
                cells.iter().map(|c| space::params(c, shape) as i64),
            )),
        ));
    }
    for (name, shape) in
        ["flops_cifar10", "flops_cifar100", "flops_imagenet16"].into_iter().zip(shapes)
    {
        columns.push((
            name,
            Arc::new(Float64Array::from_iter_values(cells.iter().map(|c| space::mflops(c, shape)))),
        ));
    }
    Ok(RecordBatch::try_from_iter(columns)?)
}

pub struct Architectures;

impl BindRows for Architectures {
    type Context = ();

    fn rows(_: &BindInfo, _: &()) -> anyhow::Result<RecordBatch> {
        architectures_batch().map_err(|e| anyhow::anyhow!("nb201_architectures: {e}"))
    }
}
