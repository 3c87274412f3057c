//! `robbench._robbench`: the shell's session (`robbench::shell::Session`) behind a Python
//! object. Statements run exactly as in the shell (the same store, commits, conflicts and
//! error messages); results cross to pyarrow through the Arrow C data interface, without a
//! copy. The Python package (`python/robbench`) adds the duckdb-style API around it.

use std::path::PathBuf;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow_pyarrow::ToPyArrow;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use robbench::shell::print::Mode;
use robbench::shell::Session;
use robbench_vocab::progress::Progress;

create_exception!(
    _robbench,
    Error,
    PyException,
    "An error of robbench or DuckDB: the shell's message."
);

fn error(e: anyhow::Error) -> PyErr {
    Error::new_err(format!("{e:#}").replace(": Error code 1: Unknown error code", ""))
}

/// Runs `work` on the session in a thread of its own while this thread waits with the GIL
/// released, looking for Python's signals every 50 ms: a KeyboardInterrupt stops the statement
/// as Ctrl-C does in the shell (a running train stops at its next step, keeping its
/// checkpoint), waits for it to end, and is raised.
fn interruptible<T: Send>(
    py: Python<'_>,
    session: &mut Session,
    work: impl FnOnce(&mut Session) -> anyhow::Result<T> + Send,
) -> PyResult<T> {
    let interrupter = session.interrupter();
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        scope.spawn(move || {
            let _ = tx.send(work(session));
        });
        let mut interrupted: Option<PyErr> = None;
        let mut rx = rx;
        loop {
            // The receiver goes into the GIL-free closure and comes back with what it got.
            let (got, back) = py.detach(move || (rx.recv_timeout(Duration::from_millis(50)), rx));
            rx = back;
            match got {
                Ok(result) => {
                    return match (interrupted, result) {
                        (Some(e), _) => Err(e),
                        (None, r) => r.map_err(error),
                    };
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Error::new_err(
                        "internal: the statement's thread ended without a result",
                    ));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if interrupted.is_none() {
                        if let Err(e) = py.check_signals() {
                            interrupter.interrupt();
                            interrupted = Some(e);
                        }
                    }
                }
            }
        }
    })
}

#[pyclass(name = "_Connection")]
struct Connection {
    /// One statement at a time, from whichever Python thread calls.
    session: Mutex<Option<Session>>,
}

impl Connection {
    fn with<T>(&self, f: impl FnOnce(&mut Session) -> PyResult<T>) -> PyResult<T> {
        let mut guard =
            self.session.lock().map_err(|_| Error::new_err("internal: a statement panicked"))?;
        let session = guard.as_mut().ok_or_else(|| Error::new_err("the connection is closed"))?;
        f(session)
    }
}

fn to_pyarrow(
    py: Python<'_>,
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
) -> PyResult<Py<PyAny>> {
    let pa = py.import("pyarrow")?;
    let schema = schema.as_ref().to_pyarrow(py)?;
    let list: Vec<Bound<'_, PyAny>> =
        batches.iter().map(|b| b.to_pyarrow(py)).collect::<PyResult<_>>()?;
    Ok(pa.getattr("Table")?.call_method1("from_batches", (list, schema))?.unbind())
}

#[pymethods]
impl Connection {
    /// Runs the statements of `query` (separated by `;`) and returns the last one's result as
    /// a pyarrow Table.
    fn sql(&self, py: Python<'_>, query: &str) -> PyResult<Py<PyAny>> {
        let statements: Vec<String> = robbench::shell::split::split(query)
            .into_iter()
            .map(|item| match item {
                robbench::shell::split::Item::Sql { text, .. } => Ok(text),
                robbench::shell::split::Item::Dot { text, .. } => Err(Error::new_err(format!(
                    "{text}: dot commands are the shell's; from Python use the connection's methods"
                ))),
            })
            .collect::<PyResult<_>>()?;
        if statements.is_empty() {
            return Err(Error::new_err("no statement to run"));
        }
        let (schema, batches) = self.with(|session| {
            interruptible(py, session, move |s| {
                let mut last = None;
                for sql in &statements {
                    last = Some(s.query_statement(sql)?);
                }
                Ok(last.expect("at least one statement"))
            })
        })?;
        to_pyarrow(py, &schema, batches)
    }

    /// Renders `query`'s result as the shell's `.plot` does with `words` (kind, then key=value
    /// options); returns the image's bytes.
    fn plot(
        &mut self,
        py: Python<'_>,
        query: &str,
        words: Vec<String>,
        format: &str,
    ) -> PyResult<Py<PyBytes>> {
        let ext = match format {
            "png" | "svg" => format,
            other => return Err(Error::new_err(format!("format '{other}': expected png or svg"))),
        };
        let dir = tempfile::tempdir().map_err(|e| error(e.into()))?;
        let path: PathBuf = dir.path().join(format!("figure.{ext}"));
        let mut words = words;
        words.push(format!("out={}", path.display()));
        let spec = robbench::plot::Spec::parse(&words).map_err(error)?;
        let query = query.to_string();
        self.with(|session| {
            interruptible(py, session, move |s| {
                let (schema, batches) = s.query_statement(&query)?;
                let table = robbench::plot::Table::new(schema, batches);
                robbench::plot::plot(&spec, &table, &mut std::io::sink())?;
                Ok(())
            })
        })?;
        let bytes = std::fs::read(&path).map_err(|e| error(e.into()))?;
        Ok(PyBytes::new(py, &bytes).unbind())
    }

    /// The benchmark folder and whether it is open read-only.
    fn bench(&self) -> PyResult<(String, bool)> {
        self.with(|s| Ok((s.bench.dir().display().to_string(), s.bench.read_only())))
    }

    fn close(&self) {
        if let Ok(mut s) = self.session.lock() {
            *s = None;
        }
    }
}

/// Opens a benchmark folder (None: $ROBBENCH_BENCH, else `bundled`) in a session like the
/// shell's.
#[pyfunction]
#[pyo3(signature = (bench, bundled, read_only=false, as_of=None, device=None, threads=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn connect(
    py: Python<'_>,
    bench: Option<PathBuf>,
    bundled: PathBuf,
    read_only: bool,
    as_of: Option<String>,
    device: Option<String>,
    threads: Option<u32>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Connection> {
    let dir = bench.unwrap_or_else(|| robbench::default_bench(&bundled));
    let as_of =
        as_of.map(|a| a.parse::<robbench::store::AsOf>().map_err(Error::new_err)).transpose()?;
    let device = device.map(|d| robbench_device(&d)).transpose()?;
    let progress = match progress {
        Some(callback) => Progress::new(PythonProgress(callback)),
        None => Progress::hidden(),
    };
    let settings = robbench::sql::train::Settings { device, threads, shard: None, progress };
    let session = py
        .detach(|| Session::open(&dir, read_only, as_of.as_ref(), Mode::Csv, &settings))
        .map_err(error)?;
    if let Some(n) = threads {
        session.conn.execute_batch(&format!("SET threads = {n}")).map_err(|e| error(e.into()))?;
    }
    Ok(Connection { session: Mutex::new(Some(session)) })
}

/// Progress updates handed to a Python callable `(task, done, total, note, finished)`; the
/// package's is `robbench._progress.Bars`. Updates come from the statement's threads, which take
/// the GIL while the calling thread waits for the statement with it released.
struct PythonProgress(Py<PyAny>);

impl robbench_vocab::progress::Sink for PythonProgress {
    fn update(&self, u: &robbench_vocab::progress::Update) {
        Python::attach(|py| {
            let args = (u.task.as_str(), u.done, u.total, u.note.as_str(), u.finished);
            // A bar that cannot draw must not fail the computation it shows.
            if let Err(e) = self.0.call1(py, args) {
                e.print(py);
            }
        });
    }
}

/// The `robbench` shell (`python -m robbench`, and the `robbench` command a wheel installs):
/// `argv` as the command line, `bundled` the benchmark it opens by default; returns the exit
/// status. Python's signal handlers step aside while it runs: the shell's own take Ctrl-C.
#[pyfunction]
fn main(py: Python<'_>, argv: Vec<std::ffi::OsString>, bundled: PathBuf) -> u8 {
    py.detach(|| robbench::shell::cli::main(argv, &bundled))
}

fn robbench_device(d: &str) -> PyResult<robbench_vocab::DeviceSpec> {
    robbench_vocab::DeviceSpec::parse_arg(d).map_err(Error::new_err)
}

#[pymodule]
fn _robbench(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(connect, m)?)?;
    m.add_function(wrap_pyfunction!(main, m)?)?;
    m.add_class::<Connection>()?;
    m.add("Error", m.py().get_type::<Error>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
