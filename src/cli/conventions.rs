//! What every command-line tool is expected to have: shell completions
//! (clap_complete), a man page (clap_mangen) and a `--version` that says
//! which commit and which codecs the binary has.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, CommandFactory};

/// `kseg --version`: the package version, the commit (from build.rs) and
/// the codecs, all built in (none is optional).
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("KSEG_COMMIT"),
    ")\ncodecs: gzip (flate2, zlib-rs), snappy (snap), lz4 (lz4, liblz4), zstd (zstd, libzstd)"
);

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn completions(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut out = super::stdout();
    clap_complete::generate(args.shell, &mut super::Cli::command(), "kseg", &mut out);
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// A subcommand: its own page (kseg-SUBCOMMAND(1)) instead of kseg(1).
    #[arg(value_name = "SUBCOMMAND")]
    pub subcommand: Option<String>,
}

/// The page of `kseg` or of one subcommand, named as the main page's
/// SUBCOMMANDS section refers to it (`kseg-dump(1)`).
pub fn page(subcommand: Option<&str>) -> anyhow::Result<Vec<u8>> {
    // The page says the version, not the commit: the committed copy must
    // not change with every commit.
    let mut cmd = super::Cli::command().long_version(None::<&str>);
    cmd.build();
    let cmd = match subcommand {
        None => cmd,
        Some(name) => {
            let Some(sub) = cmd.find_subcommand(name) else {
                let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
                anyhow::bail!("no subcommand {name:?}; the subcommands are: {}", names.join(", "));
            };
            // clap names are &'static str without its `string` feature; one
            // small leak in a process that prints one page and ends.
            let full: &'static str = Box::leak(format!("kseg-{name}").into_boxed_str());
            sub.clone()
                .name(full)
                .display_name(full)
                .bin_name(format!("kseg {name}"))
                .version(env!("CARGO_PKG_VERSION"))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut out)?;
    Ok(out)
}

pub fn man(args: ManArgs) -> anyhow::Result<ExitCode> {
    let text = page(args.subcommand.as_deref())?;
    let mut out = super::stdout();
    out.write_all(&text)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
