//! Output modes, named as in the DuckDB shell: table (boxed, what a terminal gets), csv (what a
//! pipe gets), json, jsonl, markdown, line.

use std::io::Write;
use std::str::FromStr;

use anyhow::Result;
use arrow::array::Array;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use comfy_table::{presets, CellAlignment, ContentArrangement, Table};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Table,
    Csv,
    Json,
    Jsonl,
    Markdown,
    Line,
}

impl Mode {
    pub const ALL: [Mode; 6] =
        [Mode::Table, Mode::Csv, Mode::Json, Mode::Jsonl, Mode::Markdown, Mode::Line];

    pub fn name(self) -> &'static str {
        self.names()[0]
    }

    /// What `.mode` and `--mode` accept (the first is the name; the others are the DuckDB
    /// shell's words for it).
    fn names(self) -> &'static [&'static str] {
        match self {
            Mode::Table => &["table", "box", "duckbox"],
            Mode::Csv => &["csv"],
            Mode::Json => &["json"],
            Mode::Jsonl => &["jsonl", "ndjson"],
            Mode::Markdown => &["markdown"],
            Mode::Line => &["line"],
        }
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        Mode::ALL.into_iter().find(|m| m.names().contains(&s)).ok_or_else(|| {
            let names: Vec<&str> = Mode::ALL.iter().map(|m| m.name()).collect();
            format!("unknown mode '{s}' ({})", names.join(", "))
        })
    }
}

/// Rows a table shows before it elides the middle, as the DuckDB shell does.
const MAX_TABLE_ROWS: usize = 40;

pub fn print(
    out: &mut dyn Write,
    mode: Mode,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<()> {
    match mode {
        Mode::Table => {
            table(out, schema, batches, presets::UTF8_FULL_CONDENSED, true, MAX_TABLE_ROWS)
        }
        // Markdown is for documents: every row, as the DuckDB shell prints it.
        Mode::Markdown => table(out, schema, batches, presets::ASCII_MARKDOWN, false, usize::MAX),
        Mode::Csv => {
            let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(&mut *out);
            if batches.is_empty() {
                w.write(&flat(&RecordBatch::new_empty(schema.clone()))?)?;
            }
            for b in batches {
                w.write(&flat(b)?)?;
            }
            Ok(())
        }
        Mode::Json => {
            let mut w = arrow::json::ArrayWriter::new(&mut *out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
            if batches.iter().all(|b| b.num_rows() == 0) {
                write!(out, "[]")?;
            }
            writeln!(out)?;
            Ok(())
        }
        Mode::Jsonl => {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut *out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
            Ok(())
        }
        Mode::Line => line(out, schema, batches),
    }
}

/// CSV has no nested values: lists and structs are written as their text, as DuckDB does.
fn flat(batch: &RecordBatch) -> Result<RecordBatch> {
    if !batch.schema().fields().iter().any(|f| f.data_type().is_nested()) {
        return Ok(batch.clone());
    }
    let opts = FormatOptions::default();
    let mut fields = Vec::new();
    let mut cols: Vec<arrow::array::ArrayRef> = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        if f.data_type().is_nested() {
            let fmt = ArrayFormatter::try_new(c.as_ref(), &opts)?;
            let text: arrow::array::StringArray =
                (0..c.len()).map(|i| c.is_valid(i).then(|| fmt.value(i).to_string())).collect();
            fields.push(arrow::datatypes::Field::new(f.name(), DataType::Utf8, true));
            cols.push(std::sync::Arc::new(text));
        } else {
            fields.push(f.as_ref().clone());
            cols.push(c.clone());
        }
    }
    Ok(RecordBatch::try_new(std::sync::Arc::new(arrow::datatypes::Schema::new(fields)), cols)?)
}

/// SQL type names for the header, as a DuckDB user reads them.
fn sql_type(dt: &DataType) -> String {
    match dt {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 => "UTINYINT".into(),
        DataType::UInt16 => "USMALLINT".into(),
        DataType::UInt32 => "UINTEGER".into(),
        DataType::UInt64 => "UBIGINT".into(),
        DataType::Float32 => "FLOAT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
        DataType::Date32 => "DATE".into(),
        DataType::Timestamp(..) => "TIMESTAMP".into(),
        DataType::Decimal128(p, s) => format!("DECIMAL({p},{s})"),
        DataType::List(f) | DataType::LargeList(f) => format!("{}[]", sql_type(f.data_type())),
        other => other.to_string(),
    }
}

fn is_numeric(dt: &DataType) -> bool {
    dt.is_numeric()
}

fn formatters<'a>(
    batch: &'a RecordBatch,
    opts: &'a FormatOptions<'a>,
) -> Result<Vec<ArrayFormatter<'a>>> {
    Ok(batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), opts))
        .collect::<Result<_, _>>()?)
}

fn table(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    preset: &str,
    types: bool,
    max_rows: usize,
) -> Result<()> {
    let opts = FormatOptions::default().with_null("NULL");
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut t = Table::new();
    t.load_preset(preset).set_content_arrangement(ContentArrangement::Disabled);
    t.set_header(schema.fields().iter().map(|f| {
        if types {
            format!("{}\n{}", f.name(), sql_type(f.data_type()))
        } else {
            f.name().to_string()
        }
    }));
    let shown_head = if total > max_rows { max_rows / 2 } else { total };
    let tail_from = if total > max_rows { total - max_rows / 2 } else { total };
    let mut row_no = 0;
    for b in batches {
        let fmts = formatters(b, &opts)?;
        for r in 0..b.num_rows() {
            if row_no < shown_head || row_no >= tail_from {
                t.add_row(fmts.iter().map(|f| f.value(r).to_string()));
            } else if row_no == shown_head {
                t.add_row(schema.fields().iter().map(|_| "·".to_string()));
            }
            row_no += 1;
        }
    }
    for (i, f) in schema.fields().iter().enumerate() {
        if is_numeric(f.data_type()) {
            if let Some(col) = t.column_mut(i) {
                col.set_cell_alignment(CellAlignment::Right);
            }
        }
    }
    writeln!(out, "{t}")?;
    if total > max_rows {
        writeln!(out, "{total} rows ({max_rows} shown)")?;
    }
    Ok(())
}

fn line(out: &mut dyn Write, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<()> {
    let opts = FormatOptions::default().with_null("NULL");
    let width = schema.fields().iter().map(|f| f.name().chars().count()).max().unwrap_or(0);
    let mut first = true;
    for b in batches {
        let fmts = formatters(b, &opts)?;
        for r in 0..b.num_rows() {
            if !first {
                writeln!(out)?;
            }
            first = false;
            for (f, fmt) in schema.fields().iter().zip(&fmts) {
                writeln!(out, "{:>width$} = {}", f.name(), fmt.value(r))?;
            }
        }
    }
    Ok(())
}
