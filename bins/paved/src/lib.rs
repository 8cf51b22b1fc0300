//! The `paved` command's parser and dispatch; `main.rs` only calls [`cli::main`].

pub mod cli;
