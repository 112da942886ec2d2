//! Command-line interface.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "lockgate",
    version,
    about = "HTTP lock gateway backed by Redis"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve every dialect over HTTP.
    Serve {
        /// TOML configuration file (see lockgate.example.toml).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Address to listen on, e.g. 0.0.0.0:8080 (overrides server.listen).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Redis URL (overrides redis.url). Without any, a private redis-server is started.
        #[arg(long, value_name = "URL")]
        redis_url: Option<String>,
    },
    /// Write every dialect's OpenAPI document into a folder, as checked in under openapi/.
    Openapi {
        #[arg(long, value_name = "DIR", default_value = "openapi")]
        out: PathBuf,
    },
}
