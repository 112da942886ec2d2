//! `lockgate`: parse arguments → load configuration → start telemetry → run.

use std::process::ExitCode;

use clap::Parser;
use lockgate::cli::{run_admin, Cli, Command};
use lockgate::config::{Overrides, Settings};
use lockgate::{startup, telemetry, Application};

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("lockgate: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            config,
            listen,
            redis_url,
        } => {
            let overrides = Overrides { listen, redis_url };
            let settings =
                Settings::load(config.as_deref(), &overrides).map_err(|e| e.to_string())?;
            // The runtime's size is a setting, so it is built after the settings are read.
            let mut runtime = tokio::runtime::Builder::new_multi_thread();
            if settings.server.worker_threads > 0 {
                runtime.worker_threads(settings.server.worker_threads);
            }
            let runtime = runtime.enable_all().build().map_err(|e| e.to_string())?;
            runtime.block_on(async {
                telemetry::init(&settings.log, std::io::stdout);
                let app = Application::build(settings)
                    .await
                    .map_err(|e| e.to_string())?;
                app.run_until_stopped(shutdown_signal())
                    .await
                    .map_err(|e| e.to_string())
            })
        }
        Command::Admin {
            config,
            redis_url,
            command,
        } => runtime()?.block_on(async {
            let json = run_admin(config, redis_url, command).await?;
            println!("{json:#}");
            Ok(())
        }),
        Command::Openapi { out } => {
            std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
            for (name, spec) in startup::documents().map_err(|e| e.to_string())? {
                let path = out.join(format!("{name}.json"));
                std::fs::write(&path, spec).map_err(|e| format!("{}: {e}", path.display()))?;
                println!("wrote {}", path.display());
            }
            Ok(())
        }
    }
}

/// A small runtime for one-shot commands.
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
