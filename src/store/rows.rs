//! Rows built by name against a table's schema, so producers (importers, `train`) never depend
//! on column order: columns a row does not set are NULL.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{bail, Result};
use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, ListBuilder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    StrList(Vec<String>),
    /// Microseconds since the Unix epoch.
    Timestamp(i64),
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Int(v)
    }
}
impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::Int(v as i64)
    }
}
impl From<usize> for Val {
    fn from(v: usize) -> Val {
        Val::Int(v as i64)
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::Float(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Val {
        Val::Bool(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Str(v.to_string())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::Str(v)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Val {
        v.map(Into::into).unwrap_or(Val::Null)
    }
}

#[derive(Default, Clone, Debug)]
pub struct Row(pub Vec<(&'static str, Val)>);

impl Row {
    pub fn new() -> Row {
        Row::default()
    }

    pub fn set(mut self, column: &'static str, v: impl Into<Val>) -> Row {
        self.0.push((column, v.into()));
        self
    }

    pub fn get(&self, column: &str) -> Option<&Val> {
        self.0.iter().rev().find(|(c, _)| *c == column).map(|(_, v)| v)
    }
}

/// Builds one RecordBatch in `schema`'s column order; a row naming a column the table does not
/// have is an error (a typo would otherwise silently drop data).
pub fn to_batch(schema: &SchemaRef, rows: &[Row]) -> Result<RecordBatch> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, f) in schema.fields().iter().enumerate() {
        index.insert(f.name().as_str(), i);
    }
    let mut cells: Vec<Vec<&Val>> = vec![Vec::with_capacity(rows.len()); schema.fields().len()];
    const NULL: Val = Val::Null;
    for row in rows {
        let mut this: Vec<&Val> = vec![&NULL; schema.fields().len()];
        for (col, v) in &row.0 {
            match index.get(col) {
                Some(&i) => this[i] = v,
                None => bail!("internal: no column '{col}' in this table"),
            }
        }
        for (i, v) in this.into_iter().enumerate() {
            cells[i].push(v);
        }
    }
    let columns = schema
        .fields()
        .iter()
        .zip(cells)
        .map(|(f, vals)| column(f.name(), f.data_type(), &vals))
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

fn column(name: &str, dt: &DataType, vals: &[&Val]) -> Result<ArrayRef> {
    let mismatch = |v: &Val| anyhow::anyhow!("internal: column {name} ({dt}) cannot hold {v:?}");
    Ok(match dt {
        DataType::Int32 => {
            let mut b = Int32Builder::new();
            for v in vals {
                match v {
                    Val::Null => b.append_null(),
                    Val::Int(i) => b.append_value(i32::try_from(*i).map_err(|_| mismatch(v))?),
                    _ => return Err(mismatch(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Int64 => {
            let mut b = Int64Builder::new();
            for v in vals {
                match v {
                    Val::Null => b.append_null(),
                    Val::Int(i) => b.append_value(*i),
                    _ => return Err(mismatch(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Float64 => {
            let mut b = Float64Builder::new();
            for v in vals {
                match v {
                    Val::Null => b.append_null(),
                    Val::Float(x) => b.append_value(*x),
                    Val::Int(i) => b.append_value(*i as f64),
                    _ => return Err(mismatch(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Utf8 => {
            let mut b = StringBuilder::new();
            for v in vals {
                match v {
                    Val::Null => b.append_null(),
                    Val::Str(s) => b.append_value(s),
                    _ => return Err(mismatch(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Boolean => {
            let mut b = BooleanBuilder::new();
            for v in vals {
                match v {
                    Val::Null => b.append_null(),
                    Val::Bool(x) => b.append_value(*x),
                    _ => return Err(mismatch(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Timestamp(TimeUnit::Microsecond, None) => {
            let mut b = TimestampMicrosecondBuilder::new();
            for v in vals {
                match v {
                    Val::Null => b.append_null(),
                    Val::Timestamp(t) => b.append_value(*t),
                    _ => return Err(mismatch(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::List(field) if field.data_type() == &DataType::Utf8 => {
            let mut b = ListBuilder::new(StringBuilder::new()).with_field(field.clone());
            for v in vals {
                match v {
                    Val::Null => b.append_null(),
                    Val::StrList(items) => {
                        for s in items {
                            b.values().append_value(s);
                        }
                        b.append(true);
                    }
                    _ => return Err(mismatch(v)),
                }
            }
            Arc::new(b.finish())
        }
        other => anyhow::bail!("internal: column {name} has unsupported type {other}"),
    })
}

/// Microseconds since the Unix epoch, now.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}
