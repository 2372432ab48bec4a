//! The astro-exporter command: parse the flags, start logging, run the exporter.

use std::process::ExitCode;

use clap::Parser;

use astro_exporter::config::{Cli, TOKEN_ENV};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    astro_exporter::logging::init(cli.log_level, cli.log_format);
    let env_token = std::env::var(TOKEN_ENV).ok();

    match astro_exporter::run(cli, env_token, astro_exporter::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("astro-exporter: {error}");
            ExitCode::from(error.exit_code() as u8)
        }
    }
}
