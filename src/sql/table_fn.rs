//! The plumbing shared by robbench's table functions: declare a table's columns as the result,
//! then hand DuckDB one vector's worth of rows at a time from a RecordBatch built at bind time.

use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;
use duckdb::core::DataChunkHandle;
use duckdb::vtab::{record_batch_to_duckdb_data_chunk, to_duckdb_logical_type, BindInfo};

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

pub fn emit(batch: &RecordBatch, cursor: &Cursor, output: &mut DataChunkHandle) -> Result<(), BoxError> {
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

/// A named VARCHAR option, or its default.
pub fn named_str(bind: &BindInfo, name: &str) -> Option<String> {
    bind.get_named_parameter(name).filter(|v| !v.is_null()).map(|v| v.to_string())
}
