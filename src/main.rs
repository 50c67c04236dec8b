//! `eligo` — the command-line tool of Eligo.
//!
//! Exit codes: 0 success, 2 bad input (config, data file, argument), 1 any other failure.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Event-driven spiking networks, trained with e-prop.
#[derive(Parser)]
#[command(name = "eligo", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a network description (TOML) and write its recordings.
    Simulate(cli::simulate::Args),
    /// Train a task's network with a learning rule (e-prop by default).
    Train(cli::train::Args),
    /// Run one sequence or a whole batch with a learning rule and write every gradient, the
    /// spikes and the loss (docs/grad.md).
    Grad(cli::grad::Args),
    /// List the learning-rule plugins found, with their parameters.
    Plugins(cli::plugins::Args),
    /// Built-in benchmarks.
    #[command(subcommand)]
    Bench(cli::bench::Bench),
    /// Inspect and convert address-event files (info, convert).
    #[command(subcommand)]
    Events(cli::events::EventsCmd),
    /// Import and export NIR graphs (docs/nir.md).
    #[cfg(feature = "hdf5")]
    #[command(subcommand)]
    Nir(cli::nir::NirCmd),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut world = match cli::mpi::init() {
        Ok(w) => w,
        Err(e) => return fail(&e, None),
    };
    let result = match cli.command {
        Command::Simulate(a) => cli::simulate::run(a, world.as_mut()),
        Command::Bench(b) => cli::bench::run(b, world.as_mut()),
        Command::Events(c) => cli::events::run(c),
        #[cfg(feature = "hdf5")]
        Command::Nir(c) => cli::nir::run(c),
        Command::Plugins(a) => cli::plugins::run(a),
        Command::Grad(a) => cli::grad::run(a),
        Command::Train(a) => cli::train::run(a, world.as_mut()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e, world.as_ref()),
    }
}

/// Report `e` on stderr; its exit code. In an MPI job of several ranks, an error other than a
/// signal (which every rank got) ends the whole job, so that no rank waits for this one.
fn fail(e: &anyhow::Error, world: Option<&cli::mpi::World>) -> ExitCode {
    let code = cli::exit_code(e);
    let at = match world {
        Some(w) if w.size() > 1 => format!(" (rank {} of {})", w.rank(), w.size()),
        _ => String::new(),
    };
    // the exit code tells the error even when stderr cannot
    cli::stderr::line(format_args!("error{at}: {e}"));
    for cause in e.chain().skip(1) {
        cli::stderr::line(format_args!("  caused by: {cause}"));
    }
    if let Some(w) = world
        && w.size() > 1
        && e.downcast_ref::<cli::interrupt::Interrupted>().is_none()
    {
        w.abort(code);
    }
    ExitCode::from(code)
}
