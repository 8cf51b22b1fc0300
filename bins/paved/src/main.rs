//! `paved`: the umbrella command. Its parser is in this crate; what it runs lives in the libraries.

fn main() -> std::process::ExitCode {
    paved_cli::cli::main()
}
