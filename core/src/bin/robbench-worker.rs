//! robbench-worker: the libtorch side of robbench's SQL functions (`robbench_core::worker`). It
//! carries alone to a GPU machine. robbench sends it one request as JSON on stdin (`json`); the
//! other subcommands take the same request as flags, for running it by hand.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use robbench_core::worker::{self, Outcome};
use robbench_vocab::worker::{Message, Request, EXIT_STOPPED};

#[derive(Parser, Debug)]
#[command(
    name = "robbench-worker",
    version = robbench_vocab::worker::VERSION,
    about = "robbench's libtorch side: train and evaluate a NAS-Bench-201 network, or score networks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// One value per process, parsed once: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    #[command(flatten)]
    Request(Request),
    /// Read one request as JSON from standard input (what robbench sends: a Message of this
    /// worker's protocol version)
    Json,
}

fn main() -> ExitCode {
    // Ctrl-C and SIGTERM (Slurm's scancel, preemption, time limit) stop at the next step
    // boundary, so the checkpoint on disk is whole.
    let stop = robbench_vocab::Stop::new();
    let asked = stop.clone();
    let _ = ctrlc::set_handler(move || asked.request());
    let request = match Cli::parse().command {
        Command::Request(r) => Ok(r),
        Command::Json => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the request from stdin")
                .and_then(|_| Message::decode(&text))
        }
    };
    match request.and_then(|r| worker::run(r, &stop)) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Stopped) => {
            eprintln!("robbench-worker: stopped; the last epoch checkpoint is kept");
            ExitCode::from(EXIT_STOPPED as u8)
        }
        Err(e) => {
            eprintln!("robbench-worker: {e:#}");
            ExitCode::from(1)
        }
    }
}
