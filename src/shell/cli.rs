//! The `robbench` command line: flags declared once (clap), then the session they open and the
//! sources they run. The binary and the Python package's `python -m robbench` both call
//! [`main`].

use std::ffi::OsString;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use super::print::Mode;
use super::{Flow, Session};
use crate::shell;
use clap::{CommandFactory, FromArgMatches, Parser};

#[derive(Parser, Debug)]
#[command(
    name = "robbench",
    version,
    about = "NAS-RobBench-201 as an embedded analytical database (DuckDB SQL over Parquet tables)"
)]
struct Args {
    /// Benchmark folder (default: $ROBBENCH_BENCH, else the bundled benchmark); created if missing
    #[arg(long, value_name = "DIR")]
    bench: Option<PathBuf>,
    /// Output mode (default: table on a terminal, csv otherwise)
    #[arg(long, value_parser = parse_mode)]
    mode: Option<Mode>,
    /// Device for train/evaluate/scores: auto, cpu, cuda, cuda:N
    #[arg(long, value_parser = robbench_vocab::DeviceSpec::parse_arg)]
    device: Option<robbench_vocab::DeviceSpec>,
    /// Threads DuckDB and libtorch may use
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    threads: Option<u32>,
    /// Do only this process's share (I of N) of every train/evaluate/scores call
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<(u32, u32)>,
    /// Never write to the benchmark folder
    #[arg(long)]
    read_only: bool,
    /// Open the benchmark read-only as it was at a version (see history()) or a UTC time
    #[arg(long, value_name = "VERSION|TIMESTAMP", value_parser = parse_as_of)]
    as_of: Option<crate::store::AsOf>,
    /// Compact small data files and remove unreferenced ones past the retention, then go on
    #[arg(long)]
    optimize: bool,
    /// Hours a removed data file stays for readers before --optimize deletes it
    #[arg(long, value_name = "HOURS", default_value_t = crate::store::RETENTION_HOURS)]
    retention: f64,
    /// Convert a benchmark folder of an older robbench format in place, then go on
    #[arg(long)]
    upgrade: bool,
    /// Run SQL (repeatable; runs in order with the FILEs)
    #[arg(short = 'c', value_name = "SQL")]
    command: Vec<String>,
    /// SQL files to run
    #[arg(value_name = "FILE.sql")]
    files: Vec<PathBuf>,
}

fn parse_as_of(s: &str) -> Result<crate::store::AsOf, String> {
    s.parse()
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    s.parse()
}

fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let err = || format!("'{s}' is not a shard I/N with 0 <= I < N");
    let (i, n) = s.split_once('/').ok_or_else(err)?;
    let (i, n): (u32, u32) =
        (i.trim().parse().map_err(|_| err())?, n.trim().parse().map_err(|_| err())?);
    if n == 0 || i >= n {
        return Err(err());
    }
    Ok((i, n))
}

enum Source {
    Command(String, usize),
    File(PathBuf),
}

/// The whole `robbench` command: parses `args` (the program name first), opens the benchmark
/// (`--bench`, else `$ROBBENCH_BENCH`, else `bundled`) and runs the REPL, the -c statements and
/// files, or stdin. Returns the exit status; errors are on stderr.
pub fn main(args: impl IntoIterator<Item = OsString>, bundled: &Path) -> u8 {
    let matches = match Args::command().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            // --help and --version are "errors" that print to stdout and succeed.
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let args = match Args::from_arg_matches(&matches) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return 2;
        }
    };
    // -c and FILEs run in the order they were given.
    let mut sources: Vec<(usize, Source)> = Vec::new();
    if let Some(idx) = matches.indices_of("command") {
        for (k, (i, c)) in idx.zip(&args.command).enumerate() {
            sources.push((i, Source::Command(c.clone(), k + 1)));
        }
    }
    if let Some(idx) = matches.indices_of("files") {
        for (i, f) in idx.zip(&args.files) {
            sources.push((i, Source::File(f.clone())));
        }
    }
    sources.sort_by_key(|s| s.0);

    let stdout_tty = std::io::stdout().is_terminal();
    let mode = args.mode.unwrap_or(if stdout_tty { Mode::Table } else { Mode::Csv });
    let dir = args.bench.clone().unwrap_or_else(|| crate::default_bench(bundled));
    let settings = crate::sql::train::Settings {
        device: args.device,
        threads: args.threads,
        shard: args.shard,
        progress: Default::default(),
    };
    if args.upgrade {
        match crate::store::legacy::upgrade(&dir) {
            Ok(done) => {
                let tables: Vec<String> =
                    done.tables.iter().map(|(t, n)| format!("{t} {n} rows")).collect();
                eprintln!("upgraded {}: {}", dir.display(), tables.join(", "));
            }
            Err(e) => {
                eprintln!("robbench: --upgrade: {e:#}");
                return 1;
            }
        }
    }
    let mut session =
        match Session::open(&dir, args.read_only, args.as_of.as_ref(), mode, &settings) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("robbench: {e:#}");
                return 1;
            }
        };
    if let Some(n) = args.threads {
        if let Err(e) = session.conn.execute_batch(&format!("SET threads = {n}")) {
            eprintln!("robbench: --threads {n}: {e}");
            return 1;
        }
    }
    if args.optimize {
        if let Err(e) = shell::dot::optimize(&session, args.retention) {
            eprintln!("robbench: --optimize: {e:#}");
            return 1;
        }
    }
    if (args.optimize || args.upgrade) && sources.is_empty() {
        return 0;
    }
    let interactive = sources.is_empty() && std::io::stdin().is_terminal();
    if interactive {
        // The REPL installs the Ctrl-C handler itself, after its line editor (which takes SIGINT).
        return match shell::repl::run(&mut session) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("robbench: {e:#}");
                1
            }
        };
    }
    shell::install_ctrl_c(&session, true);
    if sources.is_empty() {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            eprintln!("robbench: cannot read stdin: {e}");
            return 1;
        }
        return finish(session.run_source(&text, "<stdin>"));
    }
    for (_, src) in sources {
        let result = match src {
            Source::Command(sql, k) => session.run_source(&sql, &format!("-c #{k}")),
            Source::File(path) => match std::fs::read_to_string(&path) {
                Ok(text) => session.run_source(&text, &path.display().to_string()),
                Err(e) => {
                    eprintln!("robbench: cannot read {}: {e}", path.display());
                    return 1;
                }
            },
        };
        match result {
            Ok(Flow::Quit) => return 0,
            Ok(Flow::Continue) => {}
            Err(e) => return finish(Err(e)),
        }
    }
    0
}

fn finish(result: Result<Flow, shell::StatementError>) -> u8 {
    match result {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}
