//! The REPL driven through a pseudo-terminal: a multi-line statement, dot commands, Ctrl-C on a
//! running statement and on a half-typed line, history kept between runs, and Ctrl-D.

use crate::common::new_bench;
use rexpect::session::spawn_command;

/// The REPL on `bench` in a pseudo-terminal, at its first prompt.
fn repl(bench: &str, history: &std::path::Path) -> rexpect::session::PtySession {
    // Not common::bin(): its stdin is /dev/null, and the REPL needs the terminal.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_robbench"));
    cmd.args(["--bench", bench]).env("ROBBENCH_HISTORY", history).env("TERM", "xterm");
    let mut p = spawn_command(cmd, Some(30_000)).expect("spawn robbench in a pty");
    p.exp_string("robbench> ").unwrap();
    p
}

#[test]
fn multi_line_dot_commands_ctrl_c_and_history() {
    let (tmp, bench) = new_bench();
    let history = tmp.path().join("history");
    let b = bench.to_str().unwrap();
    let mut p = repl(b, &history);

    // A statement over three lines runs once its ';' arrives.
    p.send_line("SELECT 40").unwrap();
    p.send_line("  + 2").unwrap();
    p.send_line("  AS answer;").unwrap();
    p.exp_string("42").unwrap();
    p.exp_string("robbench> ").unwrap();

    p.send_line(".mode line").unwrap();
    p.exp_string("robbench> ").unwrap();
    p.send_line("SELECT count(*) AS n FROM architectures;").unwrap();
    p.exp_string("n = 15625").unwrap();
    p.exp_string("robbench> ").unwrap();

    // Ctrl-C cancels a long statement and the prompt comes back.
    p.send_line("SELECT sum(hash(i)) FROM range(1000000000000) t(i);").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    p.send_control('c').unwrap();
    p.exp_string("Interrupt").unwrap();
    p.exp_string("robbench> ").unwrap();

    // Ctrl-C on a half-typed line drops it; bad input does not end the session.
    p.send("SELECT 'never").unwrap();
    p.send_control('c').unwrap();
    // Typing ahead of a fresh prompt is discarded when the editor re-enters raw mode.
    p.exp_string("robbench> ").unwrap();
    p.send_line("SELEC oops;").unwrap();
    p.exp_string("Error").unwrap();
    p.send_line("SELECT 6 * 7 AS still_alive;").unwrap();
    p.exp_string("still_alive = 42").unwrap();
    p.exp_string("robbench> ").unwrap();
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();

    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(saved.contains("still_alive"), "history: {saved}");
    assert!(!saved.contains("'never"), "a cancelled line is not history: {saved}");

    // The history is there in the next session (Up arrow recalls the last statement).
    let mut p = repl(b, &history);
    p.send("\x1b[A").unwrap();
    p.send_line("").unwrap();
    // The mode is per session, so the recalled statement prints as a table this time.
    p.exp_string("still_alive").unwrap();
    p.exp_string("42").unwrap();
    p.send_line(".quit").unwrap();
    p.exp_eof().unwrap();
}
