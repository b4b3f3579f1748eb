//! Creating what a delivery needs before the run, and deleting what kbench created after it:
//! the bucket (if missing) and, for `kind = "firehose"`, the delivery stream from the stream
//! into the bucket, waited for until ACTIVE (Firehose reads from LATEST once ACTIVE, so every
//! record the run sends after that is delivered).

use crate::endpoint::client;
use crate::scenario::{Delivery, Endpoint, FirehoseDelivery, Target};
use anyhow::{Context, bail};
use aws_sdk_firehose::types::{
    BufferingHints, CompressionFormat, DeliveryStreamStatus, DeliveryStreamType,
    ExtendedS3DestinationConfiguration, KinesisStreamSourceConfiguration, ProcessingConfiguration,
    Processor, ProcessorParameter, ProcessorParameterName, ProcessorType,
};
use std::time::{Duration, Instant};

/// The role the local endpoints are given: they check no IAM.
const LOCAL_ROLE: &str = "arn:aws:iam::000000000000:role/kbench-firehose";

/// What was prepared for a delivery, and what to delete afterwards.
pub struct Prepared {
    pub s3: aws_sdk_s3::Client,
    firehose: Option<aws_sdk_firehose::Client>,
    /// The delivery stream kbench created (deleted at the end).
    created_stream: Option<String>,
}

/// Makes the bucket if it is missing and, for a Firehose delivery, creates the delivery stream
/// reading `stream_arn` and waits until it is ACTIVE (within `deadline`).
pub async fn prepare(
    delivery: &Delivery,
    target: &Target,
    local_url: Option<&str>,
    stream_arn: &str,
    deadline: Duration,
) -> anyhow::Result<Prepared> {
    let region = target.region.as_deref();
    let s3 = client::s3(&target.endpoint, region, local_url).await?;
    ensure_bucket(&s3, &delivery.bucket, &target.endpoint).await?;
    let Some(f) = &delivery.firehose else {
        return Ok(Prepared {
            s3,
            firehose: None,
            created_stream: None,
        });
    };
    let firehose = client::firehose(&target.endpoint, region, local_url).await?;
    let role = match (&f.role_arn, &target.endpoint) {
        (Some(role), _) => role.clone(),
        (None, Endpoint::Aws) => bail!(
            "[delivery] on AWS needs `role_arn`: a role trusted by firehose.amazonaws.com that may read the stream and write the bucket (docs/pipeline.md lists its policies)"
        ),
        (None, _) => LOCAL_ROLE.to_string(),
    };
    let created =
        create_delivery_stream(&firehose, delivery, f, &role, stream_arn, &target.endpoint).await?;
    let prepared = Prepared {
        s3,
        firehose: Some(firehose),
        created_stream: Some(created),
    };
    if let Err(e) = prepared
        .wait_active(&f.delivery_stream, deadline, &target.endpoint)
        .await
    {
        prepared.cleanup().await;
        return Err(e);
    }
    Ok(prepared)
}

/// Creates `bucket` unless it exists (in the client's region: outside us-east-1 S3 needs the
/// region as the bucket's location constraint).
async fn ensure_bucket(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    endpoint: &Endpoint,
) -> anyhow::Result<()> {
    if s3.head_bucket().bucket(bucket).send().await.is_ok() {
        return Ok(());
    }
    let mut create = s3.create_bucket().bucket(bucket);
    let region = s3.config().region().map(|r| r.as_ref().to_string());
    if let Some(region) = region.filter(|r| r != "us-east-1" && *endpoint == Endpoint::Aws) {
        use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
        {
            Ok(())
        }
        Err(e) if matches!(endpoint, Endpoint::Url(_)) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            bail!(
                "cannot create the bucket `{bucket}` ([delivery] bucket): {}",
                without_pipeline(endpoint, "S3", status)
            )
        }
        Err(e) => bail!(
            "cannot create the bucket `{bucket}` ([delivery] bucket) on {endpoint}: {}",
            aws_sdk_s3::error::DisplayErrorContext(&e)
        ),
    }
}

/// What to say when a URL endpoint does not serve `api` (S3 or Firehose): most Kinesis
/// emulators serve Kinesis only.
fn without_pipeline(endpoint: &Endpoint, api: &str, status: Option<u16>) -> String {
    let answered = status.map_or("no answer".to_string(), |s| format!("HTTP {s}"));
    format!(
        "{endpoint} does not serve {api} ({answered}); kinesalite, kinesis-mock and `kbench serve --null` serve Kinesis only: use the embedded endpoint, `kbench serve`, or --endpoint aws"
    )
}

/// The AppendDelimiterToRecord parameter for `delimiter`: control characters written as the
/// escapes Firehose reads (`\n`, `\t`, `\r`, `\\`).
fn escaped(delimiter: &str) -> String {
    delimiter
        .replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\t', "\\t")
        .replace('\r', "\\r")
}

async fn create_delivery_stream(
    firehose: &aws_sdk_firehose::Client,
    delivery: &Delivery,
    f: &FirehoseDelivery,
    role: &str,
    stream_arn: &str,
    endpoint: &Endpoint,
) -> anyhow::Result<String> {
    let build = || -> Result<_, aws_sdk_firehose::error::BuildError> {
        let source = KinesisStreamSourceConfiguration::builder()
            .kinesis_stream_arn(stream_arn)
            .role_arn(role)
            .build()?;
        let hints = BufferingHints::builder()
            .size_in_mbs(f.buffer_mib as i32)
            .interval_in_seconds(f.buffer_interval.as_secs() as i32)
            .build();
        let mut s3 = ExtendedS3DestinationConfiguration::builder()
            .role_arn(role)
            .bucket_arn(format!("arn:aws:s3:::{}", delivery.bucket))
            .prefix(&delivery.prefix)
            .error_output_prefix(&f.error_prefix)
            .buffering_hints(hints)
            .compression_format(if f.gzip {
                CompressionFormat::Gzip
            } else {
                CompressionFormat::Uncompressed
            });
        if let Some(delimiter) = &f.delimiter {
            let processor = Processor::builder()
                .r#type(ProcessorType::AppendDelimiterToRecord)
                .parameters(
                    ProcessorParameter::builder()
                        .parameter_name(ProcessorParameterName::Delimiter)
                        .parameter_value(escaped(delimiter))
                        .build()?,
                )
                .build()?;
            s3 = s3.processing_configuration(
                ProcessingConfiguration::builder()
                    .enabled(true)
                    .processors(processor)
                    .build(),
            );
        }
        Ok((source, s3.build()?))
    };
    let (source, s3) = build().context("cannot describe the delivery stream to create")?;
    let name = &f.delivery_stream;
    let created = firehose
        .create_delivery_stream()
        .delivery_stream_name(name)
        .delivery_stream_type(DeliveryStreamType::KinesisStreamAsSource)
        .kinesis_stream_source_configuration(source)
        .extended_s3_destination_configuration(s3)
        .send()
        .await;
    match created {
        Ok(_) => Ok(name.clone()),
        Err(e) => {
            let code = e.as_service_error().and_then(|s| {
                use aws_sdk_firehose::error::ProvideErrorMetadata;
                s.code().map(str::to_string)
            });
            let said = aws_sdk_firehose::error::DisplayErrorContext(&e).to_string();
            match code.as_deref() {
                Some("ResourceInUseException") => bail!(
                    "a delivery stream `{name}` exists already on {endpoint}: delete it, or give [delivery] delivery_stream another name"
                ),
                Some("UnknownOperationException") | None
                    if matches!(endpoint, Endpoint::Url(_)) =>
                {
                    let status = e.raw_response().map(|r| r.status().as_u16());
                    bail!(
                        "cannot create the delivery stream `{name}`: {}",
                        without_pipeline(endpoint, "Firehose", status)
                    )
                }
                _ => bail!("cannot create the delivery stream `{name}` on {endpoint}: {said}"),
            }
        }
    }
}

impl Prepared {
    /// Waits until the delivery stream is ACTIVE, within `deadline`.
    async fn wait_active(
        &self,
        name: &str,
        deadline: Duration,
        endpoint: &Endpoint,
    ) -> anyhow::Result<()> {
        let Some(firehose) = &self.firehose else {
            return Ok(());
        };
        let began = Instant::now();
        let poll = if *endpoint == Endpoint::Aws {
            Duration::from_secs(5)
        } else {
            Duration::from_millis(50)
        };
        loop {
            let described = firehose
                .describe_delivery_stream()
                .delivery_stream_name(name)
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot describe the delivery stream `{name}`: {}",
                        aws_sdk_firehose::error::DisplayErrorContext(&e)
                    )
                })?;
            let status = described
                .delivery_stream_description()
                .map(|d| d.delivery_stream_status().clone());
            match status {
                Some(DeliveryStreamStatus::Active) => return Ok(()),
                Some(DeliveryStreamStatus::CreatingFailed) => {
                    bail!("the delivery stream `{name}` failed to be created (CREATING_FAILED)")
                }
                _ if began.elapsed() >= deadline => bail!(
                    "the delivery stream `{name}` was not ACTIVE within {} s",
                    deadline.as_secs()
                ),
                _ => tokio::time::sleep(poll).await,
            }
        }
    }

    /// Deletes the delivery stream kbench created; the bucket and its objects stay (they are
    /// what the run delivered).
    pub async fn cleanup(&self) {
        let (Some(firehose), Some(name)) = (&self.firehose, &self.created_stream) else {
            return;
        };
        if let Err(e) = firehose
            .delete_delivery_stream()
            .delivery_stream_name(name)
            .send()
            .await
        {
            eprintln!(
                "warning: cannot delete the delivery stream `{name}`: {}",
                aws_sdk_firehose::error::DisplayErrorContext(&e)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_sent_as_the_escapes_firehose_reads() {
        assert_eq!(escaped("\n"), "\\n");
        assert_eq!(escaped("|\t|"), "|\\t|");
        assert_eq!(escaped("\\"), "\\\\");
    }
}
