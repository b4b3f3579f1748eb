//! Requests as large as Kinesis takes: a PutRecords body of up to [`MAX_BODY_BYTES`], enough for
//! the current 10 MiB quota in base64 and JSON.
//!
//! Real Kinesis: PutRecords takes up to 500 records of up to 1 MiB each, 5 MiB a call (10 MiB on
//! the current quota page; ../shared/spec/KINESIS.md, "Data-plane limits"); past those it
//! answers ValidationException or InvalidArgumentException, an error the client can read.
//!
//! Why ferrokinesis 0.7 lacks it: its router, used as a library, reads bodies with axum's default
//! limit of 2 MiB (its own binary raises it to 7 MiB), so a PutRecords of 500 records of 4 KiB
//! (2.7 MiB of base64) was refused with a 413 before ferrokinesis looked at it, and every record
//! of a run with large batches was given up. With the limit raised, ferrokinesis's own checks
//! answer: ValidationException past 500 records or 1 MiB a record, InvalidArgumentException past
//! 5 MiB a call. Bodies over [`MAX_BODY_BYTES`] still get a 413, a SerializationException.
//!
//! It is on whatever the options say: it is what Kinesis accepts, not a limit to measure.

use super::EmbeddedOptions;
use super::request::MAX_BODY_BYTES;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use ferrokinesis::store::Store;

/// Puts the behaviour on `router`.
pub(super) fn layer(router: Router, _store: &Store, _options: &EmbeddedOptions) -> Router {
    router.layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}
