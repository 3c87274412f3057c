//! Dot commands, as the DuckDB shell has them.

use anyhow::{anyhow, bail, Context, Result};

use super::print::Mode;
use super::{Flow, Session};

/// A dot command. Its names, usage and description are declared once, here; the help, the
/// completion and the dispatch are derived from them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Bench,
    Draw,
    Quit,
    Help,
    Mode,
    Optimize,
    Output,
    Plot,
    Read,
    Schema,
    Tables,
    Timer,
}

impl Command {
    pub const ALL: [Command; 12] = [
        Command::Bench,
        Command::Draw,
        Command::Quit,
        Command::Help,
        Command::Mode,
        Command::Optimize,
        Command::Output,
        Command::Plot,
        Command::Read,
        Command::Schema,
        Command::Tables,
        Command::Timer,
    ];

    /// What it is typed as (the first is what the help shows first).
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Command::Bench => &[".bench"],
            Command::Draw => &[".draw"],
            Command::Quit => &[".exit", ".quit"],
            Command::Help => &[".help"],
            Command::Mode => &[".mode"],
            Command::Optimize => &[".optimize"],
            Command::Output => &[".output"],
            Command::Plot => &[".plot"],
            Command::Read => &[".read"],
            Command::Schema => &[".schema"],
            Command::Tables => &[".tables"],
            Command::Timer => &[".timer"],
        }
    }

    /// Its arguments, as the help shows them after the name.
    fn usage(self) -> &'static str {
        match self {
            Command::Draw => "ARCH [out=F]",
            Command::Help => "[FUNCTION]",
            Command::Mode => "MODE",
            Command::Optimize => "[HOURS]",
            Command::Output => "[FILE]",
            Command::Plot => "KIND k=v ...",
            Command::Read => "FILE",
            Command::Schema => "[TABLE]",
            Command::Timer => "on|off",
            Command::Bench | Command::Quit | Command::Tables => "",
        }
    }

    /// What it does: the help's lines for it.
    pub fn description(self) -> String {
        match self {
            Command::Bench => {
                "Show the benchmark folder and its tables' rows, data files and versions".into()
            }
            Command::Draw => "Draw the cell of an architecture (id or cell string) to F (.png or .svg),\nor print its edges".into(),
            Command::Quit => "Leave robbench".into(),
            Command::Help => format!(
                "Show this message, or the parameters of FUNCTION:\n{}",
                crate::sql::params::FUNCTIONS.map(|f| f.name).join(", ")
            ),
            Command::Mode => format!(
                "Set the output mode: {}",
                Mode::ALL.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
            ),
            Command::Optimize => "Compact small data files; remove files no version of the last HOURS\n(default a week) references".into(),
            Command::Output => "Send results to FILE, or back to stdout without FILE".into(),
            Command::Plot => format!(
                "Plot the next statement's result instead of printing it. KIND: {}.\n{}",
                crate::plot::Kind::NAMES.join(", "),
                crate::plot::OPTIONS_HELP
            ),
            Command::Read => "Run the statements and dot commands of FILE".into(),
            Command::Schema => {
                "Show the CREATE statements of all tables and views, or of TABLE".into()
            }
            Command::Tables => "List the tables and views".into(),
            Command::Timer => "Show the time each statement takes".into(),
        }
    }

    pub fn parse(word: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.names().contains(&word))
    }
}

/// The help: each command's names and usage, then its description, aligned.
pub fn help() -> String {
    const WIDTH: usize = 20;
    let mut out = Vec::new();
    for c in Command::ALL {
        let head = format!("{} {}", c.names().join(", "), c.usage());
        let description = c.description();
        let mut lines = description.lines();
        let first = lines.next().unwrap_or("");
        if head.trim_end().len() < WIDTH {
            out.push(format!("{:<WIDTH$}{first}", head.trim_end()));
        } else {
            out.push(head.trim_end().to_string());
            out.push(format!("{:<WIDTH$}{first}", ""));
        }
        out.extend(lines.map(|l| format!("{:<WIDTH$}{l}", "")));
    }
    out.join("\n")
}

/// Every name a dot command is typed as, for completion.
pub fn names() -> impl Iterator<Item = &'static str> {
    Command::ALL.into_iter().flat_map(|c| c.names().iter().copied())
}

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
    let command =
        Command::parse(cmd).ok_or_else(|| anyhow!("unknown command '{cmd}' (see .help)"))?;
    match command {
        Command::Quit => return Ok(Flow::Quit),
        Command::Help => {
            arity(1)?;
            match args.first() {
                None => println!("{}", help()),
                Some(name) => match crate::sql::params::function(name) {
                    Some(f) => println!("{}", f.help()),
                    None => bail!(
                        ".help: no function '{name}'; robbench's are {}",
                        crate::sql::params::FUNCTIONS.map(|f| f.name).join(", ")
                    ),
                },
            }
        }
        Command::Mode => {
            arity(1)?;
            match args.first() {
                Some(m) => s.mode = m.parse::<Mode>().map_err(|e| anyhow!(e))?,
                None => println!("current mode: {}", s.mode.name()),
            }
        }
        Command::Timer => {
            arity(1)?;
            s.timer = match args.first().copied() {
                Some("on") => true,
                Some("off") => false,
                other => bail!(".timer: expected on or off, got {}", other.unwrap_or("nothing")),
            };
        }
        Command::Output => {
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
        Command::Read => {
            arity(1)?;
            let path = args.first().ok_or_else(|| anyhow!(".read: which file?"))?;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!(".read: cannot read {path}"))?;
            return s.run_source(&text, path).map_err(|e| anyhow!(e));
        }
        Command::Tables => {
            arity(0)?;
            s.bench.show_all(&s.conn)?;
            let names: Vec<String> = s
                .conn
                .prepare("SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            println!("{}", names.join("  "));
        }
        Command::Schema => {
            arity(1)?;
            s.bench.show_all(&s.conn)?;
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
        Command::Bench => {
            arity(0)?;
            println!(
                "{}{}",
                s.bench.dir().display(),
                if s.bench.read_only() { " (read-only)" } else { "" }
            );
            let store = s.bench.store();
            s.bench.show_all(&s.conn)?;
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
        Command::Optimize => {
            arity(1)?;
            let hours = match args.first() {
                Some(h) => h
                    .parse::<f64>()
                    .map_err(|_| anyhow!(".optimize: '{h}' is not a number of hours"))?,
                None => crate::store::RETENTION_HOURS,
            };
            optimize(s, hours)?;
        }
        Command::Plot => {
            let words = crate::plot::words(line.trim_start().trim_start_matches(".plot"))?;
            s.plot = Some(crate::plot::Spec::parse(&words)?);
        }
        Command::Draw => {
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
    }
    Ok(Flow::Continue)
}
