//! Timestamp text and SigV4 credential parsing.

use proptest::prelude::*;

use crate::sigv4::{Credential, parse_authorization, parse_credential_scope};
use crate::time::{
    format_epoch_seconds, format_http_date, format_iso8601, parse_iso8601, parse_timestamp_text,
};

#[test]
fn iso8601_formatting() {
    assert_eq!(format_iso8601(1767225600.5), "2026-01-01T00:00:00.500Z");
    assert_eq!(format_iso8601(0.0), "1970-01-01T00:00:00.000Z");
    assert_eq!(format_iso8601(-1.5), "1969-12-31T23:59:58.500Z");
    assert_eq!(format_iso8601(1709208000.123), "2024-02-29T12:00:00.123Z");
    assert_eq!(format_iso8601(951782400.0), "2000-02-29T00:00:00.000Z");
    assert_eq!(format_iso8601(f64::NAN), "1970-01-01T00:00:00.000Z");
    assert_eq!(format_iso8601(1e300), "9999-12-31T23:59:59.999Z");
    assert_eq!(format_iso8601(-1e300), "0000-01-01T00:00:00.000Z");
}

#[test]
fn other_formats() {
    assert_eq!(format_http_date(1767225600.0), "Thu, 01 Jan 2026 00:00:00 GMT");
    assert_eq!(format_http_date(0.0), "Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(format_epoch_seconds(1767225600.0), "1767225600");
    assert_eq!(format_epoch_seconds(1767225600.25), "1767225600.25");
}

#[test]
fn iso8601_parsing() {
    assert_eq!(parse_iso8601("2026-01-01T00:00:00Z"), Some(1767225600.0));
    assert_eq!(parse_iso8601("2026-01-01T00:00:00.5Z"), Some(1767225600.5));
    assert_eq!(parse_iso8601("2026-01-01T01:00:00+01:00"), Some(1767225600.0));
    assert_eq!(parse_iso8601("2025-12-31T23:00:00-0100"), Some(1767225600.0));
    assert_eq!(parse_iso8601("2026-01-01t00:00:00z"), Some(1767225600.0));
    assert_eq!(parse_iso8601("2026-01-01 00:00"), Some(1767225600.0));
    assert_eq!(parse_iso8601("2026-01-01"), Some(1767225600.0));
    assert_eq!(parse_iso8601("2024-02-29T00:00:00Z"), Some(1709164800.0));
    for bad in [
        "2023-02-29",
        "2026-13-01",
        "2026-01-01T24:00:00Z",
        "2026-01-01T00:00:00.Z",
        "x",
        "",
        "2026-01-01T00:00:00Zjunk",
    ] {
        assert_eq!(parse_iso8601(bad), None, "{bad}");
    }
    assert_eq!(parse_timestamp_text("1767225600.5"), Some(1767225600.5));
    assert_eq!(parse_timestamp_text("inf"), None);
    assert_eq!(parse_timestamp_text("NaN"), None);
}

proptest! {
    #[test]
    fn iso8601_round_trips(ms in -62_167_219_200_000_i64..253_402_300_799_999) {
        let secs = ms as f64 / 1000.0;
        let text = format_iso8601(secs);
        let back = parse_iso8601(&text).expect("parses");
        prop_assert_eq!((back * 1000.0).round() as i64, ms);
    }

    #[test]
    fn time_parsers_never_panic(s in "\\PC{0,40}") {
        let _ = parse_iso8601(&s);
        let _ = parse_timestamp_text(&s);
    }

    #[test]
    fn sigv4_parsers_never_panic(s in "\\PC{0,80}") {
        let _ = parse_authorization(&s);
        let _ = parse_credential_scope(&s);
    }
}

#[test]
fn authorization_header() {
    let c = parse_authorization(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
    );
    assert_eq!(
        c,
        Some(Credential {
            access_key_id: "AKIDEXAMPLE".into(),
            date: "20260101".into(),
            region: "us-east-1".into(),
            service: "ecs".into(),
        })
    );
    // Comma without space, parameters in another order.
    let c = parse_authorization(
        "AWS4-HMAC-SHA256 SignedHeaders=host,Credential=000000000000/20260101/eu-west-1/monitoring/aws4_request,Signature=x",
    )
    .expect("parses");
    assert_eq!(
        (c.access_key_id.as_str(), c.service.as_str()),
        ("000000000000", "monitoring")
    );
    assert_eq!(parse_authorization("AWS AKID:sig"), None);
    assert_eq!(
        parse_authorization("AWS4-HMAC-SHA256 Credential=A/20260101/r/s/aws4_request/extra"),
        None
    );
}
