//! A table's data files: Parquet written by robbench (arrow 58, the Arrow of DuckDB), each
//! described to the Delta log by its path, size and statistics, and read back in the table's
//! current schema.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use robbench_vocab::durable;
use serde_json::{json, Map, Value};

/// Rows per row group: small enough that a key look-up in a large sorted file reads one group.
const ROW_GROUP_ROWS: usize = 65_536;

/// A data file as the log describes it.
#[derive(Clone, Debug)]
pub struct DataFile {
    /// Relative to the table's folder.
    pub path: String,
    pub size: i64,
    pub rows: i64,
    /// Delta's statistics JSON (numRecords, minValues, maxValues, nullCount).
    pub stats: Option<String>,
}

/// A file name no other writer, on this machine or another, will choose.
fn unique_name() -> String {
    use rand::RngCore;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let random = rand::thread_rng().next_u64();
    format!("part-{nanos:x}-{random:016x}.snappy.parquet")
}

/// Writes `batches` (in `schema`) as one new data file of the table folder `dir`, durably.
pub fn write(dir: &Path, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<DataFile> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = unique_name();
    let path = dir.join(&name);
    durable::write_with(&path, |file| {
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
        for b in batches {
            writer.write(b)?;
        }
        writer.close()?;
        Ok(())
    })?;
    let size =
        fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?.len();
    let rows = batches.iter().map(|b| b.num_rows() as i64).sum();
    Ok(DataFile { path: name, size: size as i64, rows, stats: Some(stats(schema, batches, rows)) })
}

/// Delta statistics of the rows: per column the null count, and the minimum and maximum for
/// numbers and strings (a double column with a NaN gets none, as Delta's writers do).
fn stats(schema: &SchemaRef, batches: &[RecordBatch], rows: i64) -> String {
    let mut min = Map::new();
    let mut max = Map::new();
    let mut nulls = Map::new();
    for (i, field) in schema.fields().iter().enumerate() {
        let columns: Vec<&ArrayRef> = batches.iter().map(|b| b.column(i)).collect();
        let null_count: usize = columns.iter().map(|c| c.null_count()).sum();
        if matches!(field.data_type(), DataType::List(_)) {
            continue; // Delta keeps no statistics of nested columns
        }
        nulls.insert(field.name().clone(), json!(null_count));
        if let Some((lo, hi)) = range(field.data_type(), &columns) {
            min.insert(field.name().clone(), lo);
            max.insert(field.name().clone(), hi);
        }
    }
    json!({"numRecords": rows, "minValues": min, "maxValues": max, "nullCount": nulls}).to_string()
}

fn range(dt: &DataType, columns: &[&ArrayRef]) -> Option<(Value, Value)> {
    fn fold<T: PartialOrd + Clone>(values: impl Iterator<Item = T>) -> Option<(T, T)> {
        values.fold(None, |acc, v| match acc {
            None => Some((v.clone(), v)),
            Some((lo, hi)) => {
                Some((if v < lo { v.clone() } else { lo }, if v > hi { v } else { hi }))
            }
        })
    }
    match dt {
        DataType::Int32 => {
            fold(columns.iter().flat_map(|c| c.as_primitive::<Int32Type>().iter().flatten()))
                .map(|(a, b)| (json!(a), json!(b)))
        }
        DataType::Int64 => {
            fold(columns.iter().flat_map(|c| c.as_primitive::<Int64Type>().iter().flatten()))
                .map(|(a, b)| (json!(a), json!(b)))
        }
        DataType::Float64 => {
            let values: Vec<f64> = columns
                .iter()
                .flat_map(|c| c.as_primitive::<Float64Type>().iter().flatten())
                .collect();
            if values.iter().any(|v| !v.is_finite()) {
                return None;
            }
            fold(values.into_iter()).map(|(a, b)| (json!(a), json!(b)))
        }
        DataType::Utf8 => fold(columns.iter().flat_map(|c| c.as_string::<i32>().iter().flatten()))
            .map(|(a, b)| (json!(a), json!(b))),
        _ => None,
    }
}

/// The statistics of a file as parsed JSON (None when the log has none).
pub fn parse_stats(stats: Option<&str>) -> Option<Value> {
    stats.and_then(|s| serde_json::from_str(s).ok())
}

/// Reads a whole data file in the table's schema `schema`: a column the file lacks (it was
/// written before the column existed) reads as NULL; other types are cast to the current one.
pub fn read(path: &Path, schema: &SchemaRef) -> Result<Vec<RecordBatch>> {
    let file = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{}: not Parquet", path.display()))?
        .build()?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.with_context(|| format!("cannot read {}", path.display()))?;
        out.push(conform(&batch, schema)?);
    }
    Ok(out)
}

/// `batch` in `schema`, matching columns by name.
pub fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    if batch.schema() == *schema {
        return Ok(batch.clone());
    }
    let by_name: HashMap<&str, usize> = batch
        .schema_ref()
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name().as_str(), i))
        .collect();
    let columns = schema
        .fields()
        .iter()
        .map(|f| match by_name.get(f.name().as_str()) {
            Some(&i) if batch.column(i).data_type() == f.data_type() => Ok(batch.column(i).clone()),
            Some(&i) => Ok(arrow::compute::cast(batch.column(i), f.data_type())?),
            None => Ok(arrow::array::new_null_array(f.data_type(), batch.num_rows())),
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

/// `batches` as one batch in `schema`.
pub fn concat(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<RecordBatch> {
    let conformed: Vec<RecordBatch> =
        batches.iter().map(|b| conform(b, schema)).collect::<Result<_>>()?;
    Ok(arrow::compute::concat_batches(schema, &conformed)?)
}

/// The rows of `batch` whose `keep` is true.
pub fn filter_rows(batch: &RecordBatch, keep: &[bool]) -> Result<RecordBatch> {
    let mask = arrow::array::BooleanArray::from(keep.to_vec());
    Ok(arrow::compute::filter_record_batch(batch, &mask)?)
}

/// `batch` sorted by the columns at `by`.
pub fn sort(batch: &RecordBatch, by: &[usize]) -> Result<RecordBatch> {
    let columns: Vec<arrow::compute::SortColumn> = by
        .iter()
        .map(|&i| arrow::compute::SortColumn { values: batch.column(i).clone(), options: None })
        .collect();
    let indices = arrow::compute::lexsort_to_indices(&columns, None)?;
    Ok(arrow::compute::take_record_batch(batch, &indices)?)
}

/// A copy of the data file `file` of table folder `dir` without the rows at `drop` (None: no
/// row is left).
pub fn without_rows(
    dir: &Path,
    schema: &SchemaRef,
    file: &DataFile,
    drop: &std::collections::HashSet<usize>,
) -> Result<Option<DataFile>> {
    let batch = concat(schema, &read(&dir.join(&file.path), schema)?)?;
    let keep: Vec<bool> = (0..batch.num_rows()).map(|i| !drop.contains(&i)).collect();
    let kept = filter_rows(&batch, &keep)?;
    if kept.num_rows() == 0 {
        return Ok(None);
    }
    write(dir, schema, &[kept]).map(Some)
}

/// Removes files this process wrote and no commit references.
pub fn remove<'a>(dir: &Path, files: impl Iterator<Item = &'a DataFile>) {
    for f in files {
        let _ = fs::remove_file(dir.join(&f.path));
    }
}
