//! The interactive loop: prompt, history kept between runs, and Ctrl-C that cancels the running
//! statement (or the line being typed) without leaving.

use std::path::PathBuf;

use anyhow::Result;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor};

use super::helper::ReplHelper;
use super::{Flow, Session};

fn history_path() -> Option<PathBuf> {
    std::env::var_os("ROBBENCH_HISTORY")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".robbench_history")))
}

pub fn run(session: &mut Session) -> Result<()> {
    let config = Config::builder().auto_add_history(true).max_history_size(10_000)?.build();
    let mut rl: Editor<ReplHelper, DefaultHistory> = Editor::with_config(config)?;
    // After the editor: it sets its own SIGINT action, which would keep Ctrl-C from reaching a
    // running statement. At the prompt the terminal is raw, so Ctrl-C arrives as a key instead.
    super::install_ctrl_c(session, false);
    rl.set_helper(Some(ReplHelper { names: session.names() }));
    let history = history_path();
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    eprintln!(
        "robbench {}: benchmark {}{}. Enter \".help\" for usage hints.",
        env!("CARGO_PKG_VERSION"),
        session.bench.dir().display(),
        if session.bench.read_only() { " (read-only)" } else { "" }
    );
    loop {
        match rl.readline("robbench> ") {
            Ok(input) => {
                if let Some(h) = &history {
                    let _ = rl.append_history(h);
                }
                match session.run_source(&input, "<repl>") {
                    Ok(Flow::Quit) => break,
                    Ok(Flow::Continue) => {}
                    Err(e) => eprintln!("Error: {}", e.message),
                }
                if let Some(helper) = rl.helper_mut() {
                    helper.names = session.names();
                }
            }
            Err(ReadlineError::Interrupted) => continue, // Ctrl-C at the prompt drops the line
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
