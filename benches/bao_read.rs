//! One credential read, side by side: `get` through a running svault agent (its Unix
//! socket) against a KV read from a running OpenBao node (HTTP on loopback), with the
//! same number of clients, each on its own persistent connection. Prints p50, p99 and
//! requests per second for each.
//!
//! It measures servers that `scripts/bao-figures` starts and names in the environment:
//! `SVAULT_FIGURES_SOCKET`, `SVAULT_FIGURES_NAME` (the credential), `SVAULT_FIGURES_BAO_URL`,
//! `SVAULT_FIGURES_BAO_TOKEN` (a file), `SVAULT_FIGURES_KV_PATH` (e.g. `kv/db`);
//! `SVAULT_FIGURES_CLIENTS` (default 8) and `SVAULT_FIGURES_REQUESTS` per client
//! (default 2,000). Without them it says so and exits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use svault::agent::Client;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn number(name: &str, default: usize) -> usize {
    env(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Runs `clients` threads, each making its connection with `connect` and then
/// `requests` timed calls of the request it returns; the latencies and the wall time.
fn run<C, R>(clients: usize, requests: usize, connect: C) -> (Vec<Duration>, Duration)
where
    C: Fn() -> R + Send + Sync + 'static,
    R: FnMut() + 'static,
{
    let connect = Arc::new(connect);
    let barrier = Arc::new(Barrier::new(clients + 1));
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let connect = Arc::clone(&connect);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                let mut request = connect();
                for _ in 0..100 {
                    request();
                }
                barrier.wait();
                let mut times = Vec::with_capacity(requests);
                for _ in 0..requests {
                    let start = Instant::now();
                    request();
                    times.push(start.elapsed());
                }
                times
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let mut all = Vec::with_capacity(clients * requests);
    for handle in handles {
        all.extend(handle.join().unwrap());
    }
    let wall = start.elapsed();
    all.sort_unstable();
    (all, wall)
}

fn report(what: &str, clients: usize, times: &[Duration], wall: Duration) {
    let at = |q: f64| {
        let i = ((times.len() as f64 - 1.0) * q).round() as usize;
        times[i].as_secs_f64() * 1e6
    };
    println!(
        "bao-figures: read {what}: clients={clients} requests={} p50={:.0}us p99={:.0}us \
         rps={:.0}",
        times.len(),
        at(0.50),
        at(0.99),
        times.len() as f64 / wall.as_secs_f64()
    );
}

fn main() {
    let (Some(socket), Some(name), Some(url), Some(token_file), Some(kv)) = (
        env("SVAULT_FIGURES_SOCKET"),
        env("SVAULT_FIGURES_NAME"),
        env("SVAULT_FIGURES_BAO_URL"),
        env("SVAULT_FIGURES_BAO_TOKEN"),
        env("SVAULT_FIGURES_KV_PATH"),
    ) else {
        println!("bao_read: nothing to measure; run scripts/bao-figures");
        return;
    };
    let clients = number("SVAULT_FIGURES_CLIENTS", 8);
    let requests = number("SVAULT_FIGURES_REQUESTS", 2_000);
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_owned();

    let expected = {
        let mut c = Client::connect(&socket).unwrap();
        c.get(&name).unwrap().expose().to_vec()
    };
    let agent_get = {
        let (socket, name) = (socket.clone(), name.clone());
        move || {
            let mut client = Client::connect(&socket).unwrap();
            let (name, expected) = (name.clone(), expected.clone());
            move || {
                let value = client.get(&name).unwrap();
                assert_eq!(value.expose(), expected.as_slice());
            }
        }
    };
    let kv_get = {
        let address = format!("{}/v1/{kv}", url.trim_end_matches('/'));
        move || {
            let agent = ureq::config::Config::builder()
                .proxy(None)
                .build()
                .new_agent();
            let (address, token) = (address.clone(), token.clone());
            move || {
                let mut response = agent
                    .get(&address)
                    .header("X-Vault-Token", &token)
                    .call()
                    .unwrap();
                let body = response.body_mut().read_to_string().unwrap();
                assert!(body.contains("\"data\""), "{body}");
            }
        }
    };
    // svault, OpenBao, then svault again: a drift in the machine's load shows as a
    // difference between the two svault rows.
    let (times, wall) = run(clients, requests, agent_get.clone());
    report("svault agent get", clients, &times, wall);
    let (times, wall) = run(clients, requests, kv_get);
    report("OpenBao KV GET", clients, &times, wall);
    let (times, wall) = run(clients, requests, agent_get);
    report("svault agent get (again)", clients, &times, wall);
}
