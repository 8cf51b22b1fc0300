//! `paved`: the umbrella command. All of it lives in the library.

fn main() -> std::process::ExitCode {
    paved::cli::main()
}
