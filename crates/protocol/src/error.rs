//! The one error type every handler returns, before a protocol gives it its envelope.

/// An AWS-shaped error: the code and message a client sees, and the HTTP status it arrives with.
///
/// `code` is the error *shape name* for modelled errors (`ClusterNotFoundException`); the encoders
/// look it up in the service schema to find the awsQuery code (`LoadBalancerNotFound`), the HTTP
/// status and the fault side. Unmodelled errors (`ValidationException`, `NotImplemented`,
/// `SerializationException`) keep `code` as is, with `status` and `sender_fault` from here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AwsError {
    pub code: String,
    pub message: String,
    pub status: u16,
    pub sender_fault: bool,
}

impl AwsError {
    /// A client error (HTTP 400 unless the schema says otherwise).
    pub fn client(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status: 400,
            sender_fault: true,
        }
    }

    /// A server error (HTTP 500).
    pub fn server(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status: 500,
            sender_fault: false,
        }
    }

    /// The answer for an operation that is routed but not built yet: HTTP 501, code `NotImplemented`.
    pub fn not_implemented(service_id: &str, operation: &str) -> Self {
        Self {
            code: "NotImplemented".into(),
            message: format!("ecsim does not implement the {service_id} operation {operation} yet"),
            status: 501,
            sender_fault: false,
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn is_not_implemented(&self) -> bool {
        self.code == "NotImplemented"
    }
}
