//! Static shape schemas, generated from the botocore service models by `ecsim-codegen`.
//!
//! The codecs and the validator walk these tables; they never know which service they serve.
//! Everything here is `'static` data: the generator writes one `ServiceSchema` per service.

/// Index of a shape in its service's `shapes` table.
pub type ShapeRef = u16;

/// The wire protocols a service model can list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// awsJson 1.0 or 1.1 (`X-Amz-Target`).
    Json,
    /// awsQuery: form in, XML out with `<OpResult>` wrappers.
    Query,
    /// The EC2 query dialect: flattened lists, no result wrapper, `<item>` list members.
    Ec2,
    /// Smithy RPC v2 CBOR, path-routed.
    RpcV2Cbor,
}

/// One service: its identity on the wire and its shapes and operations.
#[derive(Debug)]
pub struct ServiceSchema {
    /// Short name used inside ecsim (`ecs`, `elbv2`, `cloudwatch`, …).
    pub name: &'static str,
    /// The model's `serviceId` (`ECS`, `Elastic Load Balancing v2`, …).
    pub service_id: &'static str,
    /// SigV4 signing name (`ecs`, `elasticloadbalancing`, `monitoring`, …).
    pub signing_name: &'static str,
    pub api_version: &'static str,
    /// `X-Amz-Target` prefix for JSON, and the service segment of the CBOR path.
    pub target_prefix: Option<&'static str>,
    /// `1.0` or `1.1` for JSON services.
    pub json_version: Option<&'static str>,
    /// XML namespace for query and EC2 responses.
    pub xml_namespace: Option<&'static str>,
    /// Every protocol the model lists, in the model's order.
    pub protocols: &'static [Protocol],
    /// Whether the model is `awsQueryCompatible` (JSON/CBOR errors then carry `x-amzn-query-error`).
    pub aws_query_compatible: bool,
    /// Smithy namespace used for absolute shape ids in JSON 1.0 / CBOR errors (`com.amazonaws.cloudwatch`).
    pub smithy_namespace: &'static str,
    pub shapes: &'static [Shape],
    pub operations: &'static [OperationSchema],
}

#[derive(Debug)]
pub struct OperationSchema {
    pub name: &'static str,
    pub input: Option<ShapeRef>,
    pub output: Option<ShapeRef>,
    /// awsQuery result wrapper element (`<OpResult>`), from the model's `resultWrapper`.
    pub result_wrapper: Option<&'static str>,
    /// Error shapes this operation may return.
    pub errors: &'static [ShapeRef],
}

#[derive(Debug)]
pub struct Shape {
    pub name: &'static str,
    pub kind: ShapeKind,
    /// Length (strings, blobs), count (lists, maps) or value (numbers) bounds from `min`/`max`.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Present on error shapes.
    pub error: Option<ErrorInfo>,
}

#[derive(Debug)]
pub enum ShapeKind {
    Structure {
        members: &'static [Member],
        /// `union` shapes: exactly one member may be set.
        union: bool,
    },
    List {
        member: ShapeRef,
        /// Element name of list members in XML (`locationName` on the list's member).
        member_location_name: Option<&'static str>,
        flattened: bool,
    },
    Map {
        key: ShapeRef,
        value: ShapeRef,
        key_location_name: Option<&'static str>,
        value_location_name: Option<&'static str>,
        flattened: bool,
    },
    String {
        /// Allowed values when the shape is an enum; empty otherwise.
        enum_values: &'static [&'static str],
    },
    Integer,
    Long,
    Float,
    Double,
    Boolean,
    Timestamp {
        format: Option<TimestampFormat>,
    },
    Blob,
    /// A free-form JSON document.
    Document,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampFormat {
    Iso8601,
    EpochSeconds,
    Rfc822,
}

#[derive(Debug)]
pub struct Member {
    /// Member name as in the model (the JSON/CBOR key, and the awsQuery key part).
    pub name: &'static str,
    pub target: ShapeRef,
    pub required: bool,
    /// XML element name / EC2 response name, from `locationName`.
    pub location_name: Option<&'static str>,
    /// EC2 request key, from `queryName`.
    pub query_name: Option<&'static str>,
    /// Member-level `flattened` (awsQuery lists and maps).
    pub flattened: bool,
    /// Member-level XML attribute.
    pub xml_attribute: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct ErrorInfo {
    /// The awsQuery error code (`error.code`), or the shape name when the model gives none.
    pub code: &'static str,
    pub http_status: u16,
    pub sender_fault: bool,
}

impl ServiceSchema {
    pub fn shape(&self, r: ShapeRef) -> &'static Shape {
        &self.shapes[usize::from(r)]
    }

    pub fn operation(&self, name: &str) -> Option<&'static OperationSchema> {
        self.operations
            .binary_search_by(|op| op.name.cmp(name))
            .ok()
            .map(|i| &self.operations[i])
    }

    pub fn shape_by_name(&self, name: &str) -> Option<ShapeRef> {
        self.shapes
            .iter()
            .position(|s| s.name == name)
            .and_then(|i| ShapeRef::try_from(i).ok())
    }

    pub fn speaks(&self, protocol: Protocol) -> bool {
        self.protocols.contains(&protocol)
    }
}
