//! Small hand-written service schemas shaped like the generated ones (operations sorted by name),
//! modelled on slices of the real ECS, CloudWatch, ELBv2, EC2, STS and CodeDeploy models.

use crate::route::Catalog;
use crate::schema::*;

const fn member(name: &'static str, target: ShapeRef) -> Member {
    Member {
        name,
        target,
        required: false,
        location_name: None,
        query_name: None,
        flattened: false,
        xml_attribute: false,
    }
}

const fn required(name: &'static str, target: ShapeRef) -> Member {
    Member {
        required: true,
        ..member(name, target)
    }
}

const fn located(name: &'static str, target: ShapeRef, location: &'static str) -> Member {
    Member {
        location_name: Some(location),
        ..member(name, target)
    }
}

const fn shape(name: &'static str, kind: ShapeKind) -> Shape {
    Shape {
        name,
        kind,
        min: None,
        max: None,
        error: None,
    }
}

const fn bounded(name: &'static str, kind: ShapeKind, min: Option<f64>, max: Option<f64>) -> Shape {
    Shape {
        name,
        kind,
        min,
        max,
        error: None,
    }
}

const fn structure(members: &'static [Member]) -> ShapeKind {
    ShapeKind::Structure {
        members,
        union: false,
    }
}

const fn list(member: ShapeRef) -> ShapeKind {
    ShapeKind::List {
        member,
        member_location_name: None,
        flattened: false,
    }
}

const fn list_of(member: ShapeRef, location: &'static str) -> ShapeKind {
    ShapeKind::List {
        member,
        member_location_name: Some(location),
        flattened: false,
    }
}

const STRING: ShapeKind = ShapeKind::String { enum_values: &[] };

const fn error(
    name: &'static str,
    members: &'static [Member],
    code: &'static str,
    status: u16,
    sender: bool,
) -> Shape {
    Shape {
        name,
        kind: structure(members),
        min: None,
        max: None,
        error: Some(ErrorInfo {
            code,
            http_status: status,
            sender_fault: sender,
        }),
    }
}

const fn op(
    name: &'static str,
    input: Option<ShapeRef>,
    output: Option<ShapeRef>,
    errors: &'static [ShapeRef],
) -> OperationSchema {
    OperationSchema {
        name,
        input,
        output,
        result_wrapper: None,
        errors,
    }
}

const fn query_op(
    name: &'static str,
    input: Option<ShapeRef>,
    output: Option<ShapeRef>,
    wrapper: &'static str,
    errors: &'static [ShapeRef],
) -> OperationSchema {
    OperationSchema {
        name,
        input,
        output,
        result_wrapper: Some(wrapper),
        errors,
    }
}

// ---------------------------------------------------------------------------------------------
// ECS (awsJson 1.1)

pub(crate) mod ecs {
    use super::*;

    pub const STRING_: ShapeRef = 0;
    pub const BOOLEAN: ShapeRef = 1;
    pub const BOXED_INTEGER: ShapeRef = 2;
    pub const LONG: ShapeRef = 3;
    pub const DOUBLE: ShapeRef = 4;
    pub const TIMESTAMP: ShapeRef = 5;
    pub const BLOB: ShapeRef = 6;
    pub const DOCUMENT: ShapeRef = 7;
    pub const LAUNCH_TYPE: ShapeRef = 8;
    pub const STRING_LIST: ShapeRef = 9;
    pub const SERVICE_NAME: ShapeRef = 10;
    pub const DEPLOYMENT_CONFIGURATION: ShapeRef = 11;
    pub const PERCENT: ShapeRef = 12;
    pub const TAG: ShapeRef = 13;
    pub const TAG_KEY: ShapeRef = 14;
    pub const TAGS: ShapeRef = 15;
    pub const STRING_MAP: ShapeRef = 16;
    pub const CREATE_SERVICE_REQUEST: ShapeRef = 17;
    pub const CREATE_SERVICE_RESPONSE: ShapeRef = 18;
    pub const SERVICE: ShapeRef = 19;
    pub const DESCRIBE_SERVICES_REQUEST: ShapeRef = 20;
    pub const DESCRIBE_SERVICES_RESPONSE: ShapeRef = 21;
    pub const SERVICES: ShapeRef = 22;
    pub const FAILURE: ShapeRef = 23;
    pub const FAILURES: ShapeRef = 24;
    pub const CLUSTER_NOT_FOUND: ShapeRef = 25;
    pub const SERVER_EXCEPTION: ShapeRef = 26;
    pub const PLACEMENT: ShapeRef = 27;

    pub static SCHEMA: ServiceSchema = ServiceSchema {
        name: "ecs",
        service_id: "ECS",
        signing_name: "ecs",
        api_version: "2014-11-13",
        target_prefix: Some("AmazonEC2ContainerServiceV20141113"),
        json_version: Some("1.1"),
        xml_namespace: None,
        protocols: &[Protocol::Json],
        aws_query_compatible: false,
        smithy_namespace: "com.amazonaws.ecs",
        shapes: &[
            shape("String", STRING),
            shape("Boolean", ShapeKind::Boolean),
            shape("BoxedInteger", ShapeKind::Integer),
            shape("Long", ShapeKind::Long),
            shape("Double", ShapeKind::Double),
            shape("Timestamp", ShapeKind::Timestamp { format: None }),
            bounded("Blob", ShapeKind::Blob, Some(1.0), Some(16.0)),
            shape("Document", ShapeKind::Document),
            shape(
                "LaunchType",
                ShapeKind::String {
                    enum_values: &["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"],
                },
            ),
            shape("StringList", list(STRING_)),
            bounded("ServiceName", STRING, Some(1.0), Some(255.0)),
            shape(
                "DeploymentConfiguration",
                structure(&[
                    member("maximumPercent", BOXED_INTEGER),
                    member("minimumHealthyPercent", PERCENT),
                ]),
            ),
            bounded("Percent", ShapeKind::Integer, Some(0.0), Some(100.0)),
            shape(
                "Tag",
                structure(&[required("key", TAG_KEY), member("value", STRING_)]),
            ),
            bounded("TagKey", STRING, Some(1.0), Some(128.0)),
            bounded("Tags", list(TAG), None, Some(3.0)),
            shape(
                "StringMap",
                ShapeKind::Map {
                    key: TAG_KEY,
                    value: STRING_,
                    key_location_name: None,
                    value_location_name: None,
                    flattened: false,
                },
            ),
            shape(
                "CreateServiceRequest",
                structure(&[
                    member("cluster", STRING_),
                    required("serviceName", SERVICE_NAME),
                    member("desiredCount", BOXED_INTEGER),
                    member("launchType", LAUNCH_TYPE),
                    member("tags", TAGS),
                    member("deploymentConfiguration", DEPLOYMENT_CONFIGURATION),
                    member("enableExecuteCommand", BOOLEAN),
                    member("startedAt", TIMESTAMP),
                    member("payload", BLOB),
                    member("weight", DOUBLE),
                    member("big", LONG),
                    member("labels", STRING_MAP),
                    member("config", DOCUMENT),
                    member("placement", PLACEMENT),
                ]),
            ),
            shape("CreateServiceResponse", structure(&[member("service", SERVICE)])),
            shape(
                "Service",
                structure(&[
                    member("serviceName", STRING_),
                    member("status", STRING_),
                    member("desiredCount", BOXED_INTEGER),
                    member("createdAt", TIMESTAMP),
                    member("launchType", LAUNCH_TYPE),
                ]),
            ),
            shape(
                "DescribeServicesRequest",
                structure(&[member("cluster", STRING_), required("services", STRING_LIST)]),
            ),
            shape(
                "DescribeServicesResponse",
                structure(&[member("services", SERVICES), member("failures", FAILURES)]),
            ),
            shape("Services", list(SERVICE)),
            shape(
                "Failure",
                structure(&[member("arn", STRING_), member("reason", STRING_)]),
            ),
            shape("Failures", list(FAILURE)),
            error(
                "ClusterNotFoundException",
                &[member("message", STRING_)],
                "ClusterNotFoundException",
                400,
                true,
            ),
            error(
                "ServerException",
                &[member("message", STRING_)],
                "ServerException",
                500,
                false,
            ),
            shape(
                "Placement",
                ShapeKind::Structure {
                    members: &[member("spread", STRING_), member("binpack", STRING_)],
                    union: true,
                },
            ),
        ],
        operations: &[
            op(
                "CreateService",
                Some(CREATE_SERVICE_REQUEST),
                Some(CREATE_SERVICE_RESPONSE),
                &[CLUSTER_NOT_FOUND, SERVER_EXCEPTION],
            ),
            op(
                "DescribeServices",
                Some(DESCRIBE_SERVICES_REQUEST),
                Some(DESCRIBE_SERVICES_RESPONSE),
                &[CLUSTER_NOT_FOUND, SERVER_EXCEPTION],
            ),
        ],
    };
}

// ---------------------------------------------------------------------------------------------
// CloudWatch (RPC v2 CBOR, awsJson 1.0, awsQuery; query-compatible)

pub(crate) mod cw {
    use super::*;

    pub const STRING_: ShapeRef = 0;
    pub const ALARM_NAME: ShapeRef = 1;
    pub const ALARM_NAMES: ShapeRef = 2;
    pub const STATE_VALUE: ShapeRef = 3;
    pub const MAX_RECORDS: ShapeRef = 4;
    pub const DESCRIBE_ALARMS_INPUT: ShapeRef = 5;
    pub const DESCRIBE_ALARMS_OUTPUT: ShapeRef = 6;
    pub const METRIC_ALARMS: ShapeRef = 7;
    pub const METRIC_ALARM: ShapeRef = 8;
    pub const TIMESTAMP: ShapeRef = 9;
    pub const DOUBLE: ShapeRef = 10;
    pub const INTEGER: ShapeRef = 11;
    pub const BOOLEAN: ShapeRef = 12;
    pub const SET_ALARM_STATE_INPUT: ShapeRef = 13;
    pub const PUT_METRIC_DATA_INPUT: ShapeRef = 14;
    pub const METRIC_DATA: ShapeRef = 15;
    pub const METRIC_DATUM: ShapeRef = 16;
    pub const DIMENSIONS: ShapeRef = 17;
    pub const DIMENSION: ShapeRef = 18;
    pub const VALUES: ShapeRef = 19;
    pub const STANDARD_UNIT: ShapeRef = 20;
    pub const RESOURCE_NOT_FOUND: ShapeRef = 21;
    pub const INVALID_PARAMETER_VALUE: ShapeRef = 22;
    pub const MISSING_PARAMETER: ShapeRef = 23;
    pub const INTERNAL_SERVICE_FAULT: ShapeRef = 24;
    pub const NAMESPACE: ShapeRef = 25;
    pub const STATE_REASON: ShapeRef = 26;

    pub static SCHEMA: ServiceSchema = ServiceSchema {
        name: "cloudwatch",
        service_id: "CloudWatch",
        signing_name: "monitoring",
        api_version: "2010-08-01",
        target_prefix: Some("GraniteServiceVersion20100801"),
        json_version: Some("1.0"),
        xml_namespace: Some("http://monitoring.amazonaws.com/doc/2010-08-01/"),
        protocols: &[Protocol::RpcV2Cbor, Protocol::Json, Protocol::Query],
        aws_query_compatible: true,
        smithy_namespace: "com.amazonaws.cloudwatch",
        shapes: &[
            shape("String", STRING),
            bounded("AlarmName", STRING, Some(1.0), Some(255.0)),
            bounded("AlarmNames", list(ALARM_NAME), None, Some(100.0)),
            shape(
                "StateValue",
                ShapeKind::String {
                    enum_values: &["OK", "ALARM", "INSUFFICIENT_DATA"],
                },
            ),
            bounded("MaxRecords", ShapeKind::Integer, Some(1.0), Some(100.0)),
            shape(
                "DescribeAlarmsInput",
                structure(&[
                    member("AlarmNames", ALARM_NAMES),
                    member("StateValue", STATE_VALUE),
                    member("MaxRecords", MAX_RECORDS),
                    member("NextToken", STRING_),
                ]),
            ),
            shape(
                "DescribeAlarmsOutput",
                structure(&[
                    member("MetricAlarms", METRIC_ALARMS),
                    member("NextToken", STRING_),
                ]),
            ),
            shape("MetricAlarms", list(METRIC_ALARM)),
            shape(
                "MetricAlarm",
                structure(&[
                    member("AlarmName", ALARM_NAME),
                    member("ActionsEnabled", BOOLEAN),
                    member("StateValue", STATE_VALUE),
                    member("StateUpdatedTimestamp", TIMESTAMP),
                    member("Dimensions", DIMENSIONS),
                    member("EvaluationPeriods", INTEGER),
                    member("Threshold", DOUBLE),
                ]),
            ),
            shape("Timestamp", ShapeKind::Timestamp { format: None }),
            shape("Double", ShapeKind::Double),
            shape("Integer", ShapeKind::Integer),
            shape("Boolean", ShapeKind::Boolean),
            shape(
                "SetAlarmStateInput",
                structure(&[
                    required("AlarmName", ALARM_NAME),
                    required("StateValue", STATE_VALUE),
                    required("StateReason", STATE_REASON),
                    member("StateReasonData", STRING_),
                ]),
            ),
            shape(
                "PutMetricDataInput",
                structure(&[
                    required("Namespace", NAMESPACE),
                    member("MetricData", METRIC_DATA),
                ]),
            ),
            shape("MetricData", list(METRIC_DATUM)),
            shape(
                "MetricDatum",
                structure(&[
                    required("MetricName", STRING_),
                    member("Dimensions", DIMENSIONS),
                    member("Timestamp", TIMESTAMP),
                    member("Value", DOUBLE),
                    member("Values", VALUES),
                    member("Unit", STANDARD_UNIT),
                ]),
            ),
            bounded("Dimensions", list(DIMENSION), None, Some(30.0)),
            shape(
                "Dimension",
                structure(&[required("Name", STRING_), required("Value", STRING_)]),
            ),
            shape("Values", list(DOUBLE)),
            shape(
                "StandardUnit",
                ShapeKind::String {
                    enum_values: &["Seconds", "Count", "None"],
                },
            ),
            error(
                "ResourceNotFound",
                &[member("message", STRING_)],
                "ResourceNotFound",
                404,
                true,
            ),
            error(
                "InvalidParameterValueException",
                &[member("message", STRING_)],
                "InvalidParameterValue",
                400,
                true,
            ),
            error(
                "MissingRequiredParameterException",
                &[member("message", STRING_)],
                "MissingParameter",
                400,
                true,
            ),
            error(
                "InternalServiceFault",
                &[member("Message", STRING_)],
                "InternalServiceError",
                500,
                false,
            ),
            bounded("Namespace", STRING, Some(1.0), Some(255.0)),
            bounded("StateReason", STRING, Some(0.0), Some(1023.0)),
        ],
        operations: &[
            query_op(
                "DescribeAlarms",
                Some(DESCRIBE_ALARMS_INPUT),
                Some(DESCRIBE_ALARMS_OUTPUT),
                "DescribeAlarmsResult",
                &[],
            ),
            op(
                "PutMetricData",
                Some(PUT_METRIC_DATA_INPUT),
                None,
                &[INVALID_PARAMETER_VALUE, MISSING_PARAMETER, INTERNAL_SERVICE_FAULT],
            ),
            op(
                "SetAlarmState",
                Some(SET_ALARM_STATE_INPUT),
                None,
                &[RESOURCE_NOT_FOUND],
            ),
        ],
    };
}

// ---------------------------------------------------------------------------------------------
// ELBv2 (awsQuery), plus a codec probe operation covering maps, flattened lists and scalars.

pub(crate) mod elb {
    use super::*;

    pub const STRING_: ShapeRef = 0;
    pub const PORT: ShapeRef = 1;
    pub const TARGET_DESCRIPTION: ShapeRef = 2;
    pub const TARGET_DESCRIPTIONS: ShapeRef = 3;
    pub const DESCRIBE_TARGET_HEALTH_INPUT: ShapeRef = 4;
    pub const DESCRIBE_TARGET_HEALTH_OUTPUT: ShapeRef = 5;
    pub const TARGET_HEALTH_DESCRIPTIONS: ShapeRef = 6;
    pub const TARGET_HEALTH_DESCRIPTION: ShapeRef = 7;
    pub const TARGET_HEALTH: ShapeRef = 8;
    pub const TARGET_HEALTH_STATE: ShapeRef = 9;
    pub const TARGET_GROUP_NOT_FOUND: ShapeRef = 10;
    pub const DESCRIBE_TAGS_INPUT: ShapeRef = 11;
    pub const RESOURCE_ARNS: ShapeRef = 12;
    pub const DESCRIBE_TAGS_OUTPUT: ShapeRef = 13;
    pub const TAG_DESCRIPTIONS: ShapeRef = 14;
    pub const TAG_DESCRIPTION: ShapeRef = 15;
    pub const TAG_LIST: ShapeRef = 16;
    pub const TAG: ShapeRef = 17;
    pub const PROBE: ShapeRef = 18;
    pub const LABEL_MAP: ShapeRef = 19;
    pub const FLAG_LIST: ShapeRef = 20;
    pub const TIMESTAMP: ShapeRef = 21;
    pub const BOOLEAN: ShapeRef = 22;
    pub const DOUBLE: ShapeRef = 23;
    pub const LONG: ShapeRef = 24;
    pub const INNER: ShapeRef = 25;
    pub const ITEM_LIST: ShapeRef = 26;
    pub const BLOB: ShapeRef = 27;
    pub const EPOCH_TIMESTAMP: ShapeRef = 28;

    pub static SCHEMA: ServiceSchema = ServiceSchema {
        name: "elbv2",
        service_id: "Elastic Load Balancing v2",
        signing_name: "elasticloadbalancing",
        api_version: "2015-12-01",
        target_prefix: None,
        json_version: None,
        xml_namespace: Some("http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"),
        protocols: &[Protocol::Query],
        aws_query_compatible: false,
        smithy_namespace: "com.amazonaws.elasticloadbalancingv2",
        shapes: &[
            shape("String", STRING),
            bounded("Port", ShapeKind::Integer, Some(1.0), Some(65535.0)),
            shape(
                "TargetDescription",
                structure(&[
                    required("Id", STRING_),
                    member("Port", PORT),
                    member("AvailabilityZone", STRING_),
                ]),
            ),
            shape("TargetDescriptions", list(TARGET_DESCRIPTION)),
            shape(
                "DescribeTargetHealthInput",
                structure(&[
                    required("TargetGroupArn", STRING_),
                    member("Targets", TARGET_DESCRIPTIONS),
                ]),
            ),
            shape(
                "DescribeTargetHealthOutput",
                structure(&[member("TargetHealthDescriptions", TARGET_HEALTH_DESCRIPTIONS)]),
            ),
            shape("TargetHealthDescriptions", list(TARGET_HEALTH_DESCRIPTION)),
            shape(
                "TargetHealthDescription",
                structure(&[
                    member("Target", TARGET_DESCRIPTION),
                    member("HealthCheckPort", STRING_),
                    member("TargetHealth", TARGET_HEALTH),
                ]),
            ),
            shape(
                "TargetHealth",
                structure(&[
                    member("State", TARGET_HEALTH_STATE),
                    member("Reason", STRING_),
                    member("Description", STRING_),
                ]),
            ),
            shape(
                "TargetHealthStateEnum",
                ShapeKind::String {
                    enum_values: &[
                        "initial",
                        "healthy",
                        "unhealthy",
                        "unused",
                        "draining",
                        "unavailable",
                    ],
                },
            ),
            error(
                "TargetGroupNotFoundException",
                &[member("Message", STRING_)],
                "TargetGroupNotFound",
                400,
                true,
            ),
            shape(
                "DescribeTagsInput",
                structure(&[required("ResourceArns", RESOURCE_ARNS)]),
            ),
            shape("ResourceArns", list(STRING_)),
            shape(
                "DescribeTagsOutput",
                structure(&[member("TagDescriptions", TAG_DESCRIPTIONS)]),
            ),
            shape("TagDescriptions", list(TAG_DESCRIPTION)),
            shape(
                "TagDescription",
                structure(&[member("ResourceArn", STRING_), member("Tags", TAG_LIST)]),
            ),
            shape("TagList", list(TAG)),
            shape(
                "Tag",
                structure(&[required("Key", STRING_), member("Value", STRING_)]),
            ),
            shape(
                "Probe",
                structure(&[
                    member("Labels", LABEL_MAP),
                    member("Flags", FLAG_LIST),
                    member("When", TIMESTAMP),
                    member("Enabled", BOOLEAN),
                    member("Ratio", DOUBLE),
                    member("Count", LONG),
                    located("Inner", INNER, "InnerThing"),
                    member("Data", BLOB),
                    member("Epoch", EPOCH_TIMESTAMP),
                ]),
            ),
            shape(
                "LabelMap",
                ShapeKind::Map {
                    key: STRING_,
                    value: STRING_,
                    key_location_name: None,
                    value_location_name: None,
                    flattened: false,
                },
            ),
            shape(
                "FlagList",
                ShapeKind::List {
                    member: STRING_,
                    member_location_name: Some("Flag"),
                    flattened: true,
                },
            ),
            shape("Timestamp", ShapeKind::Timestamp { format: None }),
            shape("Boolean", ShapeKind::Boolean),
            shape("Double", ShapeKind::Double),
            shape("Long", ShapeKind::Long),
            shape(
                "Inner",
                structure(&[member("Name", STRING_), member("Items", ITEM_LIST)]),
            ),
            shape("ItemList", list_of(STRING_, "item")),
            shape("Blob", ShapeKind::Blob),
            shape(
                "EpochTimestamp",
                ShapeKind::Timestamp {
                    format: Some(TimestampFormat::EpochSeconds),
                },
            ),
        ],
        operations: &[
            query_op("CodecProbe", Some(PROBE), Some(PROBE), "CodecProbeResult", &[]),
            query_op(
                "DescribeTags",
                Some(DESCRIBE_TAGS_INPUT),
                Some(DESCRIBE_TAGS_OUTPUT),
                "DescribeTagsResult",
                &[],
            ),
            query_op(
                "DescribeTargetHealth",
                Some(DESCRIBE_TARGET_HEALTH_INPUT),
                Some(DESCRIBE_TARGET_HEALTH_OUTPUT),
                "DescribeTargetHealthResult",
                &[TARGET_GROUP_NOT_FOUND],
            ),
        ],
    };
}

// ---------------------------------------------------------------------------------------------
// EC2 (EC2 query dialect)

pub(crate) mod ec2 {
    use super::*;

    pub const STRING_: ShapeRef = 0;
    pub const BOOLEAN: ShapeRef = 1;
    pub const INTEGER: ShapeRef = 2;
    pub const FILTER: ShapeRef = 3;
    pub const FILTER_LIST: ShapeRef = 4;
    pub const VALUE_STRING_LIST: ShapeRef = 5;
    pub const SUBNET_ID_STRING_LIST: ShapeRef = 6;
    pub const DESCRIBE_SUBNETS_REQUEST: ShapeRef = 7;
    pub const DESCRIBE_SUBNETS_MAX_RESULTS: ShapeRef = 8;
    pub const DESCRIBE_SUBNETS_RESULT: ShapeRef = 9;
    pub const SUBNET_LIST: ShapeRef = 10;
    pub const SUBNET: ShapeRef = 11;
    pub const TAG_LIST: ShapeRef = 12;
    pub const TAG: ShapeRef = 13;
    pub const DESCRIBE_TAGS_REQUEST: ShapeRef = 14;
    pub const DESCRIBE_TAGS_RESULT: ShapeRef = 15;
    pub const DELETE_TAGS_REQUEST: ShapeRef = 16;
    pub const RESOURCE_ID_LIST: ShapeRef = 17;

    pub static SCHEMA: ServiceSchema = ServiceSchema {
        name: "ec2",
        service_id: "EC2",
        signing_name: "ec2",
        api_version: "2016-11-15",
        target_prefix: None,
        json_version: None,
        // As in the model: without the trailing slash.
        xml_namespace: Some("http://ec2.amazonaws.com/doc/2016-11-15"),
        protocols: &[Protocol::Ec2],
        aws_query_compatible: false,
        smithy_namespace: "com.amazonaws.ec2",
        shapes: &[
            shape("String", STRING),
            shape("Boolean", ShapeKind::Boolean),
            shape("Integer", ShapeKind::Integer),
            shape(
                "Filter",
                structure(&[
                    member("Name", STRING_),
                    Member {
                        query_name: Some("Value"),
                        ..located("Values", VALUE_STRING_LIST, "Value")
                    },
                ]),
            ),
            shape("FilterList", list_of(FILTER, "Filter")),
            shape("ValueStringList", list_of(STRING_, "item")),
            shape("SubnetIdStringList", list_of(STRING_, "SubnetId")),
            shape(
                "DescribeSubnetsRequest",
                structure(&[
                    located("Filters", FILTER_LIST, "Filter"),
                    located("SubnetIds", SUBNET_ID_STRING_LIST, "SubnetId"),
                    member("NextToken", STRING_),
                    member("MaxResults", DESCRIBE_SUBNETS_MAX_RESULTS),
                    located("DryRun", BOOLEAN, "dryRun"),
                ]),
            ),
            bounded(
                "DescribeSubnetsMaxResults",
                ShapeKind::Integer,
                Some(5.0),
                Some(1000.0),
            ),
            shape(
                "DescribeSubnetsResult",
                structure(&[
                    located("NextToken", STRING_, "nextToken"),
                    located("Subnets", SUBNET_LIST, "subnetSet"),
                ]),
            ),
            shape("SubnetList", list_of(SUBNET, "item")),
            shape(
                "Subnet",
                structure(&[
                    located("SubnetId", STRING_, "subnetId"),
                    located("VpcId", STRING_, "vpcId"),
                    located("AvailableIpAddressCount", INTEGER, "availableIpAddressCount"),
                    located("DefaultForAz", BOOLEAN, "defaultForAz"),
                    located("Tags", TAG_LIST, "tagSet"),
                ]),
            ),
            shape("TagList", list_of(TAG, "item")),
            shape(
                "Tag",
                structure(&[located("Key", STRING_, "key"), located("Value", STRING_, "value")]),
            ),
            shape(
                "DescribeTagsRequest",
                structure(&[
                    located("Filters", FILTER_LIST, "Filter"),
                    located("MaxResults", INTEGER, "maxResults"),
                ]),
            ),
            shape(
                "DescribeTagsResult",
                structure(&[located("NextToken", STRING_, "nextToken")]),
            ),
            shape(
                "DeleteTagsRequest",
                structure(&[
                    located("DryRun", BOOLEAN, "dryRun"),
                    Member {
                        required: true,
                        ..located("Resources", RESOURCE_ID_LIST, "resourceId")
                    },
                    located("Tags", TAG_LIST, "tag"),
                ]),
            ),
            shape("ResourceIdList", list(STRING_)),
        ],
        operations: &[
            op("DeleteTags", Some(DELETE_TAGS_REQUEST), None, &[]),
            op(
                "DescribeSubnets",
                Some(DESCRIBE_SUBNETS_REQUEST),
                Some(DESCRIBE_SUBNETS_RESULT),
                &[],
            ),
            op(
                "DescribeTags",
                Some(DESCRIBE_TAGS_REQUEST),
                Some(DESCRIBE_TAGS_RESULT),
                &[],
            ),
        ],
    };
}

// ---------------------------------------------------------------------------------------------
// STS (awsQuery, often unsigned)

pub(crate) mod sts {
    use super::*;

    pub static SCHEMA: ServiceSchema = ServiceSchema {
        name: "sts",
        service_id: "STS",
        signing_name: "sts",
        api_version: "2011-06-15",
        target_prefix: None,
        json_version: None,
        xml_namespace: Some("https://sts.amazonaws.com/doc/2011-06-15/"),
        protocols: &[Protocol::Query],
        aws_query_compatible: false,
        smithy_namespace: "com.amazonaws.sts",
        shapes: &[
            shape("String", STRING),
            shape("GetCallerIdentityRequest", structure(&[])),
            shape(
                "GetCallerIdentityResponse",
                structure(&[member("UserId", 0), member("Account", 0), member("Arn", 0)]),
            ),
        ],
        operations: &[query_op(
            "GetCallerIdentity",
            Some(1),
            Some(2),
            "GetCallerIdentityResult",
            &[],
        )],
    };
}

// ---------------------------------------------------------------------------------------------
// CodeDeploy (RPC v2 CBOR and awsJson 1.1; not query-compatible)

pub(crate) mod cd {
    use super::*;

    pub static SCHEMA: ServiceSchema = ServiceSchema {
        name: "codedeploy",
        service_id: "CodeDeploy",
        signing_name: "codedeploy",
        api_version: "2014-10-06",
        target_prefix: Some("CodeDeploy_20141006"),
        json_version: Some("1.1"),
        xml_namespace: Some("http://codedeploy.amazonaws.com/doc/2014-10-06/"),
        protocols: &[Protocol::RpcV2Cbor, Protocol::Json],
        aws_query_compatible: false,
        smithy_namespace: "com.amazonaws.codedeploy",
        shapes: &[
            shape("String", STRING),
            shape("GetDeploymentInput", structure(&[required("deploymentId", 0)])),
            shape("GetDeploymentOutput", structure(&[member("deploymentInfo", 3)])),
            shape(
                "DeploymentInfo",
                structure(&[member("deploymentId", 0), member("status", 0)]),
            ),
            error(
                "DeploymentDoesNotExistException",
                &[member("message", 0)],
                "DeploymentDoesNotExistException",
                400,
                true,
            ),
        ],
        operations: &[op("GetDeployment", Some(1), Some(2), &[4])],
    };
}

pub(crate) static SERVICES: [&ServiceSchema; 6] = [
    &ecs::SCHEMA,
    &cw::SCHEMA,
    &elb::SCHEMA,
    &ec2::SCHEMA,
    &sts::SCHEMA,
    &cd::SCHEMA,
];

pub(crate) fn catalog() -> Catalog {
    Catalog::new(&SERVICES)
}
