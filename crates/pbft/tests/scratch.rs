use ctchain_pbft::sim::{run, Scenario};
#[test]
fn scratch() {
    let from: u64 = std::env::var("F").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let seeds: u64 = std::env::var("S").ok().and_then(|s| s.parse().ok()).unwrap_or(40);
    let ns: Vec<usize> = std::env::var("NS").ok().map(|s| s.split(',').map(|x| x.parse().unwrap()).collect()).unwrap_or(vec![4, 7]);
    for n in ns {
        let t = std::time::Instant::now();
        let mut fails = 0;
        for seed in from..from + seeds {
            let t1 = std::time::Instant::now();
            let s = Scenario::random(n, seed);
            let r = run(&s);
            let el = t1.elapsed();
            if el.as_millis() > 1500 { println!("n={n} seed {seed} slow {:?} delivered {} end {}ms", el, r.messages_delivered, r.end_ms); }
            if !r.ok() { fails += 1; println!("n={n} FAIL {}\n   {:?}", r.summary(), s); }
        }
        println!("n={n} {fails} failures, {:?}", t.elapsed());
    }
}
