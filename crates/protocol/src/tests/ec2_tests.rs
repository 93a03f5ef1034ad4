//! EC2 query dialect golden requests and responses (aws-semantics §1.4).

use serde_json::json;

use super::*;
use crate::encode::{encode_error, encode_output};
use crate::error::AwsError;
use crate::schema::Protocol;

fn ec2(body: &str) -> Result<DecodedRequest, RequestError> {
    let a = auth("ec2");
    request(
        "POST",
        "/",
        &[FORM, ("authorization", a.as_str())],
        body.as_bytes(),
    )
}

#[test]
fn describe_subnets_request_uses_query_names() {
    let r = ok(ec2(
        "Action=DescribeSubnets&Version=2016-11-15&SubnetId.1=subnet-a&SubnetId.2=subnet-b\
         &Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&Filter.1.Value.2=vpc-2&DryRun=false&MaxResults=5",
    ));
    assert_eq!(r.service.name, "ec2");
    assert_eq!(r.protocol, Protocol::Ec2);
    assert_eq!(
        r.input,
        json!({
            "Filters": [{"Name": "vpc-id", "Values": ["vpc-1", "vpc-2"]}],
            "SubnetIds": ["subnet-a", "subnet-b"],
            "MaxResults": 5,
            "DryRun": false
        })
    );
}

#[test]
fn describe_subnets_response_golden() {
    let r = ok(ec2("Action=DescribeSubnets&Version=2016-11-15"));
    let out = json!({"Subnets": [{
        "SubnetId": "subnet-a", "VpcId": "vpc-1", "AvailableIpAddressCount": 251, "DefaultForAz": false,
        "Tags": [{"Key": "Name", "Value": "a"}]
    }]});
    let resp = encode_output(&r.context, &out, "req-1");
    assert_eq!(resp.status, 200);
    assert_eq!(
        String::from_utf8(resp.body).expect("utf8"),
        "<DescribeSubnetsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>req-1</requestId>\
         <subnetSet><item><subnetId>subnet-a</subnetId><vpcId>vpc-1</vpcId>\
         <availableIpAddressCount>251</availableIpAddressCount><defaultForAz>false</defaultForAz>\
         <tagSet><item><key>Name</key><value>a</value></item></tagSet></item></subnetSet></DescribeSubnetsResponse>"
    );
}

#[test]
fn ec2_error_golden() {
    let r = ok(ec2("Action=DescribeSubnets&Version=2016-11-15"));
    let e = AwsError::client(
        "InvalidSubnetID.NotFound",
        "The subnet ID 'subnet-x' does not exist",
    );
    let resp = encode_error(&r.context, &e, "req-2");
    assert_eq!(resp.status, 400);
    assert_eq!(
        String::from_utf8(resp.body).expect("utf8"),
        "<Response><Errors><Error><Code>InvalidSubnetID.NotFound</Code>\
         <Message>The subnet ID 'subnet-x' does not exist</Message></Error></Errors>\
         <RequestID>req-2</RequestID></Response>"
    );
}

#[test]
fn ec2_operation_without_output() {
    let r = ok(ec2(
        "Action=DeleteTags&Version=2016-11-15&ResourceId.1=subnet-a&Tag.1.Key=Name",
    ));
    assert_eq!(
        r.input,
        json!({"Resources": ["subnet-a"], "Tags": [{"Key": "Name"}]})
    );
    let resp = encode_output(&r.context, &json!({}), "r");
    assert_eq!(
        String::from_utf8(resp.body).expect("utf8"),
        "<DeleteTagsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId></DeleteTagsResponse>"
    );
}

#[test]
fn ec2_validation_codes() {
    let e = err(ec2("Action=DeleteTags&Version=2016-11-15"));
    assert_eq!(e.error.code, "MissingParameter");
    assert_eq!(e.context.protocol, Protocol::Ec2);
    let e = err(ec2("Action=DescribeSubnets&Version=2016-11-15&MaxResults=1"));
    assert_eq!(e.error.code, "InvalidParameterValue");
    assert!(
        e.error
            .message
            .contains("Member must have value greater than or equal to 5")
    );
    let e = err(ec2("Action=DescribeSubnets&Version=2016-11-15&DryRun=maybe"));
    assert_eq!(e.error.code, "InvalidParameterValue");
    let resp = e.encode("r");
    assert!(
        String::from_utf8(resp.body)
            .expect("utf8")
            .starts_with("<Response><Errors><Error><Code>InvalidParameterValue</Code>")
    );
}
