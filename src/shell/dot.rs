//! Dot commands, as the DuckDB shell has them.

use anyhow::{anyhow, bail, Context, Result};

use super::print::Mode;
use super::{Flow, Session};

pub const HELP: &str = "\
.bench              Show the benchmark folder and its tables' rows, data files and versions
.draw ARCH [out=F]  Draw the cell of an architecture (id or cell string) to F (.png or .svg),
                    or print its edges

.exit, .quit        Leave robbench
.help               Show this message
.mode MODE          Set the output mode: table, csv, json, jsonl, markdown, line
.optimize [HOURS]   Compact small data files; remove files no version of the last HOURS
                    (default a week) references
.output [FILE]      Send results to FILE, or back to stdout without FILE
.plot KIND k=v ...  Plot the next statement's result instead of printing it. KIND: scatter,
                    box, heatmap, line, bar. Options: x=COL y=COL[,COL...] color=COL
                    value=COL (heatmap) out=FILE.png|FILE.svg (else text in the terminal)
                    title=TEXT xlabel=TEXT ylabel=TEXT (quote TEXT with spaces)
                    fit=line|spearman (scatter)
                    ref=VALUE (box: a reference line, e.g. ref=0.1 for chance)
                    percent=on|off (accuracies in %, default on) size=WIDTHxHEIGHT
.read FILE          Run the statements and dot commands of FILE
.schema [TABLE]     Show the CREATE statements of all tables and views, or of TABLE
.tables             List the tables and views
.timer on|off       Show the time each statement takes";

pub const COMMANDS: [&str; 13] = [
    ".bench",
    ".draw",
    ".exit",
    ".help",
    ".mode",
    ".optimize",
    ".output",
    ".plot",
    ".quit",
    ".read",
    ".schema",
    ".tables",
    ".timer",
];

/// Compacts and vacuums every table, reporting what it did on stderr.
pub fn optimize(s: &Session, retention_hours: f64) -> Result<()> {
    if !(retention_hours.is_finite() && retention_hours >= 0.0) {
        bail!("the retention must be a number of hours >= 0, not {retention_hours}");
    }
    let retention = std::time::Duration::from_secs_f64(retention_hours * 3600.0);
    for (table, merged, removed) in s.bench.store().optimize(retention)? {
        eprintln!("{table:<14} {merged:>6} files merged {removed:>6} files removed");
    }
    Ok(())
}

pub fn run(s: &mut Session, line: &str) -> Result<Flow> {
    let mut words = line.split_whitespace();
    let cmd = words.next().unwrap_or("");
    let args: Vec<&str> = words.collect();
    let arity = |n: usize| -> Result<()> {
        if args.len() > n {
            bail!("{cmd}: too many arguments (see .help)");
        }
        Ok(())
    };
    match cmd {
        ".quit" | ".exit" => return Ok(Flow::Quit),
        ".help" => println!("{HELP}"),
        ".mode" => {
            arity(1)?;
            match args.first() {
                Some(m) => s.mode = m.parse::<Mode>().map_err(|e| anyhow!(e))?,
                None => println!("current mode: {:?}", s.mode),
            }
        }
        ".timer" => {
            arity(1)?;
            s.timer = match args.first().copied() {
                Some("on") => true,
                Some("off") => false,
                other => bail!(".timer: expected on or off, got {}", other.unwrap_or("nothing")),
            };
        }
        ".output" => {
            arity(1)?;
            match args.first() {
                Some(path) => {
                    let f = std::fs::File::create(path)
                        .with_context(|| format!(".output: cannot create {path}"))?;
                    s.set_output(Box::new(f));
                }
                None => s.set_output(Box::new(std::io::stdout())),
            }
        }
        ".read" => {
            arity(1)?;
            let path = args.first().ok_or_else(|| anyhow!(".read: which file?"))?;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!(".read: cannot read {path}"))?;
            return s.run_source(&text, path).map_err(|e| anyhow!(e));
        }
        ".tables" => {
            arity(0)?;
            let names: Vec<String> = s
                .conn
                .prepare("SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            println!("{}", names.join("  "));
        }
        ".schema" => {
            arity(1)?;
            let filter = args.first().map(|t| t.to_string());
            let mut stmt = s.conn.prepare(
                "SELECT name, sql FROM (SELECT table_name AS name, sql FROM duckdb_tables()
                                        UNION ALL SELECT view_name, sql FROM duckdb_views() WHERE NOT internal)
                 WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
            )?;
            let rows: Vec<(String, String)> = stmt
                .query_map([filter.clone()], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            if rows.is_empty() {
                if let Some(t) = filter {
                    bail!(".schema: no table or view named '{t}'");
                }
            }
            for (name, sql) in rows {
                // A benchmark table may be a view over its Parquet files just now; show what it is.
                println!("{}", s.bench.ddl(&name).unwrap_or(&sql));
            }
        }
        ".bench" => {
            arity(0)?;
            println!(
                "{}{}",
                s.bench.dir().display(),
                if s.bench.read_only() { " (read-only)" } else { "" }
            );
            let store = s.bench.store();
            for t in crate::store::TABLES {
                let n: i64 =
                    s.conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
                let version = store.snapshot(t)?;
                println!(
                    "  {t:<14} {n:>8} rows {:>5} files  version {}",
                    version.files.len(),
                    version.version
                );
            }
        }
        ".optimize" => {
            arity(1)?;
            let hours = match args.first() {
                Some(h) => h
                    .parse::<f64>()
                    .map_err(|_| anyhow!(".optimize: '{h}' is not a number of hours"))?,
                None => crate::store::RETENTION_HOURS,
            };
            optimize(s, hours)?;
        }
        ".plot" => {
            let words = crate::plot::words(line.trim_start().trim_start_matches(".plot"))?;
            s.plot = Some(crate::plot::Spec::parse(&words)?);
        }
        ".draw" => {
            let words = crate::plot::words(line.trim_start().trim_start_matches(".draw"))?;
            let (arch, rest) = words
                .split_first()
                .ok_or_else(|| anyhow!(".draw: which architecture? (an id or a cell string)"))?;
            let (id, cell) = crate::plot::cell::resolve(arch)?;
            match rest {
                [] => print!("{}", crate::plot::cell::text(id, &cell)),
                [out] if out.starts_with("out=") => {
                    let path = std::path::Path::new(&out[4..]);
                    crate::plot::cell::draw(id, &cell, path)?;
                    eprintln!("wrote {}", path.display());
                }
                _ => bail!(".draw: expected ARCH [out=FILE]"),
            }
        }
        other => bail!("unknown command '{other}' (see .help)"),
    }
    Ok(Flow::Continue)
}
