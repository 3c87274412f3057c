//! `read_nasrobbench201(path, target := 'metrics' | 'runs')` and
//! `read_robustness_dataset(dir, target := ...)`: a published release as rows of a benchmark
//! table, ready for `INSERT INTO metrics FROM read_nasrobbench201('file')`.

use std::path::Path;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};

use super::table_fn::{declare, emit, opt_str, BoxError, Cursor};
use crate::import::{self, Imported};
use crate::store::{rows, Store};

fn bind_import(
    bind: &BindInfo,
    read: fn(&Path) -> anyhow::Result<Imported>,
) -> Result<RecordBatch, BoxError> {
    // SAFETY: registered with an Arc<Store> as extra info (sql::register_bench), which DuckDB
    // keeps alive as long as the function.
    let catalog = unsafe { &*bind.get_extra_info::<Arc<Store>>() };
    let path = bind.get_parameter(0).to_string();
    let target = opt_str(bind, "target").unwrap_or_else(|| "metrics".into());
    let imported = read(Path::new(&path)).map_err(|e| format!("{e:#}"))?;
    let rows = match target.as_str() {
        "metrics" => &imported.metrics,
        "runs" => &imported.runs,
        other => return Err(format!("target := '{other}': expected 'metrics' or 'runs'").into()),
    };
    let schema = catalog.schema(&target)?;
    let batch = rows::to_batch(&schema, rows)?;
    declare(bind, &schema)?;
    Ok(batch)
}

fn params() -> Option<Vec<LogicalTypeHandle>> {
    Some(vec![LogicalTypeHandle::from(LogicalTypeId::Varchar)])
}

fn named() -> Option<Vec<(String, LogicalTypeHandle)>> {
    Some(vec![("target".to_string(), LogicalTypeHandle::from(LogicalTypeId::Varchar))])
}

pub struct ReadNasRobBench201;
impl VTab for ReadNasRobBench201 {
    type BindData = RecordBatch;
    type InitData = Cursor;
    fn bind(bind: &BindInfo) -> Result<RecordBatch, BoxError> {
        bind_import(bind, import::nasrobbench201::read)
    }
    fn init(_: &InitInfo) -> Result<Cursor, BoxError> {
        Ok(Cursor::default())
    }
    fn func(func: &TableFunctionInfo<Self>, output: &mut DataChunkHandle) -> Result<(), BoxError> {
        emit(func.get_bind_data(), func.get_init_data(), output)
    }
    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        params()
    }
    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        named()
    }
}

pub struct ReadRobustnessDataset;
impl VTab for ReadRobustnessDataset {
    type BindData = RecordBatch;
    type InitData = Cursor;
    fn bind(bind: &BindInfo) -> Result<RecordBatch, BoxError> {
        bind_import(bind, import::robustness::read)
    }
    fn init(_: &InitInfo) -> Result<Cursor, BoxError> {
        Ok(Cursor::default())
    }
    fn func(func: &TableFunctionInfo<Self>, output: &mut DataChunkHandle) -> Result<(), BoxError> {
        emit(func.get_bind_data(), func.get_init_data(), output)
    }
    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        params()
    }
    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        named()
    }
}
