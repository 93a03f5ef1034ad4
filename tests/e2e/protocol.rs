//! The gateway through raw HTTP: envelopes per protocol, bad input, routing, the emulator API.

use ecsim::ClockMode;
use reqwest::header::HeaderMap;

use crate::common::start;

const ECS_TARGET: &str = "AmazonEC2ContainerServiceV20141113";

async fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> (u16, HeaderMap, Vec<u8>) {
    let client = reqwest::Client::new();
    let mut req = client.post(url).body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

async fn ecs_json(url: &str, op: &str, body: &str) -> (u16, HeaderMap, serde_json::Value) {
    let target = format!("{ECS_TARGET}.{op}");
    let (s, h, b) = post(
        url,
        &[
            ("x-amz-target", &target),
            ("content-type", "application/x-amz-json-1.1"),
        ],
        body.to_string(),
    )
    .await;
    (
        s,
        h,
        serde_json::from_slice(&b).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn json_errors_carry_header_and_type() {
    let env = start(ClockMode::Virtual).await;
    let url = env.url();
    let (status, headers, body) = ecs_json(
        &url,
        "DescribeServices",
        r#"{"cluster":"ghost","services":["x"]}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(headers["x-amzn-errortype"], "ClusterNotFoundException");
    assert_eq!(body["__type"], "ClusterNotFoundException");
    assert_eq!(body["message"], "Cluster not found.");
    assert!(headers.contains_key("x-amzn-requestid"));
    assert_eq!(headers["content-type"], "application/x-amz-json-1.1");

    let (status, _, body) = ecs_json(&url, "DescribeServices", r#"{"cluster":"ghost"}"#).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"], "ValidationException",
        "missing required member: {body}"
    );

    let (status, _, body) = ecs_json(&url, "CreateCluster", r#"{"clusterName": 7}"#).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "SerializationException", "{body}");

    let (status, _, body) = ecs_json(&url, "CreateCluster", r#"{"clusterName": "#).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "SerializationException", "{body}");

    let (status, _, body) = ecs_json(
        &url,
        "RunTask",
        r#"{"taskDefinition":"x","launchType":"SPACESHIP"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "ValidationException", "{body}");

    let (status, _, body) = ecs_json(&url, "NoSuchOperation", "{}").await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "UnknownOperationException");

    let (status, _, body) = ecs_json(&url, "ListDaemons", "{}").await;
    assert_eq!(status, 501);
    assert_eq!(body["__type"], "NotImplemented");
    assert!(
        body["message"].as_str().unwrap().contains("ListDaemons"),
        "{body}"
    );

    // Nothing above changed the world.
    let (_, _, clusters) = ecs_json(&url, "ListClusters", "{}").await;
    assert_eq!(clusters["clusterArns"], serde_json::json!([]));
}

#[tokio::test]
async fn unknown_services_and_malformed_auth() {
    let env = start(ClockMode::Virtual).await;
    let url = env.url();
    let (status, _, body) = post(
        &url,
        &[
            ("x-amz-target", "Nope_20200101.DoThing"),
            ("content-type", "application/x-amz-json-1.1"),
        ],
        "{}",
    )
    .await;
    assert!((400..500).contains(&status));
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("Nope_20200101"), "{text}");

    // A garbage Authorization header is treated like none: default account and region.
    let target = format!("{ECS_TARGET}.CreateCluster");
    let (status, _, body) = post(
        &url,
        &[
            ("x-amz-target", &target),
            ("content-type", "application/x-amz-json-1.1"),
            ("authorization", "AWS4-HMAC-SHA256 Credential=garbage"),
        ],
        r#"{"clusterName":"auth"}"#,
    )
    .await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["cluster"]["clusterArn"],
        "arn:aws:ecs:us-east-1:000000000000:cluster/auth"
    );

    // The region comes from the credential scope.
    let (status, _, body) = post(
        &url,
        &[
            ("x-amz-target", &target),
            ("content-type", "application/x-amz-json-1.1"),
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/ecs/aws4_request, SignedHeaders=host, Signature=00"),
        ],
        r#"{"clusterName":"eu"}"#,
    )
    .await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["cluster"]["clusterArn"],
        "arn:aws:ecs:eu-west-1:000000000000:cluster/eu"
    );
}

#[tokio::test]
async fn query_and_cbor_services_answer_in_their_envelopes() {
    let env = start(ClockMode::Virtual).await;
    let url = env.url();
    let elb_headers = [
        ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
        (
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=00",
        ),
    ];
    // An ELBv2 operation ecsim serves: the awsQuery result wrapper, then the metadata.
    let (status, _, body) = post(
        &url,
        &elb_headers,
        "Action=DescribeLoadBalancers&Version=2015-12-01",
    )
    .await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{text}");
    assert!(
        text.starts_with("<DescribeLoadBalancersResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><DescribeLoadBalancersResult><LoadBalancers></LoadBalancers></DescribeLoadBalancersResult><ResponseMetadata>"),
        "{text}"
    );
    // One it does not serve (trust stores): awsQuery XML error naming the operation.
    let (status, headers, body) = post(
        &url,
        &elb_headers,
        "Action=DescribeTrustStores&Version=2015-12-01",
    )
    .await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 501, "{text}");
    assert!(headers["content-type"].to_str().unwrap().contains("xml"));
    assert!(
        text.contains("<ErrorResponse")
            && text.contains("<Code>NotImplemented</Code>")
            && text.contains("DescribeTrustStores"),
        "{text}"
    );

    // CloudWatch through the real SDK (RPC v2 CBOR): an AWS-shaped error the SDK parses.
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
        .endpoint_url(&url)
        .region(aws_sdk_cloudwatch::config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "t",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let cw = aws_sdk_cloudwatch::Client::from_conf(config);
    let err = cw.list_dashboards().send().await.unwrap_err();
    assert_eq!(crate::common::code(&err), "NotImplemented", "{err:?}");
    let raw = err.raw_response().expect("a response arrived");
    assert_eq!(raw.status().as_u16(), 501);
    assert_eq!(raw.headers().get("smithy-protocol"), Some("rpc-v2-cbor"));
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let env = start(ClockMode::Virtual).await;
    let big = vec![b' '; ecsim::MAX_REQUEST_BODY_BYTES + 1];
    let target = format!("{ECS_TARGET}.CreateCluster");
    let (status, headers, body) = post(
        &env.url(),
        &[
            ("x-amz-target", &target),
            ("content-type", "application/x-amz-json-1.1"),
        ],
        big,
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(headers["x-amzn-errortype"], "RequestEntityTooLarge");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["__type"], "RequestEntityTooLarge");
}

#[tokio::test]
async fn health_and_reset() {
    let env = start(ClockMode::Virtual).await;
    let client = reqwest::Client::new();
    let health: serde_json::Value = serde_json::from_slice(
        &client
            .get(format!("{}/_ecsim/health", env.url()))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(health["runtime"], "sim");
    assert_eq!(health["clock"]["mode"], "virtual");
    assert!(
        health["services"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "ecs")
    );

    env.ecs
        .create_cluster()
        .cluster_name("gone")
        .send()
        .await
        .unwrap();
    let vpc = env
        .ec2
        .create_vpc()
        .cidr_block("10.1.0.0/16")
        .send()
        .await
        .unwrap();
    let resp = client
        .post(format!("{}/_ecsim/reset", env.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        env.ecs
            .list_clusters()
            .send()
            .await
            .unwrap()
            .cluster_arns()
            .is_empty()
    );
    let vpcs = env.ec2.describe_vpcs().send().await.unwrap();
    let ids: Vec<&str> = vpcs.vpcs().iter().filter_map(|v| v.vpc_id()).collect();
    assert_eq!(
        ids,
        ["vpc-0ec5100000000000d"],
        "the startup topology stays; {:?} is gone",
        vpc.vpc().unwrap().vpc_id()
    );
    let resp = client
        .get(format!("{}/_ecsim/nope", env.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}
