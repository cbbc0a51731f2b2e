//! The `svault` command; see `svault --help` and the `cli` module.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
