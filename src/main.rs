//! The `backfeed` binary: everything lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    backfeed::cli::main()
}
