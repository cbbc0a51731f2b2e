//! A small service that needs `db/password` and `api/token` at boot and refuses to
//! start without them. See "Using svault in your application" in the README.
//!
//! ```text
//! boot_service [--vault PATH] [--socket PATH] [--credentials-dir DIR]
//!              [--share-file FILE]... [--keyslot NAME=FILE]... [--wait SECS]
//! ```
//!
//! Sources, in order: `$CREDENTIALS_DIRECTORY` (or `--credentials-dir`), the agent at
//! `$SVAULT_SOCKET` (or `--socket`), the share/keyslot files given, then officers at
//! the terminal. Exit status 0 and `started: …` on success (only lengths and sources
//! are printed); 1 and `refusing to start: missing credentials: …` otherwise; 2 for a
//! usage error.

use std::process::ExitCode;
use std::time::Duration;

use svault::boot::Boot;

const NEEDED: [&str; 2] = ["db/password", "api/token"];

fn main() -> ExitCode {
    let mut boot = Boot::new(NEEDED);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let Some(value) = args.next() else {
            eprintln!("boot_service: {arg} needs a value");
            return ExitCode::from(2);
        };
        boot = match arg.as_str() {
            "--vault" => boot.vault(value),
            "--socket" => boot.socket(value),
            "--credentials-dir" => boot.credentials_dir(value),
            "--share-file" => boot.share_file(value),
            "--keyslot" => match value.split_once('=') {
                Some((name, file)) => boot.keyslot(name, file),
                None => {
                    eprintln!("boot_service: --keyslot takes NAME=FILE");
                    return ExitCode::from(2);
                }
            },
            "--wait" => match value.parse() {
                Ok(secs) => boot.agent_wait(Duration::from_secs(secs)),
                Err(_) => {
                    eprintln!("boot_service: --wait takes a number of seconds");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("boot_service: unknown option {arg}");
                return ExitCode::from(2);
            }
        };
    }
    match boot.load() {
        Ok(creds) => {
            // A real service would now connect to its database and API with these.
            let facts: Vec<String> = NEEDED
                .iter()
                .map(|name| match (creds.get(name), creds.source(name)) {
                    (Some(v), Some(source)) => {
                        format!("{name} ({} bytes, from {source})", v.len())
                    }
                    _ => format!("{name} (?)"),
                })
                .collect();
            println!("started: {}", facts.join(", "));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("boot_service: refusing to start: {e}");
            ExitCode::from(1)
        }
    }
}
