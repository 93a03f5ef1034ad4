//! Validation against input shapes: required, enum, range, length, type, unions, normalisation
//! and unknown members.

use serde_json::{Value, json};

use super::fixtures::{cw, ec2, ecs, elb};
use crate::schema::Protocol;
use crate::validate::{validate, validate_for};

fn create_service(mut input: Value) -> Result<Value, crate::AwsError> {
    validate(&ecs::SCHEMA, ecs::CREATE_SERVICE_REQUEST, &mut input).map(|()| input)
}

fn fails(input: Value) -> (String, String) {
    let e = create_service(input).expect_err("should fail");
    (e.code, e.message)
}

#[test]
fn required_member() {
    assert_eq!(
        fails(json!({"cluster": "demo"})),
        (
            "ValidationException".into(),
            "1 validation error detected: Value null at 'serviceName' failed to satisfy constraint: Member must not be null"
                .into()
        )
    );
    // An explicit null counts as missing.
    assert_eq!(fails(json!({"serviceName": null})).0, "ValidationException");
}

#[test]
fn enum_values() {
    assert_eq!(
        fails(json!({"serviceName": "web", "launchType": "FOO"})).1,
        "1 validation error detected: Value 'FOO' at 'launchType' failed to satisfy constraint: \
         Member must satisfy enum value set: [EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES]"
    );
    assert!(create_service(json!({"serviceName": "web", "launchType": "FARGATE"})).is_ok());
}

#[test]
fn ranges_and_lengths() {
    assert_eq!(
        fails(json!({"serviceName": "web", "deploymentConfiguration": {"minimumHealthyPercent": 101}})).1,
        "1 validation error detected: Value '101' at 'deploymentConfiguration.minimumHealthyPercent' failed to \
         satisfy constraint: Member must have value less than or equal to 100"
    );
    assert_eq!(
        fails(json!({"serviceName": ""})).1,
        "1 validation error detected: Value '' at 'serviceName' failed to satisfy constraint: \
         Member must have length greater than or equal to 1"
    );
    let (code, msg) = fails(
        json!({"serviceName": "web", "tags": [{"key": "a"}, {"key": "b"}, {"key": "c"}, {"key": "d"}]}),
    );
    assert_eq!(code, "ValidationException");
    assert!(
        msg.contains(
            "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 3"
        ),
        "{msg}"
    );
    assert_eq!(
        fails(json!({"serviceName": "web", "tags": [{"key": "a"}, {"value": "b"}]})).1,
        "1 validation error detected: Value null at 'tags.2.member.key' failed to satisfy constraint: Member must not be null"
    );
    assert!(
        fails(json!({"serviceName": "web", "payload": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="}))
            .1
            .contains("length less than or equal to 16")
    );
    assert!(
        fails(json!({"serviceName": "web", "labels": {"": "x"}}))
            .1
            .contains("at 'labels.' failed")
    );
    // Multi-byte characters count once.
    assert!(create_service(json!({"serviceName": "é".repeat(255)})).is_ok());
}

#[test]
fn type_errors_are_serialization_exceptions_in_json() {
    for bad in [
        json!({"serviceName": "web", "desiredCount": "abc"}),
        json!({"serviceName": 5}),
        json!({"serviceName": "web", "desiredCount": 1.5}),
        json!({"serviceName": "web", "desiredCount": 3_000_000_000_i64}),
        json!({"serviceName": "web", "big": 1e30}),
        json!({"serviceName": "web", "enableExecuteCommand": "true"}),
        json!({"serviceName": "web", "tags": {"key": "a"}}),
        json!({"serviceName": "web", "deploymentConfiguration": []}),
        json!({"serviceName": "web", "startedAt": "yesterday"}),
        json!({"serviceName": "web", "payload": "not base64!"}),
        json!({"serviceName": "web", "weight": "heavy"}),
        json!({"serviceName": "web", "labels": []}),
    ] {
        let (code, msg) = fails(bad.clone());
        assert_eq!(code, "SerializationException", "{bad} → {msg}");
    }
}

#[test]
fn unknown_and_null_members_are_dropped_and_values_normalised() {
    let v = create_service(json!({
        "serviceName": "web", "newField": {"x": 1}, "cluster": null, "desiredCount": 2.0,
        "startedAt": "2026-01-01T00:00:00Z", "deploymentConfiguration": {"maximumPercent": 200, "future": true},
        "weight": "NaN", "config": {"anything": [1, null]}, "labels": {"a": "b", "c": null},
        "placement": {"spread": "az", "newVariant": "x"}
    }))
    .expect("valid");
    assert_eq!(
        v,
        json!({
            "serviceName": "web", "desiredCount": 2, "startedAt": 1767225600.0,
            "deploymentConfiguration": {"maximumPercent": 200}, "weight": "NaN",
            "config": {"anything": [1, null]}, "labels": {"a": "b"}, "placement": {"spread": "az"}
        })
    );
    assert!(v["desiredCount"].is_i64());
}

#[test]
fn unions_take_exactly_one_member() {
    let (code, msg) = fails(json!({"serviceName": "web", "placement": {"spread": "az", "binpack": "cpu"}}));
    assert_eq!(code, "ValidationException");
    assert!(msg.contains("Member must have exactly one member set"), "{msg}");
    assert!(
        fails(json!({"serviceName": "web", "placement": {}}))
            .1
            .contains("exactly one member")
    );
}

#[test]
fn codes_per_protocol() {
    let mut missing = json!({});
    let e = validate_for(
        &elb::SCHEMA,
        Protocol::Query,
        elb::DESCRIBE_TARGET_HEALTH_INPUT,
        &mut missing,
    )
    .expect_err("e");
    assert_eq!(e.code, "ValidationError");
    let e = validate(&elb::SCHEMA, elb::DESCRIBE_TARGET_HEALTH_INPUT, &mut json!({})).expect_err("e");
    assert_eq!(e.code, "ValidationError");
    let e = validate(&ec2::SCHEMA, ec2::DELETE_TAGS_REQUEST, &mut json!({})).expect_err("e");
    assert_eq!(e.code, "MissingParameter");
    let e = validate(
        &ec2::SCHEMA,
        ec2::DESCRIBE_SUBNETS_REQUEST,
        &mut json!({"MaxResults": 2000}),
    )
    .expect_err("e");
    assert_eq!(e.code, "InvalidParameterValue");
    for protocol in [Protocol::Json, Protocol::RpcV2Cbor, Protocol::Query] {
        let e =
            validate_for(&cw::SCHEMA, protocol, cw::SET_ALARM_STATE_INPUT, &mut json!({})).expect_err("e");
        assert_eq!(e.code, "MissingRequiredParameterException");
        let mut bad = json!({"AlarmName": "a", "StateValue": "LOUD", "StateReason": "r"});
        let e = validate_for(&cw::SCHEMA, protocol, cw::SET_ALARM_STATE_INPUT, &mut bad).expect_err("e");
        assert_eq!(e.code, "InvalidParameterValueException");
    }
    // Type errors over JSON stay SerializationException even for CloudWatch.
    let mut bad = json!({"MaxRecords": "x"});
    let e = validate_for(&cw::SCHEMA, Protocol::Json, cw::DESCRIBE_ALARMS_INPUT, &mut bad).expect_err("e");
    assert_eq!(e.code, "SerializationException");
    let mut bad = json!({"MaxRecords": "x"});
    let e = validate_for(&cw::SCHEMA, Protocol::Query, cw::DESCRIBE_ALARMS_INPUT, &mut bad).expect_err("e");
    assert_eq!(e.code, "InvalidParameterValueException");
}

#[test]
fn list_elements_must_not_be_null() {
    let mut v = json!({"services": ["a", null]});
    let e = validate(&ecs::SCHEMA, ecs::DESCRIBE_SERVICES_REQUEST, &mut v).expect_err("e");
    assert!(e.message.contains("at 'services.2.member'"), "{}", e.message);
}

#[test]
fn deep_unknown_members_are_dropped_without_being_walked() {
    let mut deep = json!("leaf");
    for _ in 0..300 {
        deep = json!({"deploymentConfiguration": deep});
    }
    assert!(validate(&ecs::SCHEMA, ecs::DEPLOYMENT_CONFIGURATION, &mut deep).is_ok());
    assert_eq!(deep, json!({}));
}
