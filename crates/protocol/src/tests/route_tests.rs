//! Demultiplexing (aws-semantics §1.7), caller extraction and routing errors.

use http::Uri;
use serde_json::json;

use super::fixtures::{self, cw};
use super::*;
use crate::body::MAX_DECOMPRESSED_BODY_BYTES;
use crate::route::{Caller, guess_context};
use crate::schema::Protocol;

#[test]
fn the_four_demux_paths() {
    // 1. CBOR by path and Smithy-Protocol.
    let r = ok(request(
        "POST",
        "/service/GraniteServiceVersion20100801/operation/DescribeAlarms",
        &[CBOR_PROTOCOL, CBOR_TYPE],
        &unhex("a0"),
    ));
    assert_eq!(
        (r.service.name, r.operation.name, r.protocol),
        ("cloudwatch", "DescribeAlarms", Protocol::RpcV2Cbor)
    );
    // 2. JSON by X-Amz-Target, the same service.
    let r = ok(request(
        "POST",
        "/",
        &[
            JSON_10,
            ("x-amz-target", "GraniteServiceVersion20100801.DescribeAlarms"),
        ],
        b"{}",
    ));
    assert_eq!(
        (r.service.name, r.protocol, r.context.json_version),
        ("cloudwatch", Protocol::Json, "1.0")
    );
    // 3. Form body with Action, by signing name or Version.
    let a = auth("monitoring");
    let r = ok(request(
        "POST",
        "/",
        &[FORM, ("authorization", a.as_str())],
        b"Action=DescribeAlarms",
    ));
    assert_eq!((r.service.name, r.protocol), ("cloudwatch", Protocol::Query));
    let r = ok(request(
        "POST",
        "/",
        &[FORM],
        b"Action=DescribeAlarms&Version=2010-08-01",
    ));
    assert_eq!((r.service.name, r.protocol), ("cloudwatch", Protocol::Query));
    // 4. The URL query string.
    let r = ok(request(
        "GET",
        "/?Action=DescribeSubnets&Version=2016-11-15&SubnetId.1=s",
        &[],
        b"",
    ));
    assert_eq!((r.service.name, r.protocol), ("ec2", Protocol::Ec2));
    assert_eq!(r.input, json!({"SubnetIds": ["s"]}));
}

#[test]
fn cbor_service_segment_forms() {
    for path in [
        "/service/com.amazonaws.cloudwatch.GraniteServiceVersion20100801/operation/DescribeAlarms",
        "/service/com.amazonaws.cloudwatch%23GraniteServiceVersion20100801/operation/DescribeAlarms",
        "/some/prefix/service/GraniteServiceVersion20100801/operation/DescribeAlarms",
    ] {
        let r = ok(request("POST", path, &[CBOR_PROTOCOL, CBOR_TYPE], &unhex("a0")));
        assert_eq!(r.service.name, "cloudwatch", "{path}");
    }
    // CodeDeploy speaks CBOR too; ECS does not.
    let r = ok(request(
        "POST",
        "/service/CodeDeploy_20141006/operation/GetDeployment",
        &[CBOR_PROTOCOL, CBOR_TYPE],
        &unhex("a16c6465706c6f796d656e744964626431"),
    ));
    assert_eq!(r.input, json!({"deploymentId": "d1"}));
    let e = err(request(
        "POST",
        "/service/AmazonEC2ContainerServiceV20141113/operation/DescribeServices",
        &[CBOR_PROTOCOL, CBOR_TYPE],
        &unhex("a0"),
    ));
    assert_eq!(
        (e.error.code.as_str(), e.error.status),
        ("UnknownOperationException", 404)
    );
    assert!(e.error.message.contains("AmazonEC2ContainerServiceV20141113"));
    assert_eq!(e.context.protocol, Protocol::RpcV2Cbor);
}

#[test]
fn cbor_rejections() {
    let path = "/service/GraniteServiceVersion20100801/operation/DescribeAlarms";
    let e = err(request(
        "POST",
        path,
        &[
            CBOR_PROTOCOL,
            CBOR_TYPE,
            ("x-amz-target", "GraniteServiceVersion20100801.DescribeAlarms"),
        ],
        &unhex("a0"),
    ));
    assert_eq!(e.error.status, 400);
    assert_eq!(e.context.protocol, Protocol::RpcV2Cbor);
    assert!(e.context.service.is_some());
    let e = err(request("GET", path, &[CBOR_PROTOCOL], b""));
    assert_eq!(e.error.status, 405);
    let e = err(request(
        "POST",
        path,
        &[CBOR_PROTOCOL, ("content-type", "application/json")],
        b"{}",
    ));
    assert_eq!(e.error.status, 415);
    let e = err(request(
        "POST",
        "/service/GraniteServiceVersion20100801/operation/Nope",
        &[CBOR_PROTOCOL],
        b"",
    ));
    assert_eq!(
        (e.error.code.as_str(), e.error.status),
        ("UnknownOperationException", 404)
    );
    assert!(e.error.message.contains("'Nope'"));
    // Without Smithy-Protocol the path alone does not select CBOR.
    let e = err(request("POST", path, &[CBOR_TYPE], &unhex("a0")));
    assert_eq!(e.context.protocol, Protocol::RpcV2Cbor);
    assert!(e.error.status >= 400 && e.error.status < 500);
}

#[test]
fn json_routing_errors_name_what_was_asked() {
    let e = err(request(
        "POST",
        "/",
        &[JSON_11, ("x-amz-target", "Foo_2020.Bar")],
        b"{}",
    ));
    assert_eq!(
        (e.error.code.as_str(), e.error.status),
        ("UnknownOperationException", 400)
    );
    assert_eq!(
        e.error.message,
        "ecsim does not serve the service for X-Amz-Target 'Foo_2020.Bar'"
    );
    assert!(e.context.service.is_none());
    assert_eq!(e.context.protocol, Protocol::Json);
    let resp = e.encode("r");
    assert_eq!(resp.header("x-amzn-ErrorType"), Some("UnknownOperationException"));
    assert_eq!(resp.header("Content-Type"), Some("application/x-amz-json-1.1"));

    let e = err(request(
        "POST",
        "/",
        &[
            JSON_11,
            ("x-amz-target", "AmazonEC2ContainerServiceV20141113.Frobnicate"),
        ],
        b"{}",
    ));
    assert_eq!(
        (e.error.code.as_str(), e.error.status),
        ("UnknownOperationException", 400)
    );
    assert!(e.error.message.contains("Frobnicate"));
    assert_eq!(e.context.service.map(|s| s.name), Some("ecs"));

    let e = err(request(
        "POST",
        "/",
        &[JSON_11, ("x-amz-target", "NoDotHere")],
        b"{}",
    ));
    assert_eq!(e.error.code, "UnknownOperationException");

    let target = (
        "x-amz-target",
        "AmazonEC2ContainerServiceV20141113.DescribeServices",
    );
    let e = err(request("GET", "/", &[JSON_11, target], b""));
    assert_eq!(e.error.status, 405);
    let e = err(request(
        "POST",
        "/",
        &[("content-type", "text/plain"), target],
        b"{}",
    ));
    assert_eq!(e.error.status, 415);
    let e = err(request("POST", "/", &[JSON_11, target], b"{\"services\":"));
    assert_eq!(
        (e.error.code.as_str(), e.error.status),
        ("SerializationException", 400)
    );
    let e = err(request("POST", "/", &[JSON_11, target], b"[1,2]"));
    assert_eq!(e.error.code, "SerializationException");
    // application/json and a missing Content-Type are tolerated.
    ok(request(
        "POST",
        "/",
        &[("content-type", "application/json"), target],
        br#"{"services":[]}"#,
    ));
    ok(request("POST", "/", &[target], br#"{"services":[]}"#));
}

#[test]
fn query_routing_by_signing_name_and_version() {
    // DescribeTags exists in ELBv2 and EC2: Action alone is ambiguous.
    let e = err(request("POST", "/", &[FORM], b"Action=DescribeTags"));
    assert_eq!((e.error.code.as_str(), e.error.status), ("InvalidAction", 400));
    assert_eq!(e.context.protocol, Protocol::Query);
    assert!(e.error.message.contains("DescribeTags"));
    let a = auth("ec2");
    let r = ok(request(
        "POST",
        "/",
        &[FORM, ("authorization", a.as_str())],
        b"Action=DescribeTags",
    ));
    assert_eq!(r.service.name, "ec2");
    let r = ok(request(
        "POST",
        "/",
        &[FORM],
        b"Action=DescribeTags&Version=2015-12-01&ResourceArns.member.1=x",
    ));
    assert_eq!(r.service.name, "elbv2");
    // Version wins over a mismatched signing name.
    let r = ok(request(
        "POST",
        "/",
        &[FORM, ("authorization", a.as_str())],
        b"Action=DescribeTags&Version=2015-12-01&ResourceArns.member.1=x",
    ));
    assert_eq!(r.service.name, "elbv2");

    let e = err(request(
        "POST",
        "/",
        &[FORM],
        b"Action=DescribeTags&Version=2099-01-01",
    ));
    assert_eq!(e.error.code, "InvalidAction");
    assert!(e.error.message.contains("'2099-01-01'"), "{}", e.error.message);
    let e = err(request(
        "POST",
        "/",
        &[FORM, ("authorization", auth("ecs").as_str())],
        b"Action=DescribeTags",
    ));
    assert_eq!(e.error.code, "InvalidAction");
    assert!(e.error.message.contains("'ecs'"), "{}", e.error.message);

    let e = err(request(
        "POST",
        "/",
        &[FORM],
        b"Action=Frobnicate&Version=2015-12-01",
    ));
    assert_eq!((e.error.code.as_str(), e.error.status), ("InvalidAction", 400));
    assert_eq!(
        e.error.message,
        "Could not find operation Frobnicate for version 2015-12-01"
    );
    let body = String::from_utf8(e.encode("r").body).expect("utf8");
    assert!(
        body.starts_with(
            "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\">"
        )
    );

    let e = err(request(
        "PUT",
        "/",
        &[FORM],
        b"Action=GetCallerIdentity&Version=2011-06-15",
    ));
    assert_eq!(e.error.status, 405);
}

#[test]
fn requests_naming_nothing() {
    let e = err(request("POST", "/", &[], b""));
    assert_eq!(
        (e.error.code.as_str(), e.error.status, e.context.protocol),
        ("MissingAction", 400, Protocol::Query)
    );
    let resp = e.encode("r");
    assert!(
        String::from_utf8(resp.body)
            .expect("utf8")
            .starts_with("<ErrorResponse><Error><Type>Sender</Type><Code>MissingAction</Code>")
    );
    let e = err(request(
        "POST",
        "/",
        &[JSON_11, ("authorization", AUTH_ECS)],
        b"{}",
    ));
    assert_eq!(
        (e.error.code.as_str(), e.context.protocol),
        ("UnknownOperationException", Protocol::Json)
    );
    assert_eq!(e.context.service.map(|s| s.name), Some("ecs"));
    let e = err(request("POST", "/", &[CBOR_TYPE], &unhex("a0")));
    assert_eq!(e.context.protocol, Protocol::RpcV2Cbor);
    let e = err(request(
        "POST",
        "/",
        &[FORM, ("authorization", auth("ec2").as_str())],
        b"Foo=1",
    ));
    assert_eq!(
        (e.error.code.as_str(), e.context.protocol),
        ("MissingAction", Protocol::Ec2)
    );
}

#[test]
fn caller_from_authorization_or_presigned_credential() {
    let r = ok(request(
        "POST",
        "/",
        &[FORM, ("authorization", auth("sts").as_str())],
        b"Action=GetCallerIdentity",
    ));
    assert_eq!(r.caller.region.as_deref(), Some("us-east-1"));
    assert_eq!(r.service.name, "sts");

    for bad in [
        "AWS4-HMAC-SHA256 Credential=AKID/2026/us-east-1/sts/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts",
        "AWS4-HMAC-SHA256",
        "Bearer token",
        "AWS4-HMAC-SHA256Credential=AKID/20260101/us-east-1/sts/aws4_request",
        "AWS4-HMAC-SHA256 Credential=/20260101/us-east-1/sts/aws4_request",
        "",
    ] {
        let r = ok(request(
            "POST",
            "/",
            &[FORM, ("authorization", bad)],
            b"Action=GetCallerIdentity&Version=2011-06-15",
        ));
        assert_eq!(r.caller, Caller::default(), "{bad}");
    }

    let r = ok(request(
        "GET",
        "/?Action=GetCallerIdentity&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDQ%2F20260101%2Feu-west-1%2Fsts%2Faws4_request",
        &[],
        b"",
    ));
    assert_eq!(r.service.name, "sts");
    assert_eq!(r.caller.access_key_id.as_deref(), Some("AKIDQ"));
    assert_eq!(r.caller.region.as_deref(), Some("eu-west-1"));
}

#[test]
fn gzip_bodies_for_every_protocol() {
    let target = (
        "x-amz-target",
        "AmazonEC2ContainerServiceV20141113.DescribeServices",
    );
    let r = ok(request(
        "POST",
        "/",
        &[JSON_11, target, ("content-encoding", "gzip")],
        &gzip(br#"{"services":["a"]}"#),
    ));
    assert_eq!(r.input, json!({"services": ["a"]}));
    let r = ok(request(
        "POST",
        "/",
        &[FORM, ("content-encoding", "gzip")],
        &gzip(b"Action=PutMetricData&Version=2010-08-01&Namespace=App&MetricData.member.1.MetricName=m&MetricData.member.1.Value=1.5"),
    ));
    assert_eq!(
        r.input,
        json!({"Namespace": "App", "MetricData": [{"MetricName": "m", "Value": 1.5}]})
    );
    let r = ok(request(
        "POST",
        "/service/GraniteServiceVersion20100801/operation/DescribeAlarms",
        &[CBOR_PROTOCOL, CBOR_TYPE, ("content-encoding", "gzip")],
        &gzip(&unhex("a16a416c61726d4e616d657381677765622d357878")),
    ));
    assert_eq!(r.input, json!({"AlarmNames": ["web-5xx"]}));

    // A gzip bomb stops at the cap.
    let bomb = gzip(&vec![b' '; MAX_DECOMPRESSED_BODY_BYTES + 1]);
    let e = err(request(
        "POST",
        "/",
        &[JSON_11, target, ("content-encoding", "gzip")],
        &bomb,
    ));
    assert_eq!(
        (e.error.code.as_str(), e.error.status),
        ("RequestEntityTooLarge", 413)
    );
    let e = err(request("POST", "/", &[FORM, ("content-encoding", "gzip")], &bomb));
    assert_eq!(e.error.status, 413);
    // Exactly at the cap is fine.
    let at_cap = gzip(&vec![b' '; MAX_DECOMPRESSED_BODY_BYTES]);
    let e = err(request(
        "POST",
        "/",
        &[JSON_11, target, ("content-encoding", "gzip")],
        &at_cap,
    ));
    assert_eq!(e.error.code, "ValidationException");

    let e = err(request(
        "POST",
        "/",
        &[JSON_11, target, ("content-encoding", "gzip")],
        b"not gzip",
    ));
    assert_eq!(
        (e.error.code.as_str(), e.error.status),
        ("SerializationException", 400)
    );
    let e = err(request(
        "POST",
        "/",
        &[JSON_11, target, ("content-encoding", "br")],
        b"{}",
    ));
    assert_eq!(e.error.status, 415);
}

#[test]
fn operations_without_input_ignore_the_body() {
    let r = ok(request(
        "POST",
        "/",
        &[FORM],
        b"Action=GetCallerIdentity&Version=2011-06-15&Anything.member.1=x",
    ));
    assert_eq!(r.input, json!({}));
}

#[test]
fn deep_query_keys_are_rejected_not_followed() {
    let key = vec!["a"; 10_000].join(".");
    let body = format!("Action=CodecProbe&Version=2015-12-01&{key}=1");
    let e = err(request("POST", "/", &[FORM], body.as_bytes()));
    assert_eq!(
        (e.error.code.as_str(), e.error.status),
        ("MalformedQueryString", 400)
    );
}

#[test]
fn guessed_contexts() {
    let catalog = fixtures::catalog();
    let uri: Uri = "/service/GraniteServiceVersion20100801/operation/PutMetricData"
        .parse()
        .expect("uri");
    let ctx = guess_context(&catalog, &uri, &headers(&[CBOR_PROTOCOL]));
    assert_eq!(ctx.protocol, Protocol::RpcV2Cbor);
    assert_eq!(ctx.operation.map(|o| o.name), Some("PutMetricData"));
    assert!(std::ptr::eq(ctx.service.expect("service"), &cw::SCHEMA));

    let root: Uri = "/".parse().expect("uri");
    let ctx = guess_context(
        &catalog,
        &root,
        &headers(&[("x-amz-target", "CodeDeploy_20141006.GetDeployment")]),
    );
    assert_eq!(
        (ctx.protocol, ctx.service.map(|s| s.name)),
        (Protocol::Json, Some("codedeploy"))
    );
    let ctx = guess_context(&catalog, &root, &headers(&[JSON_10, ("x-amz-target", "Nope.Op")]));
    assert_eq!((ctx.protocol, ctx.json_version), (Protocol::Json, "1.0"));
    let ctx = guess_context(
        &catalog,
        &root,
        &headers(&[FORM, ("authorization", auth("elasticloadbalancing").as_str())]),
    );
    assert_eq!(
        (ctx.protocol, ctx.service.map(|s| s.name)),
        (Protocol::Query, Some("elbv2"))
    );
    let q: Uri = "/?Action=DescribeSubnets&Version=2016-11-15"
        .parse()
        .expect("uri");
    let ctx = guess_context(&catalog, &q, &HeaderMap::new());
    assert_eq!(
        (ctx.protocol, ctx.operation.map(|o| o.name)),
        (Protocol::Ec2, Some("DescribeSubnets"))
    );
    let ctx = guess_context(&catalog, &root, &HeaderMap::new());
    assert_eq!((ctx.protocol, ctx.service.is_none()), (Protocol::Query, true));
}
