//! awsJson 1.0/1.1 golden requests and responses (aws-semantics §1.2, §1.6 JSON form).

use serde_json::json;

use super::*;
use crate::encode::{encode_error, encode_output};
use crate::error::AwsError;
use crate::route::Caller;
use crate::schema::Protocol;

fn ecs_describe() -> DecodedRequest {
    ok(request(
        "POST",
        "/",
        &[
            JSON_11,
            (
                "x-amz-target",
                "AmazonEC2ContainerServiceV20141113.DescribeServices",
            ),
            ("authorization", AUTH_ECS),
        ],
        br#"{"cluster":"demo","services":["web","ghost"]}"#,
    ))
}

#[test]
fn ecs_request_decodes_to_canonical_input_and_caller() {
    let r = ecs_describe();
    assert_eq!(r.service.name, "ecs");
    assert_eq!(r.operation.name, "DescribeServices");
    assert_eq!(r.protocol, Protocol::Json);
    assert_eq!(r.input, json!({"cluster": "demo", "services": ["web", "ghost"]}));
    assert_eq!(
        r.caller,
        Caller {
            access_key_id: Some("AKIDEXAMPLE".into()),
            region: Some("us-east-1".into()),
            signing_service: Some("ecs".into()),
        }
    );
    assert_eq!(r.context.json_version, "1.1");
}

#[test]
fn ecs_success_golden() {
    let r = ecs_describe();
    let body = r#"{"services":[{"serviceName":"web","status":"ACTIVE","desiredCount":2,"runningCount":2,"pendingCount":0,"deployments":[{"id":"ecs-svc/4503599627370496001","status":"PRIMARY","rolloutState":"COMPLETED","desiredCount":2,"runningCount":2,"pendingCount":0,"failedTasks":0,"createdAt":1767225600.123}]}],"failures":[{"arn":"arn:aws:ecs:us-east-1:000000000000:service/demo/ghost","reason":"MISSING"}]}"#;
    let output: serde_json::Value = serde_json::from_str(body).expect("json");
    let resp = encode_output(&r.context, &output, "0f9a6c1e-0000-4000-8000-000000000001");
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.headers,
        vec![
            ("Content-Type", "application/x-amz-json-1.1".to_owned()),
            (
                "x-amzn-RequestId",
                "0f9a6c1e-0000-4000-8000-000000000001".to_owned()
            ),
        ]
    );
    assert_eq!(String::from_utf8(resp.body).expect("utf8"), body);
}

#[test]
fn ecs_error_golden() {
    let r = ecs_describe();
    let e = AwsError::client("ClusterNotFoundException", "Cluster not found.");
    let resp = encode_error(&r.context, &e, "0f9a6c1e-0000-4000-8000-000000000002");
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.headers,
        vec![
            ("Content-Type", "application/x-amz-json-1.1".to_owned()),
            (
                "x-amzn-RequestId",
                "0f9a6c1e-0000-4000-8000-000000000002".to_owned()
            ),
            ("x-amzn-ErrorType", "ClusterNotFoundException".to_owned()),
        ]
    );
    assert_eq!(
        String::from_utf8(resp.body).expect("utf8"),
        r#"{"__type":"ClusterNotFoundException","message":"Cluster not found."}"#
    );
}

#[test]
fn modelled_status_wins_and_unmodelled_errors_keep_their_fields() {
    let r = ecs_describe();
    // ServerException is modelled as 500 even when the handler says 400.
    let resp = encode_error(&r.context, &AwsError::client("ServerException", "boom"), "r");
    assert_eq!(resp.status, 500);
    let resp = encode_error(
        &r.context,
        &AwsError::not_implemented("ECS", "DescribeServices"),
        "r",
    );
    assert_eq!(resp.status, 501);
    assert_eq!(resp.header("x-amzn-ErrorType"), Some("NotImplemented"));
    assert_eq!(
        String::from_utf8(resp.body).expect("utf8"),
        r#"{"__type":"NotImplemented","message":"ecsim does not implement the ECS operation DescribeServices yet"}"#
    );
}

#[test]
fn nulls_are_left_out_of_json_output_and_missing_output_is_empty_object() {
    let r = ecs_describe();
    let resp = encode_output(&r.context, &json!({"services": [], "failures": null}), "r");
    assert_eq!(resp.body, br#"{"services":[]}"#);
    let resp = encode_output(&r.context, &serde_json::Value::Null, "r");
    assert_eq!(resp.body, b"{}");
}

fn cw_set_alarm_state() -> DecodedRequest {
    ok(request(
        "POST",
        "/",
        &[
            JSON_10,
            ("x-amz-target", "GraniteServiceVersion20100801.SetAlarmState"),
            ("x-amzn-query-mode", "true"),
        ],
        br#"{"AlarmName":"web-5xx","StateValue":"ALARM","StateReason":"drill"}"#,
    ))
}

#[test]
fn cloudwatch_json_10_success_is_empty_object() {
    let r = cw_set_alarm_state();
    assert_eq!(r.service.name, "cloudwatch");
    assert_eq!(r.protocol, Protocol::Json);
    assert_eq!(
        r.input,
        json!({"AlarmName": "web-5xx", "StateValue": "ALARM", "StateReason": "drill"})
    );
    let resp = encode_output(&r.context, &json!({}), "r1");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("Content-Type"), Some("application/x-amz-json-1.0"));
    assert_eq!(resp.body, b"{}");
}

#[test]
fn cloudwatch_json_error_is_query_compatible() {
    let r = cw_set_alarm_state();
    let resp = encode_error(
        &r.context,
        &AwsError::client("ResourceNotFound", "Alarm web-5xx not found"),
        "r2",
    );
    assert_eq!(resp.status, 404);
    assert_eq!(
        resp.headers,
        vec![
            ("Content-Type", "application/x-amz-json-1.0".to_owned()),
            ("x-amzn-RequestId", "r2".to_owned()),
            ("x-amzn-ErrorType", "ResourceNotFound".to_owned()),
            ("x-amzn-query-error", "ResourceNotFound;Sender".to_owned()),
        ]
    );
    assert_eq!(
        String::from_utf8(resp.body).expect("utf8"),
        r#"{"__type":"com.amazonaws.cloudwatch#ResourceNotFound","message":"Alarm web-5xx not found"}"#
    );
    // A receiver fault, looked up by its awsQuery code.
    let resp = encode_error(
        &r.context,
        &AwsError::client("InternalServiceError", "oops"),
        "r3",
    );
    assert_eq!(resp.status, 500);
    assert_eq!(
        resp.header("x-amzn-query-error"),
        Some("InternalServiceError;Receiver")
    );
    assert_eq!(resp.header("x-amzn-ErrorType"), Some("InternalServiceFault"));
}

#[test]
fn empty_body_is_an_empty_object() {
    let e = err(request(
        "POST",
        "/",
        &[
            JSON_11,
            (
                "x-amz-target",
                "AmazonEC2ContainerServiceV20141113.DescribeServices",
            ),
        ],
        b"",
    ));
    // {} reaches validation, which wants `services`.
    assert_eq!(e.error.code, "ValidationException");
    assert_eq!(
        e.error.message,
        "1 validation error detected: Value null at 'services' failed to satisfy constraint: Member must not be null"
    );
}

#[test]
fn codedeploy_json_request_routes() {
    let r = ok(request(
        "POST",
        "/",
        &[JSON_11, ("x-amz-target", "CodeDeploy_20141006.GetDeployment")],
        br#"{"deploymentId":"d-1"}"#,
    ));
    assert_eq!(r.service.name, "codedeploy");
    assert_eq!(r.protocol, Protocol::Json);
}
