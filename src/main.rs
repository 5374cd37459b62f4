//! The `herald` binary: everything happens in [`herald::cli`].

fn main() -> std::process::ExitCode {
    herald::cli::main()
}
