//! Primary keys across a table's files. Delta Lake has no uniqueness constraint, so robbench
//! checks keys itself: the statistics of each file (in the log, and per row group in the
//! Parquet footer) are the index. A file whose key range holds none of the keys sought is not
//! opened; one that might is read only in its key columns and only in the row groups whose range
//! might. Files of single runs have a one-key range and compacted files are sorted by key, so a
//! look-up opens a bounded number of files whatever the table holds.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, Result};
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection};
use parquet::arrow::ProjectionMask;
use parquet::file::statistics::Statistics;
use serde_json::Value;

use super::files::DataFile;
use super::table::TableDef;

/// One key column's value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyPart {
    Null,
    Int(i64),
    Str(String),
    /// A DOUBLE key column (`standard.eps`), by its bits: keys are equal when the values are.
    Float(u64),
}

impl std::fmt::Display for KeyPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyPart::Null => write!(f, "NULL"),
            KeyPart::Int(i) => write!(f, "{i}"),
            KeyPart::Str(s) => write!(f, "{s}"),
            KeyPart::Float(bits) => write!(f, "{}", f64::from_bits(*bits)),
        }
    }
}

pub type Key = Vec<KeyPart>;

fn part(column: &ArrayRef, row: usize) -> KeyPart {
    if column.is_null(row) {
        return KeyPart::Null;
    }
    match column.data_type() {
        DataType::Int32 => KeyPart::Int(column.as_primitive::<Int32Type>().value(row) as i64),
        DataType::Int64 => KeyPart::Int(column.as_primitive::<Int64Type>().value(row)),
        DataType::Utf8 => KeyPart::Str(column.as_string::<i32>().value(row).to_string()),
        // +0.0 for -0.0, so the two zeros are one key as they are one value.
        DataType::Float64 => {
            KeyPart::Float((column.as_primitive::<Float64Type>().value(row) + 0.0).to_bits())
        }
        other => KeyPart::Str(format!("<{other}>")),
    }
}

/// The key of every row of `batch`, in the columns at `key`.
pub fn of_batch(batch: &RecordBatch, key: &[usize]) -> Vec<Key> {
    (0..batch.num_rows())
        .map(|row| key.iter().map(|&c| part(batch.column(c), row)).collect())
        .collect()
}

/// How DuckDB words a duplicate key, so robbench's own check reads the same.
pub fn duplicate_message(def: &TableDef, key: &Key) -> String {
    let names: Vec<&str> = def.key.iter().map(|&i| def.columns[i].name.as_str()).collect();
    let values: Vec<String> = key.iter().map(|k| k.to_string()).collect();
    format!(
        "Constraint Error: Duplicate key \"{}: {}\" violates primary key constraint (in benchmark table {})",
        names.join(", "),
        values.join(", "),
        def.name
    )
}

/// Whether a file's range of the first key column, per its log statistics, may hold `first`.
fn may_hold(stats: Option<&Value>, column: &str, firsts: &[&KeyPart]) -> bool {
    let Some(stats) = stats else { return true };
    let (Some(lo), Some(hi)) = (stats["minValues"].get(column), stats["maxValues"].get(column))
    else {
        return true;
    };
    firsts.iter().any(|k| match k {
        KeyPart::Int(i) => match (lo.as_i64(), hi.as_i64()) {
            (Some(lo), Some(hi)) => lo <= *i && *i <= hi,
            _ => true,
        },
        KeyPart::Str(s) => match (lo.as_str(), hi.as_str()) {
            (Some(lo), Some(hi)) => lo <= s.as_str() && s.as_str() <= hi,
            _ => true,
        },
        KeyPart::Null | KeyPart::Float(_) => true,
    })
}

fn group_may_hold(stats: Option<&Statistics>, firsts: &[&KeyPart]) -> bool {
    match stats {
        Some(Statistics::Int32(s)) => match (s.min_opt(), s.max_opt()) {
            (Some(lo), Some(hi)) => firsts.iter().any(|k| {
                matches!(k, KeyPart::Int(i) if *lo as i64 <= *i && *i <= *hi as i64)
                    || matches!(k, KeyPart::Null)
            }),
            _ => true,
        },
        Some(Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
            (Some(lo), Some(hi)) => firsts.iter().any(|k| {
                matches!(k, KeyPart::Int(i) if lo <= i && i <= hi) || matches!(k, KeyPart::Null)
            }),
            _ => true,
        },
        Some(Statistics::ByteArray(s)) => match (s.min_bytes_opt(), s.max_bytes_opt()) {
            (Some(lo), Some(hi)) => firsts.iter().any(|k| match k {
                KeyPart::Str(v) => lo <= v.as_bytes() && v.as_bytes() <= hi,
                _ => true,
            }),
            _ => true,
        },
        _ => true,
    }
}

/// For each file of `files` (in the table folder `dir`) that holds some of `keys`, the keys it
/// holds, with the row positions (in the file) where they lie.
pub fn find(
    def: &TableDef,
    dir: &Path,
    files: &[DataFile],
    keys: &HashSet<Key>,
) -> Result<HashMap<String, Vec<(Key, usize)>>> {
    let mut found = HashMap::new();
    if def.key.is_empty() || keys.is_empty() {
        return Ok(found);
    }
    let first_column = def.columns[def.key[0]].name.as_str();
    let firsts: Vec<&KeyPart> = {
        let set: HashSet<&KeyPart> = keys.iter().map(|k| &k[0]).collect();
        set.into_iter().collect()
    };
    for file in files {
        let stats = super::files::parse_stats(file.stats.as_deref());
        if !may_hold(stats.as_ref(), first_column, &firsts) {
            continue;
        }
        let path = dir.join(&file.path);
        let hits = find_in_file(def, &path, keys, &firsts)
            .with_context(|| format!("cannot look up keys in {}", path.display()))?;
        if !hits.is_empty() {
            found.insert(file.path.clone(), hits);
        }
    }
    Ok(found)
}

fn find_in_file(
    def: &TableDef,
    path: &Path,
    keys: &HashSet<Key>,
    firsts: &[&KeyPart],
) -> Result<Vec<(Key, usize)>> {
    let file = std::fs::File::open(path)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
    let names: Vec<&str> = def.key.iter().map(|&i| def.columns[i].name.as_str()).collect();
    let roots: Vec<usize> =
        names.iter().map(|n| builder.schema().index_of(n)).collect::<Result<_, _>>()?;
    let first_leaf =
        builder.parquet_schema().columns().iter().position(|c| c.path().parts()[0] == names[0]);
    // Row groups that may hold a key; the rows of the others are skipped without being read.
    let groups = builder.metadata().row_groups();
    let mut selectors = Vec::new();
    let mut offsets = Vec::new();
    let mut offset = 0usize;
    for g in groups {
        let stats = first_leaf.and_then(|leaf| g.column(leaf).statistics());
        let n = g.num_rows() as usize;
        if group_may_hold(stats, firsts) {
            selectors.push(parquet::arrow::arrow_reader::RowSelector::select(n));
            offsets.push(offset);
        } else {
            selectors.push(parquet::arrow::arrow_reader::RowSelector::skip(n));
        }
        offset += n;
    }
    if offsets.is_empty() {
        return Ok(Vec::new());
    }
    // Positions of the selected rows, in order, to report where a key lies in the file.
    let mut positions = Vec::new();
    let mut at = 0usize;
    for s in &selectors {
        if !s.skip {
            positions.extend(at..at + s.row_count);
        }
        at += s.row_count;
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
    // The projected batch has the key columns in file order; find each key column in it.
    let reader =
        builder.with_projection(mask).with_row_selection(RowSelection::from(selectors)).build()?;
    let mut hits = Vec::new();
    let mut row_index = 0usize;
    for batch in reader {
        let batch = batch?;
        let cols: Vec<usize> =
            names.iter().map(|n| batch.schema().index_of(n)).collect::<Result<_, _>>()?;
        for key in of_batch(&batch, &cols) {
            if keys.contains(&key) {
                hits.push((key, positions[row_index]));
            }
            row_index += 1;
        }
    }
    Ok(hits)
}
