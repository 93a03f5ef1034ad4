//! ARN and identifier formats, in AWS's long ARN format.

/// The partition every ARN uses.
pub const PARTITION: &str = "aws";

/// `arn:aws:<service>:<region>:<account>:<resource>`.
pub fn arn(service: &str, region: &str, account: &str, resource: &str) -> String {
    format!("arn:{PARTITION}:{service}:{region}:{account}:{resource}")
}

/// An account id is twelve decimal digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The resource part of an ARN (after the fifth colon), if `s` is an ARN.
pub fn arn_resource(s: &str) -> Option<&str> {
    if !s.starts_with("arn:") {
        return None;
    }
    s.splitn(6, ':').nth(5)
}

/// The region of an ARN.
pub fn arn_region(s: &str) -> Option<&str> {
    if !s.starts_with("arn:") {
        return None;
    }
    s.split(':').nth(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_parts() {
        let a = arn("ecs", "us-east-1", "000000000000", "cluster/demo");
        assert_eq!(a, "arn:aws:ecs:us-east-1:000000000000:cluster/demo");
        assert_eq!(arn_resource(&a), Some("cluster/demo"));
        assert_eq!(arn_region(&a), Some("us-east-1"));
        assert_eq!(arn_resource("demo"), None);
        assert!(is_account_id("123456789012"));
        assert!(!is_account_id("test"));
    }
}
