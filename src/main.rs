//! The `kseg` command line: argument parsing, exit codes and output. All
//! format knowledge lives in the library.
#![deny(unsafe_code)]

mod cli;
mod kafka_compat;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            // `kseg dump … | head` closes the pipe early: end quietly, like ripgrep.
            if cli::common::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("{}", output::cell::terminal_line(&format!("kseg: {err:#}")));
            ExitCode::from(2)
        }
    }
}
