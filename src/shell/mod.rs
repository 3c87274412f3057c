//! A session: one DuckDB connection over one benchmark folder, running statements and dot
//! commands from the REPL, from -c, from files or from stdin, and printing their results.

pub mod cli;
pub mod dot;
pub mod helper;
pub mod print;
pub mod repl;
pub mod split;

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use duckdb::{Connection, InterruptHandle};
use robbench_vocab::Stop;

use crate::store::Bench;
use print::Mode;
use split::Item;

/// A failed statement: where it came from and DuckDB's (or robbench's) message.
#[derive(Debug)]
pub struct StatementError {
    pub origin: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for StatementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.origin, self.line, self.message)
    }
}

impl std::error::Error for StatementError {}

/// What a dot command asks of the caller.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

pub struct Session {
    pub conn: Connection,
    pub bench: Bench,
    pub mode: Mode,
    pub timer: bool,
    /// A `.plot` waiting for the next statement's result.
    pub plot: Option<crate::plot::Spec>,
    out: Box<dyn Write + Send>,
    interrupter: Interrupter,
}

/// Stops a session's running statement from another thread (a signal handler, Python's
/// KeyboardInterrupt): a running train stops at its next step boundary (keeping its
/// checkpoint), DuckDB stops the query, and the statement returns an error.
#[derive(Clone)]
pub struct Interrupter {
    /// Handed to the SQL functions that run robbench-worker.
    stop: Stop,
    duckdb: Arc<InterruptHandle>,
    /// Whether a statement is running, so that Ctrl-C at rest means something else.
    running: Arc<AtomicBool>,
}

impl Interrupter {
    pub fn interrupt(&self) {
        self.stop.request();
        self.duckdb.interrupt();
    }

    pub fn running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }
}

/// Installs the Ctrl-C handler for `session`: its running statement is interrupted and the
/// caller gets its error back; with nothing running, `exit_when_idle` decides (batch runs exit,
/// the REPL ignores it: rustyline reads Ctrl-C at the prompt itself).
pub fn install_ctrl_c(session: &Session, exit_when_idle: bool) {
    let interrupter = session.interrupter();
    let _ = ctrlc::set_handler(move || {
        if interrupter.running() {
            interrupter.interrupt();
        } else if exit_when_idle {
            std::process::exit(130);
        }
    });
}

/// Does the statement call a function that can run robbench-worker (minutes to hours)?
fn drives_worker(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if word(bytes[i]) {
            let start = i;
            while i < bytes.len() && word(bytes[i]) {
                i += 1;
            }
            let rest = lower[i..].trim_start();
            if rest.starts_with('(')
                && crate::sql::params::function(&lower[start..i]).is_some_and(|f| f.drives_worker)
            {
                return true;
            }
        } else {
            i += 1;
        }
    }
    false
}

/// Statements whose result is a row count or nothing: printed as nothing, as in the DuckDB shell.
fn prints_result(sql: &str) -> bool {
    !matches!(
        first_keyword(sql).as_str(),
        "INSERT"
            | "UPDATE"
            | "DELETE"
            | "CREATE"
            | "DROP"
            | "ALTER"
            | "COPY"
            | "SET"
            | "RESET"
            | "ATTACH"
            | "DETACH"
            | "BEGIN"
            | "COMMIT"
            | "ROLLBACK"
            | "ABORT"
            | "END"
            | "CHECKPOINT"
            | "INSTALL"
            | "LOAD"
            | "USE"
            | "TRUNCATE"
    )
}

/// Runs one statement on `conn` and collects its result.
fn execute(conn: &Connection, sql: &str) -> Result<crate::store::session::Output> {
    if drives_worker(sql) {
        // With worker threads, DuckDB's main thread spins while a table function blocks in
        // one of them, taking a core from the training: run such statements on one thread.
        let threads: i64 = conn.query_row("SELECT current_setting('threads')", [], |r| r.get(0))?;
        conn.execute_batch("SET threads = 1")?;
        let result = query(conn, sql);
        conn.execute_batch(&format!("SET threads = {threads}"))?;
        return result;
    }
    query(conn, sql)
}

fn query(conn: &Connection, sql: &str) -> Result<crate::store::session::Output> {
    let mut stmt = conn.prepare(sql)?;
    let arrow = stmt.query_arrow([])?;
    let schema = arrow.get_schema();
    let batches = arrow.collect();
    Ok((schema, batches))
}

/// How often a statement is run again after conflicts before its error is reported.
const MAX_ATTEMPTS: usize = 30;

fn is_conflict(e: &anyhow::Error) -> bool {
    e.downcast_ref::<crate::store::Conflict>().is_some()
}

fn is_vanished_file(e: &anyhow::Error) -> bool {
    let text = format!("{e:#}");
    text.contains(".parquet") && (text.contains("No such file") || text.contains("No files found"))
}

fn first_keyword(sql: &str) -> String {
    let mut rest = sql;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map(|x| x.1).unwrap_or("");
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map(|x| x.1).unwrap_or("");
        } else if let Some(r) = rest.strip_prefix('(') {
            rest = r;
        } else {
            break;
        }
    }
    rest.chars().take_while(|c| c.is_ascii_alphabetic()).collect::<String>().to_ascii_uppercase()
}

/// The message of a failed statement: DuckDB's (less the C API's generic code, which says
/// nothing) or robbench's, with a hint where DuckDB's hides the cause.
fn message(sql: &str, e: &anyhow::Error) -> String {
    let mut message = format!("{e:#}").replace(": Error code 1: Unknown error code", "");
    if let Some(hint) = hint(sql, &message) {
        message.push_str(&format!("\nhint: {hint}"));
    }
    message
}

/// What to do instead, for errors whose cause DuckDB's message hides.
fn hint(sql: &str, message: &str) -> Option<&'static str> {
    let named_precision = sql
        .to_ascii_lowercase()
        .split("precision")
        .skip(1)
        .any(|rest| rest.trim_start().starts_with(":="));
    (message.contains("syntax error at or near \":=\"") && named_precision).then_some(
        "the option is dtype := 'bf16' (precision is a keyword of DuckDB's grammar, so no argument can have that name)",
    )
}

impl Session {
    pub fn open(
        dir: &Path,
        read_only: bool,
        as_of: Option<&crate::store::AsOf>,
        mode: Mode,
        settings: &crate::sql::train::Settings,
    ) -> Result<Session> {
        let conn = Connection::open_in_memory().context("cannot start DuckDB")?;
        crate::sql::register_core(&conn)?;
        let mut bench = Bench::open(&conn, dir, read_only, as_of)
            .with_context(|| format!("cannot open the benchmark {}", dir.display()))?;
        bench.set_readers(&crate::sql::READ_TABLES);
        let stop = Stop::new();
        crate::sql::register_bench(&conn, &bench.store(), settings, &stop)?;
        let interrupter = Interrupter {
            stop,
            duckdb: conn.interrupt_handle(),
            running: Arc::new(AtomicBool::new(false)),
        };
        Ok(Session {
            interrupter,
            conn,
            bench,
            mode,
            timer: false,
            plot: None,
            out: Box::new(std::io::stdout()),
        })
    }

    /// What stops this session's running statement from another thread.
    pub fn interrupter(&self) -> Interrupter {
        self.interrupter.clone()
    }

    pub fn set_output(&mut self, out: Box<dyn Write + Send>) {
        let _ = self.out.flush();
        self.out = out;
    }

    /// Runs every statement and dot command of `text`, stopping at the first failure.
    pub fn run_source(&mut self, text: &str, origin: &str) -> Result<Flow, StatementError> {
        for item in split::split(text) {
            let (line, result) = match item {
                Item::Sql { text, line } => {
                    (line, self.run_statement(&text).map(|_| Flow::Continue))
                }
                Item::Dot { text, line } => (line, dot::run(self, &text)),
            };
            match result {
                Ok(Flow::Quit) => return Ok(Flow::Quit),
                Ok(Flow::Continue) => {}
                Err(e) => {
                    let message =
                        format!("{e:#}").replace(": Error code 1: Unknown error code", "");
                    return Err(StatementError { origin: origin.to_string(), line, message });
                }
            }
        }
        Ok(Flow::Continue)
    }

    /// Runs one statement and returns its result; what it changed is committed when it
    /// returns. A conflict with another process's commit re-runs it; the message of an error
    /// is the shell's (with its hints).
    pub fn query_statement(&mut self, sql: &str) -> Result<crate::store::session::Output> {
        if let Some(table) = crate::store::session::alters_definition(sql) {
            anyhow::bail!("{table} is a benchmark table: its definition is robbench's (schema/tables.sql) and cannot be dropped, altered or replaced");
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.interrupter.stop.clear();
            self.interrupter.running.store(true, Ordering::SeqCst);
            let conn = &self.conn;
            let run = |text: &str| execute(conn, text);
            let result = self.bench.execute(&self.conn, sql, &run);
            self.interrupter.running.store(false, Ordering::SeqCst);
            // Whatever happened, the views follow what was committed (by this statement, a
            // running train, or other processes).
            let picked = self.bench.pick_up(&self.conn);
            match (result, picked) {
                (Ok(out), Ok(())) => return Ok(out),
                // Another process committed a change this one's does not apply to: nothing was
                // written, and the statement runs again on what is committed now (its expensive
                // parts, train, evaluate and scores, come from their records and caches).
                (Err(e), _) if attempt < MAX_ATTEMPTS && is_conflict(&e) => {
                    eprintln!("note: {e:#}; running the statement again ({attempt})");
                }
                // A reader whose files a vacuum removed meanwhile reads the latest version.
                (Err(e), _) if attempt < 2 && is_vanished_file(&e) => {
                    self.bench.refresh(&self.conn)?;
                }
                (Err(e), _) => return Err(anyhow::anyhow!(message(sql, &e))),
                (Ok(_), Err(e)) => return Err(e),
            }
        }
    }

    /// Runs one statement, prints its result, and makes what it changed durable.
    pub fn run_statement(&mut self, sql: &str) -> Result<()> {
        let started = Instant::now();
        let (schema, batches) = self.query_statement(sql)?;
        if let Some(spec) = self.plot.take() {
            let table = crate::plot::Table::new(schema, batches);
            crate::plot::plot(&spec, &table, &mut *self.out)?;
            if let Some(path) = &spec.out {
                eprintln!("wrote {}", path.display());
            }
            self.out.flush()?;
        } else if prints_result(sql) {
            print::print(&mut *self.out, self.mode, &schema, &batches)?;
            self.out.flush()?;
        }
        if self.timer {
            eprintln!("Run Time (s): real {:.3}", started.elapsed().as_secs_f64());
        }
        Ok(())
    }

    /// Names the completer offers: tables, views, their columns, and functions.
    pub fn names(&self) -> Vec<String> {
        let sql = "SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM duckdb_views() WHERE NOT internal
                   UNION SELECT column_name FROM duckdb_columns() UNION SELECT DISTINCT function_name FROM duckdb_functions()";
        let mut names: Vec<String> = self
            .conn
            .prepare(sql)
            .and_then(|mut s| {
                s.query_map([], |r| r.get::<_, String>(0)).and_then(|rows| rows.collect())
            })
            .unwrap_or_default();
        // The benchmark's tables and views exist in the catalog only once a statement read them.
        names.extend(self.bench.names());
        names.sort();
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_that_run_the_worker_are_recognised() {
        assert!(drives_worker("INSERT INTO metrics FROM train(2581, epochs := 1)"));
        assert!(drives_worker("insert into scores from SCORES ([1, 2])"));
        assert!(drives_worker("SELECT * FROM robbench_train(1)"));
        assert!(drives_worker("FROM search('ls', source := 'train', dataset := 'digits')"));
        assert!(!drives_worker("FROM predict(n := 32)"));
        assert!(!drives_worker("SELECT score, value FROM scores WHERE arch = 1"));
        assert!(!drives_worker("SELECT retrain(1), my_scores(2)"));
    }

    #[test]
    fn keyword_classification() {
        assert!(!prints_result("INSERT INTO t VALUES (1)"));
        assert!(prints_result("select 1"));
    }
}
