//! The `svault` command; see `svault --help` and the `cli` module.
#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
