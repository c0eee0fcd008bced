//! Waiting for a transaction to commit: the one polling loop that the wallet, the regulator's tools and the
//! local-chain tooling share, whatever they poll through.

use std::future::Future;
use std::time::{Duration, Instant};

use ctchain_rpc::TxStatus;

/// How a wait ended without a commitment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    /// The node says the transaction was rejected: it will never commit.
    #[error("transaction {id} was rejected: {reason}")]
    Rejected {
        /// The transaction id.
        id: String,
        /// The node's reason.
        reason: String,
    },
    /// No commitment was seen in time. The transaction may still commit: its outcome is unknown, not failed.
    #[error("transaction {id} not seen committed within {waited:?}{}", last_error.as_ref().map(|e| format!(" (last error: {e})")).unwrap_or_default())]
    Timeout {
        /// The transaction id.
        id: String,
        /// How long the wait lasted.
        waited: Duration,
        /// The last error met while polling, if the node could not be asked.
        last_error: Option<String>,
    },
}

/// Polls `status()` every `poll` until it says committed (returning the height) or rejected, or `timeout` has
/// passed. An error while asking (a node restarting, a dropped connection) is not an outcome: polling goes on,
/// and the last error is reported with the timeout.
pub async fn wait_for_commit<F, Fut, E>(
    id: &str,
    poll: Duration,
    timeout: Duration,
    mut status: F,
) -> Result<u64, WaitError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<TxStatus, E>>,
    E: std::fmt::Display,
{
    let start = Instant::now();
    loop {
        let last_error = match status().await {
            Ok(TxStatus::Committed { height, .. }) => return Ok(height),
            Ok(TxStatus::Rejected { reason }) => return Err(WaitError::Rejected { id: id.into(), reason }),
            Ok(TxStatus::Pending | TxStatus::Unknown) => None,
            Err(e) => Some(e.to_string()),
        };
        if start.elapsed() >= timeout {
            return Err(WaitError::Timeout { id: id.into(), waited: start.elapsed(), last_error });
        }
        tokio::time::sleep(poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn committed(height: u64) -> TxStatus {
        TxStatus::Committed {
            height,
            index: 0,
            block_hash: String::new(),
            timestamp_ms: 0,
            hex: String::new(),
            inclusion_proof: String::new(),
        }
    }

    #[tokio::test]
    async fn waits_through_pending_and_errors_until_committed() {
        let calls = Cell::new(0);
        let height = wait_for_commit("t", Duration::from_millis(1), Duration::from_secs(5), || {
            calls.set(calls.get() + 1);
            let answer = match calls.get() {
                1 => Ok(TxStatus::Unknown),
                2 => Err("connection refused"),
                3 => Ok(TxStatus::Pending),
                _ => Ok(committed(7)),
            };
            async move { answer }
        })
        .await;
        assert_eq!(height, Ok(7));
        assert_eq!(calls.get(), 4);
    }

    #[tokio::test]
    async fn a_rejection_ends_the_wait_with_the_reason() {
        let result = wait_for_commit("t", Duration::from_millis(1), Duration::from_secs(5), || async {
            Ok::<_, String>(TxStatus::Rejected { reason: "double spend".into() })
        })
        .await;
        assert_eq!(result, Err(WaitError::Rejected { id: "t".into(), reason: "double spend".into() }));
    }

    #[tokio::test]
    async fn a_timeout_reports_the_outcome_unknown_with_the_last_error() {
        let result = wait_for_commit("t", Duration::from_millis(1), Duration::from_millis(20), || async {
            Err::<TxStatus, _>("node down")
        })
        .await;
        let Err(WaitError::Timeout { id, last_error, .. }) = result else { panic!("expected a timeout: {result:?}") };
        assert_eq!((id.as_str(), last_error.as_deref()), ("t", Some("node down")));
    }
}
