//! awsQuery golden requests and responses (aws-semantics §1.3), including CloudWatch's query form.

use serde_json::json;

use super::*;
use crate::encode::{encode_error, encode_output};
use crate::error::AwsError;
use crate::schema::Protocol;

const ELB_NS: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";

fn form(body: &str, service: &str) -> Result<DecodedRequest, RequestError> {
    let a = auth(service);
    request(
        "POST",
        "/",
        &[FORM, ("authorization", a.as_str())],
        body.as_bytes(),
    )
}

fn text(body: Vec<u8>) -> String {
    String::from_utf8(body).expect("utf8")
}

#[test]
fn elbv2_describe_target_health_golden() {
    let r = ok(form(
        "Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1%3A000000000000%3Atargetgroup%2Fblue%2F0123456789abcdef",
        "elasticloadbalancing",
    ));
    assert_eq!(r.service.name, "elbv2");
    assert_eq!(r.protocol, Protocol::Query);
    assert_eq!(
        r.input,
        json!({"TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/blue/0123456789abcdef"})
    );
    let output = json!({"TargetHealthDescriptions": [{
        "Target": {"Id": "10.0.1.15", "Port": 8080, "AvailabilityZone": "us-east-1a"},
        "HealthCheckPort": "8080",
        "TargetHealth": {"State": "healthy"}
    }]});
    let resp = encode_output(&r.context, &output, "7c2d");
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.headers,
        vec![
            ("Content-Type", "text/xml".to_owned()),
            ("x-amzn-RequestId", "7c2d".to_owned())
        ]
    );
    assert_eq!(
        text(resp.body),
        format!(
            "<DescribeTargetHealthResponse xmlns=\"{ELB_NS}\"><DescribeTargetHealthResult><TargetHealthDescriptions><member>\
             <Target><Id>10.0.1.15</Id><Port>8080</Port><AvailabilityZone>us-east-1a</AvailabilityZone></Target>\
             <HealthCheckPort>8080</HealthCheckPort><TargetHealth><State>healthy</State></TargetHealth>\
             </member></TargetHealthDescriptions></DescribeTargetHealthResult>\
             <ResponseMetadata><RequestId>7c2d</RequestId></ResponseMetadata></DescribeTargetHealthResponse>"
        )
    );
}

#[test]
fn elbv2_error_golden_uses_the_query_code() {
    let r = ok(form(
        "Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=x",
        "elasticloadbalancing",
    ));
    let e = AwsError::client(
        "TargetGroupNotFoundException",
        "One or more target groups not found",
    );
    let resp = encode_error(&r.context, &e, "7c2e");
    assert_eq!(resp.status, 400);
    assert_eq!(
        text(resp.body),
        format!(
            "<ErrorResponse xmlns=\"{ELB_NS}\"><Error><Type>Sender</Type><Code>TargetGroupNotFound</Code>\
             <Message>One or more target groups not found</Message></Error><RequestId>7c2e</RequestId></ErrorResponse>"
        )
    );
}

#[test]
fn sts_get_caller_identity_unsigned_routes_by_version() {
    let r = ok(request(
        "POST",
        "/",
        &[FORM],
        b"Action=GetCallerIdentity&Version=2011-06-15&Extra=1",
    ));
    assert_eq!(r.service.name, "sts");
    assert_eq!(r.input, json!({}));
    let out = json!({"UserId": "AIDAEXAMPLE", "Account": "000000000000", "Arn": "arn:aws:iam::000000000000:user/local"});
    let resp = encode_output(&r.context, &out, "rid");
    assert_eq!(
        text(resp.body),
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
         <UserId>AIDAEXAMPLE</UserId><Account>000000000000</Account><Arn>arn:aws:iam::000000000000:user/local</Arn>\
         </GetCallerIdentityResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    );
}

#[test]
fn cloudwatch_query_no_output_and_errors() {
    let r = ok(form(
        "Action=SetAlarmState&Version=2010-08-01&AlarmName=web-5xx&StateValue=ALARM&StateReason=drill",
        "monitoring",
    ));
    assert_eq!(r.protocol, Protocol::Query);
    let resp = encode_output(&r.context, &json!({}), "r1");
    assert_eq!(
        text(resp.body),
        "<SetAlarmStateResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">\
         <ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></SetAlarmStateResponse>"
    );
    let resp = encode_error(
        &r.context,
        &AwsError::client("ResourceNotFound", "Alarm web-5xx not found"),
        "r2",
    );
    assert_eq!(resp.status, 404);
    assert!(text(resp.body).contains("<Type>Sender</Type><Code>ResourceNotFound</Code>"));
    let resp = encode_error(
        &r.context,
        &AwsError::server("InternalServiceFault", "down"),
        "r3",
    );
    assert_eq!(resp.status, 500);
    assert!(
        text(resp.body)
            .contains("<Type>Receiver</Type><Code>InternalServiceError</Code><Message>down</Message>")
    );
}

#[test]
fn cloudwatch_query_describe_alarms_lists_and_timestamps() {
    let r = ok(form(
        "Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1=web-5xx&AlarmNames.member.2=db&MaxRecords=10",
        "monitoring",
    ));
    assert_eq!(
        r.input,
        json!({"AlarmNames": ["web-5xx", "db"], "MaxRecords": 10})
    );
    let out = json!({"MetricAlarms": [{
        "AlarmName": "web-5xx", "StateValue": "ALARM", "StateUpdatedTimestamp": 1767225600.5,
        "ActionsEnabled": true, "Threshold": 5.0, "EvaluationPeriods": 3,
        "Dimensions": [{"Name": "LoadBalancer", "Value": "app/x"}]
    }]});
    let resp = encode_output(&r.context, &out, "r");
    assert_eq!(
        text(resp.body),
        "<DescribeAlarmsResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><DescribeAlarmsResult>\
         <MetricAlarms><member><AlarmName>web-5xx</AlarmName><ActionsEnabled>true</ActionsEnabled>\
         <StateValue>ALARM</StateValue><StateUpdatedTimestamp>2026-01-01T00:00:00.500Z</StateUpdatedTimestamp>\
         <Dimensions><member><Name>LoadBalancer</Name><Value>app/x</Value></member></Dimensions>\
         <EvaluationPeriods>3</EvaluationPeriods><Threshold>5.0</Threshold></member></MetricAlarms>\
         </DescribeAlarmsResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeAlarmsResponse>"
    );
}

#[test]
fn query_maps_flattened_lists_scalars_and_location_names() {
    let r = ok(form(
        "Action=CodecProbe&Version=2015-12-01\
         &Labels.entry.2.key=b&Labels.entry.2.value=2&Labels.entry.1.key=a&Labels.entry.1.value=1\
         &Flag.2=y&Flag.1=x&When=2026-01-01T00%3A00%3A00Z&Enabled=true&Ratio=0.5&Count=9007199254740993\
         &InnerThing.Name=n&InnerThing.Items.item.1=i1&Data=aGk%3D&Epoch=1767225600",
        "elasticloadbalancing",
    ));
    assert_eq!(
        r.input,
        json!({
            "Labels": {"a": "1", "b": "2"}, "Flags": ["x", "y"], "When": 1767225600.0, "Enabled": true,
            "Ratio": 0.5, "Count": 9007199254740993_i64, "Inner": {"Name": "n", "Items": ["i1"]},
            "Data": "aGk=", "Epoch": 1767225600.0
        })
    );
    let mut out = r.input.clone();
    out["Inner"]["Name"] = json!("a<b&c\"d");
    let resp = encode_output(&r.context, &out, "r");
    assert_eq!(
        text(resp.body),
        format!(
            "<CodecProbeResponse xmlns=\"{ELB_NS}\"><CodecProbeResult>\
             <Labels><entry><key>a</key><value>1</value></entry><entry><key>b</key><value>2</value></entry></Labels>\
             <Flag>x</Flag><Flag>y</Flag><When>2026-01-01T00:00:00.000Z</When><Enabled>true</Enabled>\
             <Ratio>0.5</Ratio><Count>9007199254740993</Count>\
             <InnerThing><Name>a&lt;b&amp;c&quot;d</Name><Items><item>i1</item></Items></InnerThing>\
             <Data>aGk=</Data><Epoch>1767225600</Epoch></CodecProbeResult>\
             <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CodecProbeResponse>"
        )
    );
}

#[test]
fn query_list_forms_empty_sparse_and_flattened() {
    let r = ok(form(
        "Action=DescribeTags&Version=2015-12-01&ResourceArns=",
        "elasticloadbalancing",
    ));
    assert_eq!(r.input, json!({"ResourceArns": []}));
    let r = ok(form(
        "Action=DescribeTags&Version=2015-12-01&ResourceArns.member.10=c&ResourceArns.member.2=b&ResourceArns.member.1=a",
        "elasticloadbalancing",
    ));
    assert_eq!(r.input, json!({"ResourceArns": ["a", "b", "c"]}));
    // The flattened form of a non-flattened list is tolerated, and so is the member name for a
    // flattened list with a member locationName.
    let r = ok(form(
        "Action=DescribeTags&Version=2015-12-01&ResourceArns.1=a",
        "elasticloadbalancing",
    ));
    assert_eq!(r.input, json!({"ResourceArns": ["a"]}));
    let r = ok(form(
        "Action=CodecProbe&Version=2015-12-01&Flags.1=z&Labels=",
        "elasticloadbalancing",
    ));
    assert_eq!(r.input, json!({"Labels": {}, "Flags": ["z"]}));
}

#[test]
fn nested_query_structures_in_lists() {
    let r = ok(form(
        "Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=tg\
         &Targets.member.1.Id=i-1&Targets.member.1.Port=80&Targets.member.2.Id=i-2",
        "elasticloadbalancing",
    ));
    assert_eq!(
        r.input,
        json!({"TargetGroupArn": "tg", "Targets": [{"Id": "i-1", "Port": 80}, {"Id": "i-2"}]})
    );
}

#[test]
fn query_get_query_string_is_accepted() {
    let r = ok(request(
        "GET",
        "/?Action=GetCallerIdentity&Version=2011-06-15",
        &[],
        b"",
    ));
    assert_eq!(r.service.name, "sts");
    assert_eq!(r.operation.name, "GetCallerIdentity");
}

#[test]
fn query_validation_codes() {
    // ELBv2: ValidationError for both missing and invalid values.
    let e = err(form(
        "Action=DescribeTargetHealth&Version=2015-12-01",
        "elasticloadbalancing",
    ));
    assert_eq!(e.error.code, "ValidationError");
    assert_eq!(
        e.error.message,
        "1 validation error detected: Value null at 'TargetGroupArn' failed to satisfy constraint: Member must not be null"
    );
    let e = err(form(
        "Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=tg&Targets.member.1.Id=i&Targets.member.1.Port=abc",
        "elasticloadbalancing",
    ));
    assert_eq!(e.error.code, "ValidationError");
    assert!(
        e.error.message.contains("'Targets.1.member.Port'"),
        "{}",
        e.error.message
    );
    let resp = e.encode("r");
    assert_eq!(resp.status, 400);
    assert!(
        String::from_utf8(resp.body)
            .expect("utf8")
            .contains("<Code>ValidationError</Code>")
    );

    // CloudWatch: its modelled shapes, mapped to their query codes on the wire.
    let e = err(form(
        "Action=SetAlarmState&Version=2010-08-01&StateValue=ALARM&StateReason=x",
        "monitoring",
    ));
    assert_eq!(e.error.code, "MissingRequiredParameterException");
    let body = String::from_utf8(e.encode("r").body).expect("utf8");
    assert!(body.contains("<Code>MissingParameter</Code>"), "{body}");
    let e = err(form(
        "Action=SetAlarmState&Version=2010-08-01&AlarmName=a&StateValue=LOUD&StateReason=x",
        "monitoring",
    ));
    assert_eq!(e.error.code, "InvalidParameterValueException");
    let body = String::from_utf8(e.encode("r").body).expect("utf8");
    assert!(body.contains("<Code>InvalidParameterValue</Code>"), "{body}");
    assert!(
        body.contains("Member must satisfy enum value set: [OK, ALARM, INSUFFICIENT_DATA]"),
        "{body}"
    );
}
