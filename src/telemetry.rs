//! The tracing subscriber: human-readable lines by default, JSON when configured.

use tracing_subscriber::{fmt::MakeWriter, EnvFilter};

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber writing to `sink` (stdout in production; tests can pass
/// `std::io::sink`). `RUST_LOG`, when set, wins over `settings.level`.
pub fn init<W>(settings: &LogSettings, sink: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(sink);
    let _ = match settings.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
