//! Smithy RPC v2 CBOR: the documented hex examples (aws-semantics §1.6), decoder edge cases and
//! hostile input, and cross-checks against ciborium.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::fixtures::{cd, cw};
use super::*;
use crate::cbor::{self, CborError};
use crate::encode::{encode_error, encode_output};
use crate::error::AwsError;
use crate::route::ErrorContext;
use crate::schema::Protocol;

const DESCRIBE_ALARMS_BODY: &str = "a16a416c61726d4e616d657381677765622d357878";
const DESCRIBE_ALARMS_OUTPUT: &str = "a16c4d6574726963416c61726d7381a369416c61726d4e616d65677765622d3578786a537461746556616c756565414c41524d7553746174655570646174656454696d657374616d70c1fb41da556e40200000";
const RESOURCE_NOT_FOUND_BODY: &str = "a2665f5f747970657829636f6d2e616d617a6f6e6177732e636c6f75647761746368235265736f757263654e6f74466f756e64676d65737361676577416c61726d207765622d357878206e6f7420666f756e64";

fn cw_cbor(op: &str, body: &[u8]) -> Result<DecodedRequest, RequestError> {
    let a = auth("monitoring");
    let uri = format!("/service/GraniteServiceVersion20100801/operation/{op}");
    request(
        "POST",
        &uri,
        &[
            CBOR_PROTOCOL,
            ("accept", "application/cbor"),
            CBOR_TYPE,
            ("x-amzn-query-mode", "true"),
            ("authorization", a.as_str()),
        ],
        body,
    )
}

#[test]
fn describe_alarms_request_golden() {
    let r = ok(cw_cbor("DescribeAlarms", &unhex(DESCRIBE_ALARMS_BODY)));
    assert_eq!(r.service.name, "cloudwatch");
    assert_eq!(r.operation.name, "DescribeAlarms");
    assert_eq!(r.protocol, Protocol::RpcV2Cbor);
    assert_eq!(r.input, json!({"AlarmNames": ["web-5xx"]}));
    assert_eq!(r.caller.signing_service.as_deref(), Some("monitoring"));
}

#[test]
fn describe_alarms_response_golden() {
    let r = ok(cw_cbor("DescribeAlarms", &unhex(DESCRIBE_ALARMS_BODY)));
    let out = json!({"MetricAlarms": [{"AlarmName": "web-5xx", "StateValue": "ALARM", "StateUpdatedTimestamp": 1767225600.5}]});
    let resp = encode_output(&r.context, &out, "rid");
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.headers,
        vec![
            ("Smithy-Protocol", "rpc-v2-cbor".to_owned()),
            ("Content-Type", "application/cbor".to_owned()),
            ("x-amzn-RequestId", "rid".to_owned()),
        ]
    );
    assert_eq!(hex(&resp.body), DESCRIBE_ALARMS_OUTPUT);
}

#[test]
fn resource_not_found_error_golden() {
    let ctx = ErrorContext::for_operation(
        &cw::SCHEMA,
        cw::SCHEMA.operation("SetAlarmState").expect("op"),
        Protocol::RpcV2Cbor,
    );
    let resp = encode_error(
        &ctx,
        &AwsError::client("ResourceNotFound", "Alarm web-5xx not found"),
        "rid",
    );
    assert_eq!(resp.status, 404);
    assert_eq!(
        resp.headers,
        vec![
            ("Smithy-Protocol", "rpc-v2-cbor".to_owned()),
            ("Content-Type", "application/cbor".to_owned()),
            ("x-amzn-RequestId", "rid".to_owned()),
            ("x-amzn-query-error", "ResourceNotFound;Sender".to_owned()),
        ]
    );
    assert_eq!(hex(&resp.body), RESOURCE_NOT_FOUND_BODY);
}

#[test]
fn unit_output_has_no_body_and_no_content_type() {
    let body = cbor_map(&[
        ("AlarmName", text("web-5xx")),
        ("StateValue", text("ALARM")),
        ("StateReason", text("drill")),
    ]);
    let r = ok(cw_cbor("SetAlarmState", &body));
    assert_eq!(
        r.input,
        json!({"AlarmName": "web-5xx", "StateValue": "ALARM", "StateReason": "drill"})
    );
    let resp = encode_output(&r.context, &json!({}), "rid");
    assert_eq!(resp.status, 200);
    assert!(resp.body.is_empty());
    assert_eq!(resp.header("Content-Type"), None);
    assert_eq!(resp.header("Smithy-Protocol"), Some("rpc-v2-cbor"));
}

#[test]
fn non_query_compatible_cbor_error_has_absolute_type_and_no_query_header() {
    let ctx = ErrorContext::for_service(&cd::SCHEMA, Protocol::RpcV2Cbor);
    let resp = encode_error(
        &ctx,
        &AwsError::client("DeploymentDoesNotExistException", "nope"),
        "rid",
    );
    assert_eq!(resp.status, 400);
    assert_eq!(resp.header("x-amzn-query-error"), None);
    assert_eq!(
        cbor::decode(&resp.body).expect("cbor"),
        json!({"__type": "com.amazonaws.codedeploy#DeploymentDoesNotExistException", "message": "nope"})
    );
}

#[test]
fn validation_error_in_cbor_uses_cloudwatch_shapes() {
    let body = cbor_map(&[("StateValue", text("ALARM")), ("StateReason", text("x"))]);
    let e = err(cw_cbor("SetAlarmState", &body));
    assert_eq!(e.error.code, "MissingRequiredParameterException");
    let resp = e.encode("rid");
    assert_eq!(resp.status, 400);
    assert_eq!(resp.header("x-amzn-query-error"), Some("MissingParameter;Sender"));
    let decoded = cbor::decode(&resp.body).expect("cbor");
    assert_eq!(
        decoded["__type"],
        "com.amazonaws.cloudwatch#MissingRequiredParameterException"
    );
}

#[test]
fn timestamps_and_doubles_encode_as_floats() {
    // Integral timestamps and doubles still go out as float64, which smithy-rs requires.
    let body = cbor::encode_shape(
        &cw::SCHEMA,
        cw::METRIC_ALARM,
        &json!({"StateUpdatedTimestamp": 1767225600, "Threshold": 5, "EvaluationPeriods": 3.0, "ActionsEnabled": false}),
    );
    let v: ciborium::Value = ciborium::from_reader(body.as_slice()).expect("ciborium");
    let map = v.as_map().expect("map");
    let get = |k: &str| {
        map.iter()
            .find(|(key, _)| key.as_text() == Some(k))
            .map(|(_, v)| v.clone())
            .expect(k)
    };
    assert_eq!(
        get("StateUpdatedTimestamp"),
        ciborium::Value::Tag(1, Box::new(ciborium::Value::Float(1767225600.0)))
    );
    assert_eq!(get("Threshold"), ciborium::Value::Float(5.0));
    assert_eq!(get("EvaluationPeriods"), ciborium::Value::Integer(3.into()));
    assert_eq!(get("ActionsEnabled"), ciborium::Value::Bool(false));
    // Members are written in schema order.
    let keys: Vec<_> = map.iter().filter_map(|(k, _)| k.as_text()).collect();
    assert_eq!(
        keys,
        [
            "ActionsEnabled",
            "StateUpdatedTimestamp",
            "EvaluationPeriods",
            "Threshold"
        ]
    );
    assert_eq!(hex(&body[body.len() - 9..]), "fb4014000000000000");
}

// ---------------------------------------------------------------------------------------------
// Decoder details

fn text(s: &str) -> Vec<u8> {
    let mut out = vec![0x60 | u8::try_from(s.len()).expect("short")];
    out.extend_from_slice(s.as_bytes());
    out
}

fn cbor_map(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![0xa0 | u8::try_from(entries.len()).expect("short")];
    for (k, v) in entries {
        out.extend(text(k));
        out.extend_from_slice(v);
    }
    out
}

#[test]
fn decoder_handles_indefinite_lengths() {
    let mut body = vec![0xbf];
    body.extend(text("AlarmNames"));
    body.push(0x9f);
    body.push(0x7f);
    body.extend(text("web"));
    body.extend(text("-5xx"));
    body.push(0xff);
    body.push(0xff);
    body.push(0xff);
    assert_eq!(cbor::decode(&body), Ok(json!({"AlarmNames": ["web-5xx"]})));
    // Indefinite byte string → base64.
    assert_eq!(cbor::decode(&unhex("5f42010241 03ff")), Ok(json!("AQID")));
}

#[test]
fn decoder_scalars() {
    let cases: &[(&str, Value)] = &[
        ("f93e00", json!(1.5)),
        ("f97c00", json!("Infinity")),
        ("f9fc00", json!("-Infinity")),
        ("f97e00", json!("NaN")),
        ("f90001", json!(5.960464477539063e-8)),
        ("fa47c35000", json!(100000.0)),
        ("fb3ff8000000000000", json!(1.5)),
        ("3863", json!(-100)),
        ("1bffffffffffffffff", json!(u64::MAX)),
        ("3b7fffffffffffffff", json!(i64::MIN)),
        ("3bffffffffffffffff", json!(-18446744073709551616.0)),
        ("43010203", json!("AQID")),
        ("f4", json!(false)),
        ("f5", json!(true)),
        ("f6", Value::Null),
        ("f7", Value::Null),
        ("c11a6955b900", json!(1767225600)),
        ("c1fb41da556e40200000", json!(1767225600.5)),
        ("c26101", json!("\u{1}")),
    ];
    for (input, expected) in cases {
        assert_eq!(cbor::decode(&unhex(input)).as_ref(), Ok(expected), "{input}");
    }
    // Tag 1 around a float32.
    let mut f32_ts = vec![0xc1, 0xfa];
    f32_ts.extend_from_slice(&1_767_225_600f32.to_bits().to_be_bytes());
    assert_eq!(cbor::decode(&f32_ts), Ok(json!(1767225600.0)));
}

#[test]
fn decoder_rejects_malformed_and_hostile_input() {
    let deep_arrays: Vec<u8> = std::iter::repeat_n(0x81, 100_000).chain([0x00]).collect();
    assert_eq!(cbor::decode(&deep_arrays), Err(CborError::TooDeep));
    let deep_tags: Vec<u8> = std::iter::repeat_n(0xc6, 100_000).chain([0x00]).collect();
    assert_eq!(cbor::decode(&deep_tags), Err(CborError::TooDeep));
    let deep_indefinite: Vec<u8> = std::iter::repeat_n(0x9f, 100_000).collect();
    assert_eq!(cbor::decode(&deep_indefinite), Err(CborError::TooDeep));
    for bad in [
        "9bffffffffffffffff", // array claiming 2^64-1 items
        "5b00000000ffffffff", // byte string longer than the input
        "bbffffffffffffffff", // map claiming too many pairs
        "a10102",             // integer key
        "a0 00",              // trailing bytes
        "ff",                 // break outside an indefinite item
        "1c",                 // reserved additional info
        "62fffe",             // invalid UTF-8
        "7f4100ff",           // byte chunk inside a text string
        "c16161",             // tag 1 around a string
        "f820",               // unassigned simple value
        "",                   // nothing
        "a1",                 // truncated map
        "9f01",               // unterminated indefinite array
        "1f",                 // indefinite unsigned integer
    ] {
        assert!(cbor::decode(&unhex(bad)).is_err(), "{bad} should be rejected");
    }
}

#[test]
fn malformed_cbor_request_is_a_serialization_exception() {
    let e = err(cw_cbor("DescribeAlarms", &unhex("a16a416c61726d")));
    assert_eq!(e.error.code, "SerializationException");
    assert_eq!(e.error.status, 400);
    assert_eq!(e.context.protocol, Protocol::RpcV2Cbor);
    let e = err(cw_cbor("DescribeAlarms", &unhex("8101")));
    assert_eq!(e.error.code, "SerializationException");
    // Wrong type for a member.
    let e = err(cw_cbor(
        "DescribeAlarms",
        &cbor_map(&[("MaxRecords", text("ten"))]),
    ));
    assert_eq!(e.error.code, "SerializationException");
    // Floats are accepted for integers when integral, and normalised.
    let r = ok(cw_cbor(
        "DescribeAlarms",
        &cbor_map(&[("MaxRecords", unhex("f94900"))]),
    ));
    assert_eq!(r.input, json!({"MaxRecords": 10}));
}

#[test]
fn empty_cbor_body_is_an_empty_input() {
    let r = ok(request(
        "POST",
        "/service/GraniteServiceVersion20100801/operation/DescribeAlarms",
        &[CBOR_PROTOCOL],
        b"",
    ));
    assert_eq!(r.input, json!({}));
}

// ---------------------------------------------------------------------------------------------
// Cross-checks with ciborium

fn expected_json(v: &ciborium::Value) -> Value {
    use base64::Engine as _;
    use ciborium::Value as C;
    match v {
        C::Integer(i) => {
            let i = i128::from(*i);
            if let Ok(n) = i64::try_from(i) {
                json!(n)
            } else if let Ok(n) = u64::try_from(i) {
                json!(n)
            } else {
                json!(i as f64)
            }
        }
        C::Bytes(b) => json!(base64::engine::general_purpose::STANDARD.encode(b)),
        C::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => Value::Number(n),
            None if f.is_nan() => json!("NaN"),
            None if *f > 0.0 => json!("Infinity"),
            None => json!("-Infinity"),
        },
        C::Text(s) => json!(s),
        C::Bool(b) => json!(b),
        C::Null => Value::Null,
        C::Tag(_, inner) => expected_json(inner),
        C::Array(items) => Value::Array(items.iter().map(expected_json).collect()),
        C::Map(entries) => {
            let mut m = serde_json::Map::new();
            for (k, v) in entries {
                m.insert(k.as_text().expect("text key").to_owned(), expected_json(v));
            }
            Value::Object(m)
        }
        _ => Value::Null,
    }
}

fn arb_cbor() -> impl Strategy<Value = ciborium::Value> {
    use ciborium::Value as C;
    let leaf = prop_oneof![
        any::<i64>().prop_map(|i| C::Integer(i.into())),
        any::<u64>().prop_map(|i| C::Integer(i.into())),
        any::<f64>().prop_map(C::Float),
        any::<f32>().prop_map(|f| C::Float(f64::from(f))),
        ".{0,12}".prop_map(C::Text),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(C::Bytes),
        any::<bool>().prop_map(C::Bool),
        Just(C::Null),
        any::<u32>().prop_map(|i| C::Tag(1, Box::new(C::Integer(i.into())))),
        (0.0f64..4e9).prop_map(|f| C::Tag(1, Box::new(C::Float(f)))),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(C::Array),
            proptest::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..6)
                .prop_map(|m| C::Map(m.into_iter().map(|(k, v)| (C::Text(k), v)).collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn ciborium_encodings_decode_to_the_same_json(v in arb_cbor()) {
        let mut bytes = Vec::new();
        ciborium::into_writer(&v, &mut bytes).expect("encode");
        prop_assert_eq!(cbor::decode(&bytes), Ok(expected_json(&v)));
    }

    #[test]
    fn our_output_encoding_reads_back_with_ciborium(
        names in proptest::collection::vec("[a-z0-9-]{1,20}", 0..5),
        ts in 0.0f64..4.0e9,
        threshold in any::<f64>().prop_filter("finite", |f| f.is_finite()),
        periods in any::<i32>(),
    ) {
        let alarms: Vec<Value> = names.iter().map(|n| json!({
            "AlarmName": n, "StateUpdatedTimestamp": ts, "Threshold": threshold, "EvaluationPeriods": periods,
            "Dimensions": [{"Name": "n", "Value": n}]
        })).collect();
        let out = json!({"MetricAlarms": alarms, "NextToken": null});
        let bytes = cbor::encode_shape(&cw::SCHEMA, cw::DESCRIBE_ALARMS_OUTPUT, &out);
        let back: ciborium::Value = ciborium::from_reader(bytes.as_slice()).expect("ciborium reads it");
        let mut expected = out.clone();
        expected.as_object_mut().expect("obj").remove("NextToken");
        prop_assert_eq!(expected_json(&back), expected.clone());
        prop_assert_eq!(cbor::decode(&bytes), Ok(expected));
    }
}
