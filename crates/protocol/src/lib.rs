//! AWS wire protocols for ecsim. Turns HTTP requests into (service, operation, validated JSON
//! input) and JSON outputs or [`AwsError`]s back into HTTP responses, for awsJson 1.0/1.1,
//! awsQuery, the EC2 query dialect and Smithy RPC v2 CBOR.
//!
//! It knows no service: everything service-specific comes from the generated [`schema`] tables.
//! It holds no state, reads no clock and touches no socket.
//!
//! Every protocol decodes into one canonical `serde_json::Value` keyed by model member names
//! (what awsJson would send): timestamps are epoch-second numbers, blobs base64 strings.
//! Outputs come back in the same form and are encoded per protocol from the schema.

mod body;
mod cbor;
mod ec2;
pub mod encode;
pub mod error;
mod json;
mod query;
pub mod route;
pub mod schema;
pub mod sigv4;
pub mod time;
pub mod validate;
mod xml;

#[cfg(test)]
mod tests;

pub use body::MAX_DECOMPRESSED_BODY_BYTES;
pub use encode::{EncodedResponse, ResolvedError, encode_error, encode_output, resolve_error};
pub use error::AwsError;
pub use route::{Caller, Catalog, DecodedRequest, ErrorContext, RequestError, decode_request, guess_context};
pub use schema::{OperationSchema, Protocol, ServiceSchema, ShapeRef};
pub use sigv4::{Credential, parse_authorization, parse_credential_scope};
pub use validate::{validate, validate_for};
