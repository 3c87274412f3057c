//! `history()`: the benchmark's commits over all its tables (see `store::history`).

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMillisecondArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use duckdb::vtab::BindInfo;

use super::params;
use super::table_fn::ComputeRows;
use crate::store::Store;

/// The `history()` table function.
pub struct History;

fn schema() -> Schema {
    let text = |n: &str| Field::new(n, DataType::Utf8, true);
    Schema::new(vec![
        Field::new("version", DataType::UInt64, false),
        Field::new("time", DataType::Timestamp(TimeUnit::Millisecond, None), false),
        text("table_name"),
        Field::new("table_version", DataType::Int64, false),
        text("operation"),
        Field::new("rows_added", DataType::Int64, true),
        Field::new("rows_removed", DataType::Int64, true),
        text("host"),
        text("job"),
        text("task"),
        text("robbench_version"),
        text("statement"),
    ])
}

fn rows(store: &Store) -> anyhow::Result<RecordBatch> {
    let defs: Vec<_> = store.defs().cloned().collect();
    let commits = crate::store::history::commits(&store.dir, &defs)?;
    let commits: Vec<_> = match store.as_of_version() {
        Some(last) => commits.into_iter().filter(|c| c.version <= last).collect(),
        None => commits,
    };
    let text = |f: &dyn Fn(&crate::store::history::Commit) -> Option<String>| -> ArrayRef {
        Arc::new(commits.iter().map(f).collect::<StringArray>())
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(commits.iter().map(|c| c.version).collect::<UInt64Array>()),
        Arc::new(TimestampMillisecondArray::from(
            commits.iter().map(|c| c.timestamp).collect::<Vec<_>>(),
        )),
        text(&|c| Some(c.table.to_string())),
        Arc::new(commits.iter().map(|c| c.table_version).collect::<Int64Array>()),
        text(&|c| Some(c.operation.clone())),
        Arc::new(commits.iter().map(|c| c.rows_added).collect::<Int64Array>()),
        Arc::new(commits.iter().map(|c| c.rows_removed).collect::<Int64Array>()),
        text(&|c| c.host.clone()),
        text(&|c| c.job.clone()),
        text(&|c| c.task.clone()),
        text(&|c| c.robbench_version.clone()),
        text(&|c| c.statement.clone()),
    ];
    Ok(RecordBatch::try_new(Arc::new(schema()), columns)?)
}

impl ComputeRows for History {
    type Context = Arc<Store>;
    type Bind = Arc<Store>;
    const FUNCTION: &'static params::Function = &params::HISTORY;

    fn bind(_: &BindInfo, store: &Arc<Store>) -> anyhow::Result<Arc<Store>> {
        Ok(store.clone())
    }

    fn schema(_: &Arc<Store>) -> anyhow::Result<SchemaRef> {
        Ok(Arc::new(schema()))
    }

    fn compute(store: &Arc<Store>) -> anyhow::Result<RecordBatch> {
        rows(store)
    }
}
