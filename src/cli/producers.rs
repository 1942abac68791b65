//! `kseg producers`: placeholder.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct ProducersArgs {
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

pub fn run(_args: ProducersArgs) -> anyhow::Result<ExitCode> {
    Ok(ExitCode::from(super::exit::ERROR))
}
