//! `[delivery]`: the leg into S3 (../shared/spec/KINESIS.md, "Firehose delivery"). Checked as
//! Firehose checks a delivery stream (bucket names, buffering hints in whole MiB and seconds,
//! prefixes), so that a scenario AWS would refuse is refused before anything is created.

use super::super::model::{RawDelivery, S};
use super::super::units::parse_size;
use super::super::*;
use super::Validator;
use super::values::check_duration;
use std::time::Duration;

/// Keys that only a Firehose delivery takes (kind = "s3" watches someone else's pipeline).
const FIREHOSE_ONLY: &str = "applies to kind = \"firehose\" only: with kind = \"s3\" kbench only watches the bucket and prefix that another pipeline writes; remove it";

impl Validator<'_> {
    pub(super) fn delivery(
        &mut self,
        raw: &Option<S<RawDelivery>>,
        stream: &str,
    ) -> Option<Delivery> {
        let s = raw.as_ref()?;
        let d = s.get_ref();
        let kind = self.get(&d.kind, "delivery.kind", DeliveryKind::Firehose, |k| {
            match k.as_str() {
                "firehose" => Ok(DeliveryKind::Firehose),
                "s3" => Ok(DeliveryKind::S3),
                other => Err(format!(
                    "unknown delivery kind `{other}`{}; use \"firehose\" (kbench creates a delivery stream from the stream into the bucket) or \"s3\" (kbench watches a bucket another pipeline writes)",
                    crate::scenario::suggest(other, &["firehose", "s3"])
                )),
            }
        });
        let bucket = match &d.bucket {
            None => {
                self.push(
                    s.span(),
                    Some("delivery.bucket"),
                    "[delivery] needs the bucket the objects land in, e.g. bucket = \"kbench-pipeline\"",
                );
                String::new()
            }
            Some(b) => self.get(&d.bucket, "delivery.bucket", String::new(), |name| {
                check_bucket_name(name).map(|()| b.get_ref().clone())
            }),
        };
        let prefix = self.get(&d.prefix, "delivery.prefix", format!("{stream}/"), |p| {
            check_prefix(p).map(|()| p.clone())
        });
        let firehose = kind == DeliveryKind::Firehose;
        if !firehose {
            for (set, key) in [
                (d.error_prefix.as_ref().map(|v| v.span()), "error_prefix"),
                (
                    d.delivery_stream.as_ref().map(|v| v.span()),
                    "delivery_stream",
                ),
                (d.buffer.as_ref().map(|v| v.span()), "buffer"),
                (d.compression.as_ref().map(|v| v.span()), "compression"),
                (d.delimiter.as_ref().map(|v| v.span()), "delimiter"),
                (d.role_arn.as_ref().map(|v| v.span()), "role_arn"),
            ] {
                if let Some(at) = set {
                    self.push(at, Some(&format!("delivery.{key}")), FIREHOSE_ONLY);
                }
            }
        }
        let buffer = d.buffer.as_ref().map(|b| b.get_ref());
        let buffer_mib = self.get(
            &buffer.and_then(|b| b.size.clone()),
            "delivery.buffer.size",
            5,
            |v| {
                let bytes = match v {
                    toml::Value::String(text) => parse_size(text)?,
                    _ => return Err("expected a size such as \"5MiB\"".into()),
                };
                let mib = bytes >> 20;
                if bytes % (1 << 20) != 0 {
                    Err(format!(
                        "{bytes} bytes is not a whole number of MiB; Firehose's buffering size is 1 to 128 MiB in whole MiB, e.g. \"5MiB\""
                    ))
                } else if !limits::DELIVERY_BUFFER_MIB.contains(&mib) {
                    Err(format!(
                        "{mib} MiB is out of Firehose's range for S3: use 1MiB to 128MiB"
                    ))
                } else {
                    Ok(mib as u32)
                }
            },
        );
        let buffer_interval = self.get(
            &buffer.and_then(|b| b.interval.clone()),
            "delivery.buffer.interval",
            Duration::from_secs(300),
            |text| {
                let d = check_duration(text, "delivery.buffer.interval", &limits::DELIVERY_INTERVAL)?;
                if d.subsec_nanos() != 0 {
                    Err(format!(
                        "{text} is not a whole number of seconds; Firehose's buffering interval is 0 to 900 s in whole seconds"
                    ))
                } else {
                    Ok(d)
                }
            },
        );
        let gzip = self.get(&d.compression, "delivery.compression", false, |c| {
            match c.as_str() {
                "none" | "uncompressed" | "UNCOMPRESSED" => Ok(false),
                "gzip" | "GZIP" => Ok(true),
                other => Err(format!(
                    "`{other}` is not a compression kbench can read back; use \"none\" or \"gzip\""
                )),
            }
        });
        let delimiter = self.get(&d.delimiter, "delivery.delimiter", None, |text| {
            if text.is_empty() {
                Err("an empty delimiter appends nothing; remove the key to concatenate records, or use e.g. \"\\n\"".into())
            } else {
                Ok(Some(text.clone()))
            }
        });
        let error_prefix = self.get(
            &d.error_prefix,
            "delivery.error_prefix",
            format!("{stream}-errors/!{{firehose:error-output-type}}/"),
            |p| check_prefix(p).map(|()| p.clone()),
        );
        let delivery_stream = self.get(
            &d.delivery_stream,
            "delivery.delivery_stream",
            format!("{stream}-to-s3"),
            |n| check_delivery_stream_name(n).map(|()| n.clone()),
        );
        if d.delivery_stream.is_none()
            && let Err(e) = check_delivery_stream_name(&delivery_stream)
        {
            self.push(
                s.span(),
                Some("delivery.delivery_stream"),
                format!(
                    "the delivery stream defaults to `<stream>-to-s3`, and {e}; set `delivery_stream`"
                ),
            );
        }
        let role_arn = self.get(&d.role_arn, "delivery.role_arn", None, |r| {
            if r.starts_with("arn:") && r.contains(":role/") {
                Ok(Some(r.clone()))
            } else {
                Err(format!(
                    "`{r}` is not a role ARN; use arn:aws:iam::ACCOUNT:role/NAME, or remove it and kbench creates the role"
                ))
            }
        });
        // the last objects land one interval after their records, then a listing sees them
        let default_drain = buffer_interval + Duration::from_secs(30);
        let drain = self.duration(
            &d.drain,
            "delivery.drain",
            default_drain.min(limits::DELIVERY_DRAIN.max),
            &limits::DELIVERY_DRAIN,
        );
        Some(Delivery {
            kind,
            bucket,
            prefix,
            firehose: firehose.then_some(FirehoseDelivery {
                delivery_stream,
                error_prefix,
                buffer_mib,
                buffer_interval,
                gzip,
                delimiter,
                role_arn,
            }),
            drain,
        })
    }
}

/// S3's rules for a bucket name (general purpose buckets).
fn check_bucket_name(name: &str) -> Result<(), String> {
    let fix = "bucket names are 3-63 characters of lowercase letters, digits, `.` and `-`, beginning and ending with a letter or digit, e.g. \"kbench-pipeline\"";
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let ends_ok = name
        .chars()
        .next()
        .zip(name.chars().last())
        .is_some_and(|(a, z)| a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric());
    let ip_like = name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok());
    if !(3..=63).contains(&name.len()) || !chars_ok || !ends_ok {
        Err(format!("`{name}` is not a valid bucket name: {fix}"))
    } else if name.contains("..") || ip_like {
        Err(format!(
            "`{name}` is not a valid bucket name: no two dots in a row and not an IP address; {fix}"
        ))
    } else {
        Ok(())
    }
}

/// Firehose's rule for a delivery stream name.
fn check_delivery_stream_name(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid delivery stream name: use 1-64 letters, digits, `_`, `.` or `-`"
        ))
    }
}

/// A prefix: S3 keys are at most 1,024 bytes, and expressions must be closed.
fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.len() > 512 {
        return Err(format!(
            "a prefix of {} bytes leaves no room for the object names (S3 keys are at most 1,024 bytes); use at most 512",
            prefix.len()
        ));
    }
    let mut rest = prefix;
    while let Some(at) = rest.find("!{") {
        match rest[at..].find('}') {
            Some(end) => rest = &rest[at + end + 1..],
            None => {
                return Err(format!(
                    "the expression at `{}` is not closed with `}}`",
                    &rest[at..]
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert!(check_bucket_name("kbench-pipeline").is_ok());
        assert!(check_bucket_name("a.b-c1").is_ok());
        for bad in [
            "ab",
            "Upper",
            "-start",
            "end-",
            "a..b",
            "192.168.1.1",
            "under_score",
        ] {
            let e = check_bucket_name(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }
}
