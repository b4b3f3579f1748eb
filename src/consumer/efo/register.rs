//! The EFO consumer's registration: RegisterStreamConsumer, waiting for ACTIVE, and
//! DeregisterStreamConsumer of what kbench registered, and only that.
//!
//! A registered consumer outlives the process that registered it and counts against the
//! stream's 20 (../shared/spec/KINESIS.md, "Enhanced fan-out"), so kbench deregisters every
//! consumer it registered: [`Registered::deregister`] at the end of the run, on Ctrl-C and on
//! error. A [`Registered`] dropped without it deregisters in the background where a runtime is
//! left to do it, and says so: a bug to fix, not a way to end.

use super::{Efo, EfoError};
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::types::ConsumerStatus;
use std::time::{Duration, Instant};

/// How long a new consumer may take to become ACTIVE by default (AWS: seconds).
pub const ACTIVE_WITHIN: Duration = Duration::from_secs(60);

/// How often DescribeStreamConsumer is asked while waiting for ACTIVE (the operation allows
/// 20 calls per second per stream).
const DESCRIBE_EVERY: Duration = Duration::from_millis(250);

/// Error codes of an endpoint that has no RegisterStreamConsumer (kinesalite:
/// UnknownOperationException).
const UNSUPPORTED_CODES: &[&str] = &[
    "UnknownOperationException",
    "InvalidAction",
    "NotImplemented",
];

/// A registered stream consumer, ACTIVE.
#[derive(Debug)]
#[must_use = "a consumer kbench registered must be deregistered: call `deregister().await`"]
pub struct Registered {
    pub name: String,
    pub arn: String,
    pub stream_arn: String,
    /// Whether kbench registered it (and so deregisters it).
    ours: bool,
    /// Until deregistered, the clients to deregister it with (kbench's consumers only).
    pending: Option<Efo>,
}

impl Registered {
    /// Whether kbench registered it: only such a consumer is deregistered.
    pub fn ours(&self) -> bool {
        self.ours
    }

    /// A consumer someone else registered, to read with but never deregister; it must be
    /// ACTIVE.
    pub async fn existing(efo: &Efo, stream_arn: &str, name: &str) -> Result<Registered, EfoError> {
        let out = call(
            efo,
            "DescribeStreamConsumer",
            name,
            efo.control
                .describe_stream_consumer()
                .stream_arn(stream_arn)
                .consumer_name(name)
                .send(),
        )
        .await?;
        let d = out.consumer_description().ok_or_else(|| EfoError::Call {
            operation: "DescribeStreamConsumer",
            name: name.to_string(),
            detail: "the answer has no ConsumerDescription".into(),
        })?;
        if d.consumer_status() != &ConsumerStatus::Active {
            return Err(EfoError::NotActive {
                name: name.to_string(),
                state: d.consumer_status().as_str().to_string(),
                waited_s: 0,
            });
        }
        Ok(Registered {
            name: name.to_string(),
            arn: d.consumer_arn().to_string(),
            stream_arn: stream_arn.to_string(),
            ours: false,
            pending: None,
        })
    }

    /// Deregisters the consumer if kbench registered it; returns whether it did. Someone
    /// else's is left alone.
    pub async fn deregister(mut self) -> Result<bool, EfoError> {
        let Some(efo) = self.pending.take() else {
            return Ok(false);
        };
        deregister_arn(&efo, &self.name, &self.arn).await?;
        tracing::info!(consumer = %self.name, "deregistered the stream consumer");
        Ok(true)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        let Some(efo) = self.pending.take() else {
            return;
        };
        let (name, arn) = (self.name.clone(), self.arn.clone());
        tracing::warn!(consumer = %name, "a registered consumer was dropped without deregister(); deregistering it in the background");
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if let Err(e) = deregister_arn(&efo, &name, &arn).await {
                        tracing::warn!("{e}");
                    }
                });
            }
            Err(_) => tracing::warn!(
                consumer = %name,
                "no runtime left to deregister it: deregister {arn} by hand"
            ),
        }
    }
}

async fn deregister_arn(efo: &Efo, name: &str, arn: &str) -> Result<(), EfoError> {
    call(
        efo,
        "DeregisterStreamConsumer",
        name,
        efo.control
            .deregister_stream_consumer()
            .consumer_arn(arn)
            .send(),
    )
    .await
    .map(|_| ())
}

/// Registers consumer `name` on the stream `stream_arn` and waits, up to `active_within`, for
/// it to be ACTIVE. A name already registered is someone else's: an error, never reused.
pub async fn register(
    efo: &Efo,
    stream_arn: &str,
    name: &str,
    active_within: Duration,
) -> Result<Registered, EfoError> {
    let sent = efo
        .control
        .register_stream_consumer()
        .stream_arn(stream_arn)
        .consumer_name(name)
        .send();
    let out = match tokio::time::timeout(efo.call_timeout, sent).await {
        Err(_) => return Err(no_answer(efo, "RegisterStreamConsumer", name)),
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            let detail = crate::endpoint::stream::message(&e);
            return Err(match e.code() {
                Some("ResourceInUseException") => EfoError::AlreadyRegistered {
                    name: name.to_string(),
                    stream_arn: stream_arn.to_string(),
                },
                Some(code) if UNSUPPORTED_CODES.contains(&code) => EfoError::Unsupported {
                    endpoint: efo.endpoint.clone(),
                    detail,
                },
                _ => EfoError::Call {
                    operation: "RegisterStreamConsumer",
                    name: name.to_string(),
                    detail,
                },
            });
        }
    };
    let arn = out
        .consumer()
        .map(|c| c.consumer_arn().to_string())
        .ok_or_else(|| EfoError::Call {
            operation: "RegisterStreamConsumer",
            name: name.to_string(),
            detail: "the answer has no Consumer".into(),
        })?;
    tracing::info!(consumer = %name, %arn, "registered a stream consumer");
    let registered = Registered {
        name: name.to_string(),
        arn,
        stream_arn: stream_arn.to_string(),
        ours: true,
        pending: Some(efo.clone()),
    };
    match wait_active(efo, &registered, active_within).await {
        Ok(()) => Ok(registered),
        Err(e) => {
            // ours, and of no use: deregister it before saying why
            if let Err(d) = registered.deregister().await {
                tracing::warn!("{d}");
            }
            Err(e)
        }
    }
}

/// Asks DescribeStreamConsumer until the consumer is ACTIVE, up to `within`.
async fn wait_active(efo: &Efo, c: &Registered, within: Duration) -> Result<(), EfoError> {
    let began = Instant::now();
    loop {
        let asked = efo
            .control
            .describe_stream_consumer()
            .consumer_arn(&c.arn)
            .send();
        let state = match call(efo, "DescribeStreamConsumer", &c.name, asked).await {
            Ok(out) => match out.consumer_description().map(|d| d.consumer_status()) {
                Some(ConsumerStatus::Active) => return Ok(()),
                Some(s) => s.as_str().to_string(),
                None => "described without a status".into(),
            },
            // the endpoint may not know a consumer it has just registered yet; keep asking
            Err(e) => format!("not described: {e}"),
        };
        if began.elapsed() >= within {
            return Err(EfoError::NotActive {
                name: c.name.clone(),
                state,
                waited_s: within.as_secs(),
            });
        }
        tokio::time::sleep(DESCRIBE_EVERY).await;
    }
}

/// Runs a control-plane call with the call timeout, its error in words.
async fn call<T, E>(
    efo: &Efo,
    operation: &'static str,
    name: &str,
    sent: impl Future<
        Output = Result<
            T,
            aws_sdk_kinesis::error::SdkError<E, aws_sdk_kinesis::config::http::HttpResponse>,
        >,
    >,
) -> Result<T, EfoError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match tokio::time::timeout(efo.call_timeout, sent).await {
        Err(_) => Err(no_answer(efo, operation, name)),
        Ok(r) => r.map_err(|e| EfoError::Call {
            operation,
            name: name.to_string(),
            detail: crate::endpoint::stream::message(&e),
        }),
    }
}

fn no_answer(efo: &Efo, operation: &'static str, name: &str) -> EfoError {
    EfoError::Call {
        operation,
        name: name.to_string(),
        detail: format!(
            "no answer from {} within {} s",
            efo.endpoint,
            efo.call_timeout.as_secs_f64()
        ),
    }
}
