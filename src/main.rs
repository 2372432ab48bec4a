//! The astro-exporter command: parse the flags, start logging, run the exporter or
//! one of its subcommands.

use std::process::ExitCode;

use clap::Parser;

use astro_exporter::config::{Cli, Command};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
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
            }) => astro_exporter::run_simulate(
                &listen,
                token,
                ports,
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
