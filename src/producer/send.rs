//! The SDK edge of the producer: requests out, per-record outcomes back.
//!
//! `outcomes_of_put_records` and `outcome_of_error` are pure and unit-tested with SDK builders;
//! `send` is the one place that calls PutRecords or PutRecord.

use super::batch::Entry;
use crate::endpoint::client::count_request_bytes;
use crate::endpoint::incidents::{Problem, is_throttling, tally};
use crate::scenario::Api;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::operation::put_records::PutRecordsOutput;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use std::time::Duration;

/// What happened to one record in one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written: the service returned a sequence number.
    Acked,
    /// ProvisionedThroughputExceededException (or another throttling code): retry later.
    Throttled,
    /// Any other failure; `retryable` says whether trying again can help.
    Failed { code: String, retryable: bool },
}

/// Errors that no retry can fix: the request or the stream is wrong.
const FATAL_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "ValidationException",
    "InvalidArgumentException",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SerializationException",
    "KMSAccessDeniedException",
    "KMSDisabledException",
    "KMSNotFoundException",
];

/// Classifies a service error code (None for transport failures: retryable).
pub fn outcome_of_code(code: Option<&str>) -> Outcome {
    match code {
        Some(c) if is_throttling(c) => Outcome::Throttled,
        Some(c) => Outcome::Failed {
            code: c.to_string(),
            retryable: !FATAL_CODES.contains(&c),
        },
        None => Outcome::Failed {
            code: "RequestError".to_string(),
            retryable: true,
        },
    }
}

/// Outcome of a call that failed as a whole, applied to every record in it.
pub fn outcome_of_error<E: ProvideErrorMetadata>(err: &E) -> Outcome {
    outcome_of_code(err.code())
}

/// Per-record outcomes of a PutRecords response, in request order.
///
/// A response with fewer entries than the request marks the missing ones as failed: a record
/// the service did not answer for is never counted as written.
pub fn outcomes_of_put_records(output: &PutRecordsOutput, sent: usize) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = output
        .records()
        .iter()
        .take(sent)
        .map(
            |entry| match (entry.error_code(), entry.sequence_number()) {
                (None, Some(_)) => Outcome::Acked,
                (code, _) => outcome_of_code(Some(code.unwrap_or("MissingSequenceNumber"))),
            },
        )
        .collect();
    outcomes.resize(
        sent,
        Outcome::Failed {
            code: "MissingResultEntry".into(),
            retryable: true,
        },
    );
    outcomes
}

/// The result of one attempt at a batch.
pub struct Sent {
    /// One per record, in order.
    pub outcomes: Vec<Outcome>,
    /// API calls made.
    pub calls: u64,
    /// Calls that failed as a whole (an error response, a transport failure, a timeout).
    pub call_errors: u64,
    /// Bytes of the HTTP requests sent (request line, headers, body).
    pub request_bytes: u64,
    /// What the failed calls said about the endpoint (throttling aside), with how many calls
    /// said it.
    pub problems: Vec<(Problem, u64)>,
}

/// Counts one more call that met `problem`.
fn add_problem(problems: &mut Vec<(Problem, u64)>, problem: Option<Problem>) {
    if let Some(problem) = problem {
        tally(problems, problem);
    }
}

/// Sends one attempt of `records` (Kinesis records: plain or aggregates) with `api`; a timeout
/// counts as a retryable failure.
pub async fn send(
    client: &Client,
    stream: &str,
    api: Api,
    records: &[Entry],
    timeout: Duration,
) -> Sent {
    let calls = if api.batches() {
        1
    } else {
        records.len() as u64
    };
    let call = async {
        match api {
            Api::PutRecords | Api::PutRecordsAggregated => {
                let entries: Vec<PutRecordsRequestEntry> = records
                    .iter()
                    .filter_map(|r| {
                        PutRecordsRequestEntry::builder()
                            .data(Blob::new(r.data.clone()))
                            .partition_key(r.key.clone())
                            .set_explicit_hash_key(r.explicit_hash_key.clone())
                            .build()
                            .ok()
                    })
                    .collect();
                match client
                    .put_records()
                    .stream_name(stream)
                    .set_records(Some(entries))
                    .send()
                    .await
                {
                    Ok(out) => (outcomes_of_put_records(&out, records.len()), 0, Vec::new()),
                    Err(e) => {
                        let mut problems = Vec::new();
                        add_problem(&mut problems, Problem::of_error(&e));
                        (vec![outcome_of_error(&e); records.len()], 1, problems)
                    }
                }
            }
            Api::PutRecord => {
                let mut outcomes = Vec::with_capacity(records.len());
                let mut errors = 0;
                let mut problems = Vec::new();
                for r in records {
                    let result = client
                        .put_record()
                        .stream_name(stream)
                        .data(Blob::new(r.data.clone()))
                        .partition_key(r.key.clone())
                        .set_explicit_hash_key(r.explicit_hash_key.clone())
                        .send()
                        .await;
                    outcomes.push(match result {
                        Ok(_) => Outcome::Acked,
                        Err(e) => {
                            errors += 1;
                            add_problem(&mut problems, Problem::of_error(&e));
                            outcome_of_error(&e)
                        }
                    });
                }
                (outcomes, errors, problems)
            }
        }
    };
    let (result, request_bytes) = count_request_bytes(tokio::time::timeout(timeout, call)).await;
    match result {
        Ok((outcomes, call_errors, problems)) => Sent {
            outcomes,
            calls,
            call_errors,
            request_bytes,
            problems,
        },
        Err(_) => Sent {
            outcomes: vec![
                Outcome::Failed {
                    code: "Timeout".into(),
                    retryable: true
                };
                records.len()
            ],
            calls,
            call_errors: 1,
            request_bytes,
            problems: vec![(Problem::TimedOut, 1)],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kinesis::types::PutRecordsResultEntry;

    fn ok() -> PutRecordsResultEntry {
        PutRecordsResultEntry::builder()
            .sequence_number("49590338271490256608559692538361571095921575989136588898")
            .shard_id("shardId-000000000000")
            .build()
    }

    fn failed(code: &str) -> PutRecordsResultEntry {
        PutRecordsResultEntry::builder()
            .error_code(code)
            .error_message("Rate exceeded for shard shardId-000000000000")
            .build()
    }

    #[test]
    fn partial_failures_map_to_each_record() {
        let out = PutRecordsOutput::builder()
            .failed_record_count(2)
            .records(ok())
            .records(failed("ProvisionedThroughputExceededException"))
            .records(failed("InternalFailure"))
            .build()
            .unwrap();
        assert_eq!(
            outcomes_of_put_records(&out, 3),
            vec![
                Outcome::Acked,
                Outcome::Throttled,
                Outcome::Failed {
                    code: "InternalFailure".into(),
                    retryable: true
                },
            ]
        );
    }

    #[test]
    fn a_short_response_never_acknowledges_the_missing_records() {
        let out = PutRecordsOutput::builder().records(ok()).build().unwrap();
        let outcomes = outcomes_of_put_records(&out, 3);
        assert_eq!(outcomes.len(), 3);
        assert_eq!(outcomes[0], Outcome::Acked);
        assert!(
            matches!(&outcomes[2], Outcome::Failed { code, retryable: true } if code == "MissingResultEntry")
        );
    }

    #[test]
    fn error_codes_are_classified() {
        assert_eq!(
            outcome_of_code(Some("ProvisionedThroughputExceededException")),
            Outcome::Throttled
        );
        assert!(matches!(
            outcome_of_code(Some("LimitExceededException")),
            Outcome::Failed {
                retryable: true,
                ..
            }
        ));
        assert!(matches!(
            outcome_of_code(Some("ResourceNotFoundException")),
            Outcome::Failed {
                retryable: false,
                ..
            }
        ));
        assert!(matches!(
            outcome_of_code(None),
            Outcome::Failed {
                retryable: true,
                ..
            }
        ));
    }
}
