//! The `robbench` command: the shell's command line (`robbench::shell::cli`) on the bundled
//! benchmark of the source tree.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(robbench::shell::cli::main(std::env::args_os(), &robbench::source_bench()))
}
