//! CloudWatch on its two other protocols, as botocore/the AWS CLI (awsJson 1.0) and older SDKs
//! (awsQuery) send them: the same backend answers each in its own envelope, errors included.
//! The CBOR side is covered through aws-sdk-cloudwatch in `cloudwatch_api`.

use std::io::Write as _;

use ecsim::ClockMode;

use crate::common::start;

const TARGET: &str = "GraniteServiceVersion20100801";

async fn json_call(
    url: &str,
    op: &str,
    body: &[u8],
    gzip: bool,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = reqwest::Client::new()
        .post(format!("{url}/"))
        .header("x-amz-target", format!("{TARGET}.{op}"))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-query-mode", "true");
    let body = if gzip {
        request = request.header("content-encoding", "gzip");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(body).unwrap();
        encoder.finish().unwrap()
    } else {
        body.to_vec()
    };
    let response = request.body(body).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

async fn query_call(url: &str, form: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{url}/"))
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(format!("{form}&Version=2010-08-01"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn json_1_0_answers_like_cloudwatch_with_gzip_bodies_and_query_error_codes() {
    let env = start(ClockMode::Virtual).await;
    let url = env.url();
    let now_s = env.clock().now_ms() / 1_000;
    let put = format!(
        r#"{{"Namespace":"App","MetricData":[{{"MetricName":"Errors","Dimensions":[{{"Name":"Service","Value":"web"}}],"Value":4,"Timestamp":{now_s}}},{{"MetricName":"Errors","Dimensions":[{{"Name":"Service","Value":"web"}}],"Values":[1,2],"Counts":[3,1],"Timestamp":{now_s}}}]}}"#
    );
    let (status, headers, body) = json_call(&url, "PutMetricData", put.as_bytes(), true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "application/x-amz-json-1.0");
    assert_eq!(body, "{}");
    let get = format!(
        r#"{{"Namespace":"App","MetricName":"Errors","Dimensions":[{{"Name":"Service","Value":"web"}}],"StartTime":{},"EndTime":{},"Period":60,"Statistics":["Sum","SampleCount"]}}"#,
        now_s,
        now_s + 60
    );
    let (status, _, body) = json_call(&url, "GetMetricStatistics", get.as_bytes(), false).await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["Label"], "Errors");
    assert_eq!(v["Datapoints"][0]["Sum"], 9.0, "{v}");
    assert_eq!(v["Datapoints"][0]["SampleCount"], 5.0, "{v}");
    assert_eq!(
        v["Datapoints"][0]["Timestamp"], now_s as f64,
        "epoch seconds in JSON: {v}"
    );

    let alarm = r#"{"AlarmName":"web-5xx","Namespace":"App","MetricName":"Errors","Statistic":"Sum","Period":60,"EvaluationPeriods":1,"Threshold":1,"ComparisonOperator":"GreaterThanThreshold"}"#;
    let (status, _, body) = json_call(&url, "PutMetricAlarm", alarm.as_bytes(), false).await;
    assert_eq!((status, body.as_str()), (200, "{}"));
    let (status, _, body) = json_call(
        &url,
        "SetAlarmState",
        br#"{"AlarmName":"web-5xx","StateValue":"ALARM","StateReason":"drill"}"#,
        false,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, _, body) = json_call(&url, "DescribeAlarms", br#"{"AlarmNames":["web-5xx"]}"#, false).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["MetricAlarms"][0]["StateValue"], "ALARM", "{v}");
    assert_eq!(v["MetricAlarms"][0]["StateReason"], "drill");
    assert_eq!(
        v["MetricAlarms"][0]["AlarmArn"],
        "arn:aws:cloudwatch:us-east-1:000000000000:alarm:web-5xx"
    );
    assert!(v["MetricAlarms"][0]["StateUpdatedTimestamp"].is_number());

    let (status, headers, body) = json_call(
        &url,
        "SetAlarmState",
        br#"{"AlarmName":"nope","StateValue":"ALARM","StateReason":"drill"}"#,
        false,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(headers["x-amzn-query-error"], "ResourceNotFound;Sender");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["__type"], "com.amazonaws.cloudwatch#ResourceNotFound", "{v}");
    assert!(v["message"].as_str().unwrap().contains("nope"), "{v}");

    let (status, headers, body) = json_call(
        &url,
        "PutMetricData",
        br#"{"Namespace":"AWS/ECS","MetricData":[{"MetricName":"X","Value":1}]}"#,
        false,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(headers["x-amzn-query-error"], "InvalidParameterValue;Sender");
    let (status, headers, body) = json_call(
        &url,
        "PutMetricAlarm",
        br#"{"AlarmName":"x","Namespace":"App","MetricName":"Errors","Statistic":"Sum","Period":60,"EvaluationPeriods":1,"Threshold":1,"ComparisonOperator":"Sideways"}"#,
        false,
    )
    .await;
    assert_eq!(status, 400, "an enum outside the model: {body}");
    assert!(headers.contains_key("x-amzn-query-error"), "{headers:?}");
}

#[tokio::test]
async fn query_requests_get_xml_answers_and_error_responses() {
    let env = start(ClockMode::Virtual).await;
    let url = env.url();
    let (status, body) = query_call(
        &url,
        "Action=PutMetricAlarm&AlarmName=cpu&Namespace=App&MetricName=CPU&Statistic=Average&Period=60\
         &EvaluationPeriods=2&DatapointsToAlarm=1&Threshold=80&ComparisonOperator=GreaterThanThreshold\
         &Dimensions.member.1.Name=Service&Dimensions.member.1.Value=web&TreatMissingData=breaching",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<PutMetricAlarmResponse"), "{body}");
    let (status, body) = query_call(&url, "Action=DescribeAlarms&AlarmNames.member.1=cpu").await;
    assert_eq!(status, 200, "{body}");
    for needle in [
        "<DescribeAlarmsResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">",
        "<DescribeAlarmsResult>",
        "<MetricAlarms>",
        "<member>",
        "<AlarmName>cpu</AlarmName>",
        "<StateValue>INSUFFICIENT_DATA</StateValue>",
        "<TreatMissingData>breaching</TreatMissingData>",
        "<Threshold>80.0</Threshold>",
        "<Name>Service</Name>",
        "<RequestId>",
    ] {
        assert!(body.contains(needle), "{needle} in {body}");
    }
    // With every datapoint missing and missing treated as breaching, the first evaluation fires.
    env.clock().advance(std::time::Duration::from_secs(65));
    let (_, body) = query_call(&url, "Action=DescribeAlarms&StateValue=ALARM").await;
    assert!(body.contains("<AlarmName>cpu</AlarmName>"), "{body}");

    let (status, body) = query_call(&url, "Action=DeleteAlarms&AlarmNames.member.1=nope").await;
    assert_eq!(status, 404, "{body}");
    for needle in [
        "<ErrorResponse",
        "<Type>Sender</Type>",
        "<Code>ResourceNotFound</Code>",
        "<Message>",
    ] {
        assert!(body.contains(needle), "{needle} in {body}");
    }
    let (status, body) = query_call(&url, "Action=DescribeAlarms&MaxRecords=0").await;
    assert_eq!(status, 400, "{body}");
}

/// Every CloudWatch operation ecsim implements, once on awsJson 1.0 and once on awsQuery, in an
/// order where each finds what it needs: each answers 200 in its protocol's envelope.
#[tokio::test]
async fn every_implemented_operation_answers_on_json_and_query() {
    let env = start(ClockMode::Virtual).await;
    let url = env.url();
    let now_s = env.clock().now_ms() / 1_000;
    let arn = |name: &str| format!("arn:aws:cloudwatch:us-east-1:000000000000:alarm:{name}");
    for protocol in ["json", "query"] {
        let a = format!("{protocol}-a");
        let c = format!("{protocol}-c");
        let calls: Vec<(&str, serde_json::Value, String)> = vec![
            (
                "PutMetricData",
                serde_json::json!({"Namespace": "App", "MetricData": [{"MetricName": "Errors", "Value": 2, "Timestamp": now_s}]}),
                format!(
                    "Namespace=App&MetricData.member.1.MetricName=Errors&MetricData.member.1.Value=2&MetricData.member.1.Timestamp={now_s}"
                ),
            ),
            (
                "GetMetricStatistics",
                serde_json::json!({"Namespace": "App", "MetricName": "Errors", "StartTime": now_s, "EndTime": now_s + 60, "Period": 60, "Statistics": ["Sum"]}),
                format!(
                    "Namespace=App&MetricName=Errors&StartTime={now_s}&EndTime={}&Period=60&Statistics.member.1=Sum",
                    now_s + 60
                ),
            ),
            (
                "GetMetricData",
                serde_json::json!({"MetricDataQueries": [{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Errors"}, "Period": 60, "Stat": "Sum"}}], "StartTime": now_s, "EndTime": now_s + 60}),
                format!(
                    "MetricDataQueries.member.1.Id=m1&MetricDataQueries.member.1.MetricStat.Metric.Namespace=App&MetricDataQueries.member.1.MetricStat.Metric.MetricName=Errors&MetricDataQueries.member.1.MetricStat.Period=60&MetricDataQueries.member.1.MetricStat.Stat=Sum&StartTime={now_s}&EndTime={}",
                    now_s + 60
                ),
            ),
            (
                "ListMetrics",
                serde_json::json!({"Namespace": "App"}),
                "Namespace=App".to_string(),
            ),
            (
                "PutMetricAlarm",
                serde_json::json!({"AlarmName": a, "Namespace": "App", "MetricName": "Errors", "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold"}),
                format!(
                    "AlarmName={a}&Namespace=App&MetricName=Errors&Statistic=Sum&Period=60&EvaluationPeriods=1&Threshold=1&ComparisonOperator=GreaterThanThreshold"
                ),
            ),
            (
                "PutCompositeAlarm",
                serde_json::json!({"AlarmName": c, "AlarmRule": format!("ALARM({a})")}),
                format!("AlarmName={c}&AlarmRule=ALARM%28{a}%29"),
            ),
            (
                "DescribeAlarms",
                serde_json::json!({"AlarmNamePrefix": protocol}),
                format!("AlarmNamePrefix={protocol}"),
            ),
            (
                "DescribeAlarmsForMetric",
                serde_json::json!({"Namespace": "App", "MetricName": "Errors"}),
                "Namespace=App&MetricName=Errors".to_string(),
            ),
            (
                "SetAlarmState",
                serde_json::json!({"AlarmName": a, "StateValue": "ALARM", "StateReason": "drill"}),
                format!("AlarmName={a}&StateValue=ALARM&StateReason=drill"),
            ),
            (
                "DescribeAlarmHistory",
                serde_json::json!({"AlarmName": a}),
                format!("AlarmName={a}"),
            ),
            (
                "DisableAlarmActions",
                serde_json::json!({"AlarmNames": [a]}),
                format!("AlarmNames.member.1={a}"),
            ),
            (
                "EnableAlarmActions",
                serde_json::json!({"AlarmNames": [a]}),
                format!("AlarmNames.member.1={a}"),
            ),
            (
                "TagResource",
                serde_json::json!({"ResourceARN": arn(&a), "Tags": [{"Key": "team", "Value": "web"}]}),
                format!(
                    "ResourceARN={}&Tags.member.1.Key=team&Tags.member.1.Value=web",
                    arn(&a)
                ),
            ),
            (
                "ListTagsForResource",
                serde_json::json!({"ResourceARN": arn(&a)}),
                format!("ResourceARN={}", arn(&a)),
            ),
            (
                "UntagResource",
                serde_json::json!({"ResourceARN": arn(&a), "TagKeys": ["team"]}),
                format!("ResourceARN={}&TagKeys.member.1=team", arn(&a)),
            ),
            (
                "DeleteAlarms",
                serde_json::json!({"AlarmNames": [c, a]}),
                format!("AlarmNames.member.1={c}&AlarmNames.member.2={a}"),
            ),
        ];
        assert_eq!(calls.len(), 16, "every implemented operation");
        for (op, json_body, form) in calls {
            if protocol == "json" {
                let (status, headers, body) =
                    json_call(&url, op, json_body.to_string().as_bytes(), false).await;
                assert_eq!(status, 200, "{op} on JSON: {body}");
                assert_eq!(headers["content-type"], "application/x-amz-json-1.0", "{op}");
                let v: serde_json::Value = serde_json::from_str(&body).expect("a JSON object");
                assert!(v.is_object(), "{op}: {body}");
            } else {
                let (status, body) = query_call(&url, &format!("Action={op}&{form}")).await;
                assert_eq!(status, 200, "{op} on query: {body}");
                assert!(body.contains(&format!("<{op}Response")), "{op}: {body}");
                assert!(body.contains("<RequestId>"), "{op}: {body}");
            }
        }
    }
}
