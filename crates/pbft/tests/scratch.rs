use ctchain_pbft::sim::{run, Scenario};
#[test]
fn scratch() {
    let seeds: u64 = std::env::var("S").ok().and_then(|s| s.parse().ok()).unwrap_or(40);
    for n in [4usize, 7] {
        let t = std::time::Instant::now();
        let mut fails = 0;
        for seed in 0..seeds {
            let s = Scenario::random(n, seed);
            let r = run(&s);
            if !r.ok() { fails += 1; println!("n={n} FAIL {}\n   {:?}", r.summary(), s); }
        }
        println!("n={n} {fails} failures, {:?}", t.elapsed());
    }
}
