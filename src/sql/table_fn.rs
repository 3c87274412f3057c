//! The plumbing shared by robbench's table functions: declare a table's columns as the result,
//! then hand DuckDB one vector's worth of rows at a time from a RecordBatch built at bind time.

use std::error::Error;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context, Result};
use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use duckdb::core::DataChunkHandle;
use duckdb::core::{LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{record_batch_to_duckdb_data_chunk, to_duckdb_logical_type};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab, Value};
use duckdb::Connection;
use robbench_space::Space;

use super::params;

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

/// How a table function's error reaches the user: named by the function, once, here, so that the
/// code that refuses an argument or fails a run states only the cause (and a helper shared by
/// several functions names the one that was called).
pub fn refusal(function: &params::Function, e: &anyhow::Error) -> String {
    format!("{}: {e:#}", function.name)
}

/// The value a table function was registered with. Only `register`, `register_rows` and
/// `register_streaming` set it, each with the `Context` type its trait names, which is what makes
/// the cast sound.
fn context<C: 'static>(bind: &BindInfo) -> &C {
    // SAFETY: see above; DuckDB keeps the extra info alive as long as the function.
    unsafe { &*bind.get_extra_info::<C>() }
}

/// A table function whose rows come from one computation (a worker run, a search): `bind` reads
/// the arguments and the columns are declared from `schema`; `compute` runs once, at the first
/// call, so that DuckDB has planned the statement (and a Ctrl-C can reach it) before the work
/// starts; its rows are then handed out a vector at a time, and a failure is reported on every
/// later call too. The function DuckDB sees is `Computing<Self>`, registered by `register`.
pub trait ComputeRows: 'static {
    /// What the function is registered with: the session's catalog, settings, connection.
    type Context: Clone + Send + Sync + 'static;
    type Bind: Send + Sync;
    /// The parameter table the function's name and parameters come from.
    const FUNCTION: &'static params::Function;
    fn bind(bind: &BindInfo, ctx: &Self::Context) -> Result<Self::Bind>;
    fn schema(bind: &Self::Bind) -> Result<SchemaRef>;
    fn compute(bind: &Self::Bind) -> Result<RecordBatch>;
}

pub struct Computing<T>(PhantomData<T>);

/// The init data of `Computing`: the rows, once computed, and how far they were handed out.
#[derive(Default)]
pub struct Computed {
    cursor: Cursor,
    rows: OnceLock<Result<RecordBatch, String>>,
}

impl<T: ComputeRows> VTab for Computing<T> {
    type BindData = T::Bind;
    type InitData = Computed;
    fn bind(bind: &BindInfo) -> Result<T::Bind, BoxError> {
        let refused = |e| refusal(T::FUNCTION, &e);
        let b = T::bind(bind, context(bind)).map_err(refused)?;
        let schema = T::schema(&b).map_err(refused)?;
        declare(bind, &schema)?;
        Ok(b)
    }
    fn init(_: &InitInfo) -> Result<Computed, BoxError> {
        Ok(Computed::default())
    }
    fn func(func: &TableFunctionInfo<Self>, output: &mut DataChunkHandle) -> Result<(), BoxError> {
        let init = func.get_init_data();
        let rows = init
            .rows
            .get_or_init(|| T::compute(func.get_bind_data()).map_err(|e| refusal(T::FUNCTION, &e)));
        match rows {
            Ok(batch) => emit(batch, &init.cursor, output),
            Err(e) => Err(e.clone().into()),
        }
    }
    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(T::FUNCTION.positional())
    }
    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        Some(T::FUNCTION.named_parameters())
    }
}

/// Registers `T` under its table's name, with the context its bind reads.
pub fn register<T: ComputeRows>(conn: &Connection, ctx: &T::Context) -> duckdb::Result<()> {
    conn.register_table_function_with_extra_info::<Computing<T>, _>(&T::FUNCTION.registered(), ctx)
}

/// A table function whose rows are all computed at bind time, from its arguments (an import, a
/// surrogate's predictions): the function is `Rows<Self>`, registered by `register_rows`, which
/// declares the batch's columns and hands it out a vector at a time.
pub trait BindRows: 'static {
    type Context: Clone + Send + Sync + 'static;
    /// The parameter table, where the function has one (a release reader's options come from
    /// its release instead).
    const FUNCTION: Option<&'static params::Function> = None;
    fn parameters() -> Vec<LogicalTypeHandle> {
        Self::FUNCTION.map(|f| f.positional()).unwrap_or_default()
    }
    fn named_parameters() -> Vec<(String, LogicalTypeHandle)> {
        Self::FUNCTION.map(|f| f.named_parameters()).unwrap_or_default()
    }
    fn rows(bind: &BindInfo, ctx: &Self::Context) -> Result<RecordBatch>;
}

pub struct Rows<T>(PhantomData<T>);

impl<T: BindRows> VTab for Rows<T> {
    type BindData = RecordBatch;
    type InitData = Cursor;
    fn bind(bind: &BindInfo) -> Result<RecordBatch, BoxError> {
        let batch = T::rows(bind, context(bind)).map_err(|e| match T::FUNCTION {
            Some(f) => refusal(f, &e),
            // A release reader's errors name the release and file themselves.
            None => format!("{e:#}"),
        })?;
        declare(bind, &batch.schema())?;
        Ok(batch)
    }
    fn init(_: &InitInfo) -> Result<Cursor, BoxError> {
        Ok(Cursor::default())
    }
    fn func(func: &TableFunctionInfo<Self>, output: &mut DataChunkHandle) -> Result<(), BoxError> {
        emit(func.get_bind_data(), func.get_init_data(), output)
    }
    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(T::parameters())
    }
    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        Some(T::named_parameters())
    }
}

/// Registers `T` as `name` (its table's name where it has one), with the context its bind reads.
pub fn register_rows<T: BindRows>(
    conn: &Connection,
    name: &str,
    ctx: &T::Context,
) -> duckdb::Result<()> {
    conn.register_table_function_with_extra_info::<Rows<T>, _>(name, ctx)
}

/// A table function that hands out its rows itself as it computes them (train: a row per run,
/// each recorded before the next starts). `register_streaming` registers it with its context,
/// which its bind reads with `streaming_context::<Self>`.
pub trait Streaming: VTab {
    type Context: Clone + Send + Sync + 'static;
    const FUNCTION: &'static params::Function;
}

pub fn register_streaming<T: Streaming>(conn: &Connection, ctx: &T::Context) -> duckdb::Result<()> {
    conn.register_table_function_with_extra_info::<T, _>(&T::FUNCTION.registered(), ctx)
}

/// The context `T` was registered with; sound only in `T`'s own bind.
pub fn streaming_context<T: Streaming>(bind: &BindInfo) -> &T::Context {
    context(bind)
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

/// The architectures a function's first argument lists: an id, a cell string or a list of ids.
pub fn arch_arg(bind: &BindInfo) -> Result<Vec<i64>> {
    let value = Some(bind.get_parameter(0)).filter(|v| !v.is_null()).ok_or_else(|| {
        anyhow!("which architectures? pass arch := id, cell string or list of ids")
    })?;
    let archs = archs(&value).with_context(|| "arch")?;
    if archs.is_empty() {
        bail!("the arch list is empty");
    }
    Ok(archs)
}

/// A named parameter that takes a value or a list of them, as a list; None when it is missing or
/// NULL.
pub fn opt_values(bind: &BindInfo, name: &str) -> Option<Vec<Value>> {
    bind.get_named_parameter(name).filter(|v| !v.is_null()).map(|v| match v.to_list() {
        Some(list) => list,
        None => vec![v],
    })
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
