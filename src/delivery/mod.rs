//! The pipeline's leg into S3 (`[delivery]`): what kbench creates for it ([`setup`]) and how
//! it checks what lands ([`verify`]).
//!
//! The same calls go to the embedded endpoint and to AWS: aws-sdk-s3 for the bucket and the
//! objects, aws-sdk-firehose for the delivery stream.

pub mod setup;
pub mod verify;
