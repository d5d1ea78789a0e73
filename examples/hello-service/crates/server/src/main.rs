//! `hello-service`: answers `GET /health` and `GET /hello/{name}` with JSON.
//!
//! Usage:
//!
//! ```text
//! hello-service [--listen ADDR]   serve HTTP (default 127.0.0.1:$PORT, PORT defaults to 3000)
//! hello-service --once NAME       print the greeting for NAME as JSON and exit
//! hello-service --version         print the version and exit
//! ```

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use greeting::{ErrorBody, Greeting, Health};
use tracing_subscriber::EnvFilter;

const NAME: &str = env!("CARGO_PKG_NAME");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const DEFAULT_PORT: u16 = 3000;

const USAGE: &str = "\
usage: hello-service [--listen ADDR]
       hello-service --once NAME
       hello-service --version

Without --listen the address is $HELLO_SERVICE_LISTEN, or 127.0.0.1:$PORT
(PORT defaults to 3000). RUST_LOG sets the log filter (default: info).";

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Serve { listen: Option<String> },
    Once { name: String },
    Version,
    Help,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut listen = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-V" | "--version" => return Ok(Command::Version),
            "-h" | "--help" => return Ok(Command::Help),
            "--once" => {
                let name = args.next().ok_or("--once needs a NAME")?;
                return Ok(Command::Once { name });
            }
            "--listen" => listen = Some(args.next().ok_or("--listen needs an ADDR")?),
            other => match other.strip_prefix("--listen=") {
                Some(addr) => listen = Some(addr.to_owned()),
                None => return Err(format!("unexpected argument `{other}`")),
            },
        }
    }
    Ok(Command::Serve { listen })
}

fn listen_address(flag: Option<String>) -> Result<SocketAddr, String> {
    let text = match flag.or_else(|| std::env::var("HELLO_SERVICE_LISTEN").ok()) {
        Some(text) => text,
        None => {
            let port = match std::env::var("PORT") {
                Ok(port) => port
                    .parse::<u16>()
                    .map_err(|err| format!("invalid PORT `{port}`: {err}"))?,
                Err(_) => DEFAULT_PORT,
            };
            format!("127.0.0.1:{port}")
        }
    };
    text.parse()
        .map_err(|err| format!("invalid listen address `{text}`: {err}"))
}

fn app() -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/hello/{name}", get(hello))
}

async fn health() -> Json<Health> {
    Json(Health::ok(VERSION))
}

async fn hello(Path(name): Path<String>) -> Result<Json<Greeting>, (StatusCode, Json<ErrorBody>)> {
    match Greeting::for_name(&name) {
        Ok(greeting) => {
            tracing::info!(name = %greeting.name, "greeted");
            Ok(Json(greeting))
        }
        Err(err) => {
            tracing::warn!(%err, "refused a name");
            Err((StatusCode::BAD_REQUEST, Json(ErrorBody::from(err))))
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

async fn serve(addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tracing::info!(%local, "listening");
    // Tests start the service on port 0 and read the real address from here.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{NAME} listening on http://{local}")?;
    stdout.flush()?;
    drop(stdout);
    axum::serve(listener, app())
        .with_graceful_shutdown(shutdown_signal())
        .await
}

fn main() -> ExitCode {
    let command = match parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("{NAME}: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Version => {
            println!("{NAME} {VERSION}");
            ExitCode::SUCCESS
        }
        Command::Help => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Once { name } => match Greeting::for_name(&name) {
            Ok(greeting) => {
                println!(
                    "{}",
                    serde_json::to_string(&greeting).expect("greeting serializes")
                );
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!(
                    "{}",
                    serde_json::to_string(&ErrorBody::from(err)).expect("error serializes")
                );
                ExitCode::FAILURE
            }
        },
        Command::Serve { listen } => {
            let addr = match listen_address(listen) {
                Ok(addr) => addr,
                Err(message) => {
                    eprintln!("{NAME}: {message}");
                    return ExitCode::from(2);
                }
            };
            tracing_subscriber::fmt()
                .with_env_filter(
                    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
                )
                .with_writer(std::io::stderr)
                .init();
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(err) => {
                    eprintln!("{NAME}: cannot start the runtime: {err}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(serve(addr)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("{NAME}: {err}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> impl Iterator<Item = String> {
        list.iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn parses_modes() {
        assert_eq!(parse_args(args(&[])), Ok(Command::Serve { listen: None }));
        assert_eq!(
            parse_args(args(&["--listen", "127.0.0.1:0"])),
            Ok(Command::Serve {
                listen: Some("127.0.0.1:0".into())
            })
        );
        assert_eq!(
            parse_args(args(&["--listen=[::1]:8080"])),
            Ok(Command::Serve {
                listen: Some("[::1]:8080".into())
            })
        );
        assert_eq!(
            parse_args(args(&["--once", "world"])),
            Ok(Command::Once {
                name: "world".into()
            })
        );
        assert_eq!(parse_args(args(&["--version"])), Ok(Command::Version));
        assert!(parse_args(args(&["--once"])).is_err());
        assert!(parse_args(args(&["--bogus"])).is_err());
    }

    #[test]
    fn explicit_listen_address_wins() {
        assert_eq!(
            listen_address(Some("127.0.0.1:4321".into())),
            Ok("127.0.0.1:4321".parse().unwrap())
        );
        assert!(listen_address(Some("not an address".into())).is_err());
    }
}
