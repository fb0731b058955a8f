//! The `galley` binary: parse, initialise logging, dispatch; errors become exit code 1.

use clap::Parser;

mod cli;

// Stages allocate many small strings per record (decode, normalise, encode); in profiles
// glibc's malloc/free were about a third of the quality stage's CPU. mimalloc: quality vs
// pass-through went from 0.70-0.82x to 0.88-1.03x in the same bench (see the issue-4 note).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    galley::telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::dispatch(cli)) {
        Ok(code) => code,
        Err(error) => {
            // Scrubbed: librdkafka's errors may quote a property's value (a password).
            eprintln!("error: {}", galley::config::secrets::scrub(&format!("{error:#}")));
            std::process::ExitCode::FAILURE
        }
    }
}
