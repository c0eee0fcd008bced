//! The demo (being written).
pub async fn run(_keep: bool, _base_port: u16) -> anyhow::Result<()> {
    anyhow::bail!("demo not written yet")
}
