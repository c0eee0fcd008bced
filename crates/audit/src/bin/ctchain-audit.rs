//! `ctchain-audit`: the regulator's command line (see `ctchain_audit::cli` and `crates/audit/README.md`).
#![forbid(unsafe_code)]

fn main() -> anyhow::Result<()> {
    ctchain_audit::cli::main()
}
