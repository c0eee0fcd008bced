use ctchain_pbft::sim::{run, Scenario};
#[test]
fn one() {
    let n: usize = std::env::var("N").unwrap().parse().unwrap();
    let seed: u64 = std::env::var("SEED").unwrap().parse().unwrap();
    let s = Scenario::random(n, seed);
    let r = run(&s);
    println!("{:?}\n{}", s, r.summary());
    for st in &r.states { println!("{st}"); }
}
