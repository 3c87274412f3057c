//! The plumbing shared by robbench's table functions: declare a table's columns as the result,
//! then hand DuckDB one vector's worth of rows at a time from a RecordBatch built at bind time.

use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Result};
use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;
use duckdb::core::DataChunkHandle;
use duckdb::core::{LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{record_batch_to_duckdb_data_chunk, to_duckdb_logical_type, BindInfo, Value};
use robbench_space::Space;

pub type BoxError = Box<dyn Error>;

pub fn declare(bind: &BindInfo, schema: &Schema) -> Result<(), BoxError> {
    for f in schema.fields() {
        bind.add_result_column(f.name(), to_duckdb_logical_type(f.data_type())?);
    }
    Ok(())
}

#[derive(Default)]
pub struct Cursor {
    offset: AtomicUsize,
}

pub fn emit(
    batch: &RecordBatch,
    cursor: &Cursor,
    output: &mut DataChunkHandle,
) -> Result<(), BoxError> {
    // SAFETY: duckdb_vector_size takes nothing and returns a constant of the library.
    let vector = unsafe { duckdb::ffi::duckdb_vector_size() } as usize;
    let start = cursor.offset.fetch_add(vector, Ordering::SeqCst);
    if start >= batch.num_rows() {
        output.set_len(0);
        return Ok(());
    }
    let len = vector.min(batch.num_rows() - start);
    record_batch_to_duckdb_data_chunk(&batch.slice(start, len), output)?;
    output.set_len(len);
    Ok(())
}

/// Init data of a table function whose rows are computed once, at the first call, then handed
/// out a vector at a time (a failure is reported on every later call too).
#[derive(Default)]
pub struct Computed {
    cursor: Cursor,
    rows: std::sync::OnceLock<Result<RecordBatch, String>>,
}

impl Computed {
    pub fn emit(
        &self,
        output: &mut DataChunkHandle,
        compute: impl FnOnce() -> anyhow::Result<RecordBatch>,
    ) -> Result<(), BoxError> {
        match self.rows.get_or_init(|| compute().map_err(|e| format!("{e:#}"))) {
            Ok(batch) => emit(batch, &self.cursor, output),
            Err(e) => Err(e.clone().into()),
        }
    }
}

/// A table function whose rows are all computed at bind time, from its arguments (an import, a
/// surrogate's predictions): the function is `Rows<Self>`, which declares the batch's columns and
/// hands it out a vector at a time.
pub trait BindRows: 'static {
    /// The positional parameters.
    fn parameters() -> Vec<LogicalTypeHandle> {
        Vec::new()
    }
    fn named_parameters() -> Vec<(String, LogicalTypeHandle)>;
    fn rows(bind: &BindInfo) -> Result<RecordBatch>;
}

pub struct Rows<T>(std::marker::PhantomData<T>);

impl<T: BindRows> duckdb::vtab::VTab for Rows<T> {
    type BindData = RecordBatch;
    type InitData = Cursor;
    fn bind(bind: &BindInfo) -> Result<RecordBatch, BoxError> {
        let batch = T::rows(bind).map_err(|e| format!("{e:#}"))?;
        declare(bind, &batch.schema())?;
        Ok(batch)
    }
    fn init(_: &duckdb::vtab::InitInfo) -> Result<Cursor, BoxError> {
        Ok(Cursor::default())
    }
    fn func(
        func: &duckdb::vtab::TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), BoxError> {
        emit(func.get_bind_data(), func.get_init_data(), output)
    }
    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(T::parameters())
    }
    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        Some(T::named_parameters())
    }
}

/// The ANY type, which `arch` needs (an id, a cell string or a list of ids).
pub fn any_type() -> LogicalTypeHandle {
    LogicalTypeHandle::from(LogicalTypeId::Any)
}

pub fn archs(v: &Value) -> Result<Vec<i64>> {
    let space = Space::get();
    match v.logical_type_id() {
        LogicalTypeId::List => {
            v.to_list().unwrap_or_default().iter().map(|x| archs(x).map(|a| a[0])).collect()
        }
        LogicalTypeId::Varchar => Ok(vec![space.resolve(&v.to_string())? as i64]),
        LogicalTypeId::Tinyint
        | LogicalTypeId::Smallint
        | LogicalTypeId::Integer
        | LogicalTypeId::Bigint
        | LogicalTypeId::UTinyint
        | LogicalTypeId::USmallint
        | LogicalTypeId::UInteger
        | LogicalTypeId::UBigint
        | LogicalTypeId::Hugeint => {
            let id = v.to_int64();
            space.check(id)?;
            Ok(vec![id])
        }
        other => bail!("arch must be an id, a cell string or a list of ids, not {other:?}"),
    }
}

pub fn opt_i64(bind: &BindInfo, name: &str) -> Option<i64> {
    bind.get_named_parameter(name).filter(|v| !v.is_null()).map(|v| v.to_int64())
}

pub fn opt_f64(bind: &BindInfo, name: &str) -> Result<Option<f64>> {
    match bind.get_named_parameter(name).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(v) => {
            let x = v.to_double();
            if !x.is_finite() {
                bail!("{name} := {v}: not a finite number");
            }
            Ok(Some(x))
        }
    }
}

pub fn opt_bool(bind: &BindInfo, name: &str) -> Option<bool> {
    bind.get_named_parameter(name).filter(|v| !v.is_null()).map(|v| v.to_string() == "true")
}

pub fn opt_str(bind: &BindInfo, name: &str) -> Option<String> {
    bind.get_named_parameter(name).filter(|v| !v.is_null()).map(|v| v.to_string())
}
