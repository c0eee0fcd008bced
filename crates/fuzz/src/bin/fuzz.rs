//! The AFL++ entry point: `ctchain-fuzz <target>` reads inputs from AFL++ (persistent mode) and runs the target.
//! Built only by `cargo afl build --features afl` (see the crate's README).

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = ctchain_fuzz::target(&name) else {
        let names: Vec<&str> = ctchain_fuzz::TARGETS.iter().map(|(n, _)| *n).collect();
        eprintln!("usage: ctchain-fuzz <target>, one of {}", names.join(", "));
        std::process::exit(2);
    };
    // Built once, before the fork server starts, so that no input pays for it.
    let _ = ctchain_fuzz::fixture::get();
    afl::fuzz!(|data: &[u8]| {
        target(data);
    });
}
