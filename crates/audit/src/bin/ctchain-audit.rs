//! `ctchain-audit`: the regulator's command line (see `ctchain_audit::cli` and `docs/regulator.md`).
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    match ctchain_audit::cli::main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The whole chain of causes on one line, without a backtrace: the supervisor needs the reason.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
