//! Property tests: random bytes and mutations of valid requests, for every protocol, never panic
//! `decode_request` and only ever produce 4xx errors with a code; whatever decodes also encodes.

use proptest::prelude::*;

use super::*;
use crate::route::ErrorContext;
use crate::schema::Protocol;
use crate::{encode_error, encode_output};

/// (method, uri, headers, body).
type Seed = (&'static str, String, Vec<(&'static str, String)>, Vec<u8>);

/// One valid request per protocol and service flavour.
fn seeds() -> Vec<Seed> {
    let h = |pairs: &[(&'static str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (*k, (*v).to_owned()))
            .collect::<Vec<_>>()
    };
    vec![
        (
            "POST",
            "/".into(),
            h(&[JSON_11, ("x-amz-target", "AmazonEC2ContainerServiceV20141113.CreateService")]),
            br#"{"serviceName":"web","desiredCount":2,"launchType":"FARGATE","tags":[{"key":"k","value":"v"}],"deploymentConfiguration":{"maximumPercent":200,"minimumHealthyPercent":50},"startedAt":1767225600.5,"payload":"aGk=","labels":{"a":"b"},"config":{"x":[1,2]},"placement":{"spread":"az"}}"#.to_vec(),
        ),
        (
            "POST",
            "/".into(),
            h(&[JSON_10, ("x-amz-target", "GraniteServiceVersion20100801.PutMetricData")]),
            br#"{"Namespace":"App","MetricData":[{"MetricName":"m","Value":1.5,"Timestamp":1767225600,"Dimensions":[{"Name":"a","Value":"b"}],"Unit":"Count"}]}"#.to_vec(),
        ),
        (
            "POST",
            "/service/GraniteServiceVersion20100801/operation/DescribeAlarms".into(),
            h(&[CBOR_PROTOCOL, CBOR_TYPE]),
            unhex("bf6a416c61726d4e616d65739f677765622d357878ff6a537461746556616c756565414c41524d6a4d61785265636f7264731864ff"),
        ),
        (
            "POST",
            "/".into(),
            h(&[FORM]),
            b"Action=CodecProbe&Version=2015-12-01&Labels.entry.1.key=a&Labels.entry.1.value=1&Flag.1=x&When=2026-01-01T00%3A00%3A00Z&Enabled=true&Ratio=0.5&Count=9&InnerThing.Name=n&InnerThing.Items.item.1=i1&Data=aGk%3D".to_vec(),
        ),
        (
            "POST",
            "/".into(),
            h(&[FORM]),
            b"Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=tg&Targets.member.1.Id=i-1&Targets.member.1.Port=80".to_vec(),
        ),
        (
            "POST",
            "/".into(),
            h(&[FORM]),
            b"Action=DescribeSubnets&Version=2016-11-15&SubnetId.1=subnet-a&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&DryRun=false&MaxResults=5".to_vec(),
        ),
    ]
}

fn check(method: &str, uri: &str, pairs: &[(&str, String)], body: &[u8]) -> Result<(), TestCaseError> {
    let catalog = fixtures::catalog();
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            map.append(name, value);
        }
    }
    let Ok(uri) = uri.parse::<Uri>() else {
        return Ok(());
    };
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Ok(());
    };
    match decode_request(&catalog, &method, &uri, &map, body) {
        Ok(r) => {
            // Echo the input back as output: encoding must cope with whatever validated.
            let resp = encode_output(&r.context, &r.input, "rid");
            prop_assert_eq!(resp.status, 200);
        }
        Err(e) => {
            prop_assert!(
                (400..=499).contains(&e.error.status),
                "status {} for {:?}",
                e.error.status,
                e.error
            );
            prop_assert!(!e.error.code.is_empty());
            let resp = e.encode("rid");
            prop_assert!(
                (400..=499).contains(&resp.status),
                "encoded status {} for {:?}",
                resp.status,
                e.error
            );
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn apply(body: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = body.to_vec();
    for m in mutations {
        let len = b.len().max(1);
        match *m {
            Mutation::Flip(i, x) => {
                if let Some(byte) = b.get_mut(i % len) {
                    *byte ^= x;
                }
            }
            Mutation::Insert(i, x) => b.insert((i % len).min(b.len()), x),
            Mutation::Delete(i) => {
                if !b.is_empty() {
                    b.remove(i % len);
                }
            }
            Mutation::Truncate(i) => b.truncate(i % len),
            Mutation::Duplicate(i, n) => {
                let start = (i % len).min(b.len());
                let end = (start + n % 16).min(b.len());
                let chunk = b[start..end].to_vec();
                b.splice(start..start, chunk);
            }
        }
    }
    b
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, x)| Mutation::Insert(i, x)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

/// Form bodies assembled from the tokens the query decoder cares about.
fn form_body() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("member"),
        Just("entry"),
        Just("key"),
        Just("value"),
        Just("item"),
        Just("1"),
        Just("2"),
        Just("0"),
        Just("99999999999999999999"),
        Just("Labels"),
        Just("Flag"),
        Just("Flags"),
        Just("InnerThing"),
        Just("Items"),
        Just("Targets"),
        Just("Id"),
        Just("Port"),
        Just("Filter"),
        Just("Value"),
        Just("Name"),
        Just("SubnetId"),
        Just("When"),
        Just("Count"),
        Just("Ratio"),
        Just("Enabled"),
        Just("Data"),
        Just(""),
        Just("%"),
        Just("%zz"),
    ];
    let key = proptest::collection::vec(token, 1..7).prop_map(|t| t.join("."));
    let value = prop_oneof![
        Just(String::new()),
        Just("true".to_owned()),
        Just("x".to_owned()),
        Just("-1".to_owned()),
        Just("1e400".to_owned()),
        Just("2026-01-01T00:00:00Z".to_owned()),
        Just("NaN".to_owned()),
        "\\PC{0,8}",
    ];
    let action = prop_oneof![
        Just("Action=CodecProbe&Version=2015-12-01"),
        Just("Action=DescribeTargetHealth&Version=2015-12-01"),
        Just("Action=DescribeSubnets&Version=2016-11-15"),
        Just("Action=DescribeAlarms&Version=2010-08-01"),
    ];
    (action, proptest::collection::vec((key, value), 0..12)).prop_map(|(a, pairs)| {
        let mut s = a.to_owned();
        for (k, v) in pairs {
            s.push('&');
            s.push_str(&k);
            s.push('=');
            s.push_str(&v);
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bodies_for_each_protocol(seed in 0usize..6, body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let (method, uri, pairs, _) = &seeds()[seed];
        check(method, uri, pairs, &body)?;
    }

    #[test]
    fn mutated_valid_requests(seed in 0usize..6, mutations in proptest::collection::vec(mutation(), 1..6)) {
        let (method, uri, pairs, body) = &seeds()[seed];
        check(method, uri, pairs, &apply(body, &mutations))?;
    }

    #[test]
    fn gzipped_mutations(seed in 0usize..6, mutations in proptest::collection::vec(mutation(), 0..3)) {
        let (method, uri, pairs, body) = &seeds()[seed];
        let mut pairs = pairs.clone();
        pairs.push(("content-encoding", "gzip".to_owned()));
        check(method, uri, &pairs, &apply(&gzip(body), &mutations))?;
    }

    #[test]
    fn structured_form_bodies(body in form_body(), signed in any::<bool>()) {
        let mut pairs = vec![("content-type", FORM.1.to_owned())];
        if signed {
            pairs.push(("authorization", auth("ec2")));
        }
        check("POST", "/", &pairs, body.as_bytes())?;
        // The same as a GET query string.
        let uri = format!("/?{}", body.replace(['#', ' '], ""));
        check("GET", &uri, &[], b"")?;
    }

    #[test]
    fn random_routing_headers(
        method in prop_oneof![Just("POST"), Just("GET"), Just("PUT"), Just("DELETE"), Just("OPTIONS")],
        path in "(/[a-zA-Z0-9%#._-]{0,12}){0,6}",
        target in proptest::option::of("[ -~]{0,60}"),
        smithy in proptest::option::of(prop_oneof![Just("rpc-v2-cbor".to_owned()), "[ -~]{0,12}"]),
        content_type in proptest::option::of(prop_oneof![
            Just("application/cbor".to_owned()), Just("application/x-amz-json-1.1".to_owned()),
            Just("application/x-www-form-urlencoded".to_owned()), "[ -~]{0,20}",
        ]),
        authorization in proptest::option::of("AWS4-HMAC-SHA256 Credential=[ -~]{0,60}"),
        encoding in proptest::option::of(prop_oneof![Just("gzip".to_owned()), Just("identity".to_owned()), "[a-z, ]{0,12}"]),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut pairs = Vec::new();
        for (name, value) in [
            ("x-amz-target", target), ("smithy-protocol", smithy), ("content-type", content_type),
            ("authorization", authorization), ("content-encoding", encoding),
        ] {
            if let Some(v) = value {
                pairs.push((name, v));
            }
        }
        let path = if path.is_empty() { "/".to_owned() } else { path.replace('#', "%23") };
        check(method, &path, &pairs, &body)?;
        let catalog = fixtures::catalog();
        if let Ok(uri) = path.parse::<Uri>() {
            let mut map = HeaderMap::new();
            for (k, v) in &pairs {
                if let Ok(value) = HeaderValue::from_str(v) {
                    map.append(*k, value);
                }
            }
            let _ = crate::guess_context(&catalog, &uri, &map);
        }
    }

    #[test]
    fn encode_error_never_panics(code in "\\PC{0,30}", message in "\\PC{0,60}", status in any::<u16>(), sender in any::<bool>()) {
        let error = crate::AwsError { code, message, status, sender_fault: sender };
        for protocol in [Protocol::Json, Protocol::Query, Protocol::Ec2, Protocol::RpcV2Cbor] {
            for service in [None, Some(&fixtures::cw::SCHEMA), Some(&fixtures::ecs::SCHEMA)] {
                let ctx = ErrorContext { service, ..ErrorContext::unknown(protocol) };
                let resp = encode_error(&ctx, &error, "rid");
                prop_assert!((400..=599).contains(&resp.status));
            }
        }
    }
}

#[test]
fn seeds_are_valid_requests() {
    for (method, uri, pairs, body) in seeds() {
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = ok(request(method, &uri, &pairs, &body));
        assert!(r.input.as_object().is_some_and(|o| !o.is_empty()), "{uri}");
    }
}
