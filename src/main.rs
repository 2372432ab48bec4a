//! The astro-exporter command: parse the flags, start logging, run the exporter or
//! one of its subcommands.

use std::process::ExitCode;

use clap::Parser;

use astro_exporter::config::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The exporter runs on one thread, which decodes each page while the API prepares
    // the next. Only password checks go to blocking threads. With a worker per core,
    // every response and every wake-up crossed threads, which cost a fifth of the CPU
    // of a scrape. The simulated API renders its pages on the threads that serve them,
    // so it keeps a worker per core.
    let mut builder = match cli.command {
        Some(Command::Simulate { .. }) => tokio::runtime::Builder::new_multi_thread(),
        _ => tokio::runtime::Builder::new_current_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("astro-exporter: starting the async runtime failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    astro_exporter::logging::init(cli.log_level, cli.log_format);
    let env = |name: &str| std::env::var(name).ok();

    let result = if cli.config_check {
        astro_exporter::check_config(&cli, &env).map(|count| {
            println!("config file is valid: {count} accounts");
            true
        })
    } else {
        match cli.command.clone() {
            None => astro_exporter::run(cli, &env, astro_exporter::shutdown_signal())
                .await
                .map(|()| true),
            Some(Command::Check) => {
                astro_exporter::run_check(&cli, &env, &mut std::io::stdout()).await
            }
            Some(Command::Simulate {
                listen,
                token,
                ports,
                latency,
            }) => astro_exporter::run_simulate(
                &listen,
                token,
                ports,
                latency,
                astro_exporter::shutdown_signal(),
            )
            .await
            .map(|()| true),
        }
    };

    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("astro-exporter: {error}");
            ExitCode::from(error.exit_code() as u8)
        }
    }
}
