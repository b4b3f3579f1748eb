//! What the layers over ferrokinesis read from a request, in one place so that each layer holds
//! only its behaviour: the operation it calls (from X-Amz-Target) and its body (read whole, with
//! a size cap).

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// Largest request body read: a 5 MiB PutRecords, base64-encoded, with its JSON.
pub(crate) const MAX_BODY_BYTES: usize = 16 << 20;

/// A request's X-Amz-Target (`Kinesis_20131202.PutRecords`); empty without one.
pub(crate) fn target(headers: &HeaderMap) -> &str {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The operation a request calls: what follows the last dot of its X-Amz-Target
/// (`Kinesis_20131202.PutRecords` gives `PutRecords`); empty without the header.
pub(crate) fn operation(headers: &HeaderMap) -> &str {
    target(headers).rsplit('.').next().unwrap_or("")
}

/// Reads the whole body of `request` (at most [`MAX_BODY_BYTES`]) and returns the request,
/// carrying the same body again for the layers and ferrokinesis after this one, with the bytes.
/// A body that cannot be read is answered here with a 400, the `Err`.
pub(crate) async fn read_body(request: Request) -> Result<(Request, Bytes), Response> {
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => Ok((Request::from_parts(parts, Body::from(bytes.clone())), bytes)),
        Err(e) => Err(Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .body(Body::from(format!("cannot read the request body: {e}")))
            .unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers_for(operation: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(target) = HeaderValue::from_str(&format!("Kinesis_20131202.{operation}")) {
            headers.insert("x-amz-target", target);
        }
        headers
    }

    #[test]
    fn the_operation_is_what_follows_the_last_dot_of_the_target() {
        assert_eq!(operation(&headers_for("PutRecords")), "PutRecords");
        assert_eq!(
            target(&headers_for("PutRecords")),
            "Kinesis_20131202.PutRecords"
        );
        let mut headers = HeaderMap::new();
        assert_eq!(operation(&headers), "");
        headers.insert("x-amz-target", HeaderValue::from_static("GetRecords"));
        assert_eq!(operation(&headers), "GetRecords");
    }
}
