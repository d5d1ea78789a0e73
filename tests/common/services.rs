//! Services the fleet tests start for themselves: Debian's distribution registry
//! (`docker-registry`) and `redis-server`, each on 127.0.0.1 only, on a port the OS picked as
//! free (so two test runs on one machine never meet), with its data in a temporary directory,
//! and stopped when the guard drops (a failing test unwinds through the drop too).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What to run when a service binary is missing.
pub const SERVICES_HINT: &str = "run `scripts/engines.sh setup` (installs docker-registry and redis-server, started by the tests themselves)";

/// `bash -c` script: close descriptors 3 and up, then exec `$0 "$@"`.
const CLOSE_FDS_AND_EXEC: &str = r#"for fd in /proc/$$/fd/*; do fd=${fd##*/}; if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi; done 2>/dev/null; exec "$0" "$@""#;

/// A port on 127.0.0.1 that the OS says is free now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

/// A running service: its process, its data directory and its port.
pub struct Service {
    name: &'static str,
    child: Child,
    pub port: u16,
    /// Data and log; removed after the process has stopped.
    pub dir: tempfile::TempDir,
}

impl Service {
    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The service's own log (stdout and stderr).
    pub fn log(&self) -> PathBuf {
        self.dir.path().join("service.log")
    }

    /// Starts `program args` (the port already in them), then waits until `ready` answers.
    fn start(
        name: &'static str,
        program: &str,
        args: &[String],
        port: u16,
        dir: tempfile::TempDir,
        ready: fn(u16) -> bool,
    ) -> Service {
        assert!(
            Path::new(program).is_file(),
            "`{program}` ({name}) is not installed: {SERVICES_HINT}"
        );
        let log = std::fs::File::create(dir.path().join("service.log")).unwrap();
        // Through bash, which closes every inherited descriptor above stderr and then becomes
        // the service: a test run under `flock` must not hand the lock to a service that might
        // outlive it.
        let child = Command::new("bash")
            .arg("-c")
            .arg(CLOSE_FDS_AND_EXEC)
            .arg(program)
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}; {SERVICES_HINT}"));
        let mut service = Service {
            name,
            child,
            port,
            dir,
        };
        let t = Instant::now();
        while !ready(port) {
            if let Ok(Some(status)) = service.child.try_wait() {
                panic!(
                    "{name} exited ({status}) before it answered on port {port}:\n{}",
                    std::fs::read_to_string(service.log()).unwrap_or_default()
                );
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "{name} did not answer on port {port} within 30 s:\n{}",
                std::fs::read_to_string(service.log()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "[services] {name} on 127.0.0.1:{port} (pid {}), data in {}",
            service.child.id(),
            service.dir.path().display()
        );
        service
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // SIGTERM first (both services shut down cleanly on it), then SIGKILL.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                eprintln!("[services] {} stopped", self.name);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("[services] {} killed", self.name);
    }
}

/// Sends `request` to 127.0.0.1:`port`; the first bytes of the answer.
fn ask(port: u16, request: &[u8]) -> Option<String> {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(request).ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// The distribution registry (`docker-registry serve`), storage in a temporary directory.
pub fn registry() -> Service {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    Service::start(
        "docker-registry",
        "/usr/bin/docker-registry",
        &["serve".into(), config.display().to_string()],
        port,
        dir,
        |port| {
            ask(port, b"GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                .is_some_and(|a| a.starts_with("HTTP/1.0 200") || a.starts_with("HTTP/1.1 200"))
        },
    )
}

/// `redis-server` on 127.0.0.1, no persistence (`--save ''`), data directory temporary.
pub fn redis() -> Service {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let args: Vec<String> = [
        "--bind",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
        "--dir",
        &dir.path().display().to_string(),
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    Service::start(
        "redis-server",
        "/usr/bin/redis-server",
        &args,
        port,
        dir,
        |port| ask(port, b"PING\r\n").is_some_and(|a| a.starts_with("+PONG")),
    )
}
