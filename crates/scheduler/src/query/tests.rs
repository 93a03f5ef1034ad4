//! Table tests for the query language: evaluation per subject and operator, and invalid input.

use std::collections::BTreeMap;

use super::*;
use crate::snapshot::InstanceSnapshot;

fn instance() -> InstanceSnapshot {
    let attributes: BTreeMap<String, Option<String>> = [
        ("ecs.availability-zone", Some("us-east-1a")),
        ("ecs.instance-type", Some("t2.micro")),
        ("ecs.os-type", Some("linux")),
        ("ecs.cpu-architecture", Some("x86_64")),
        ("ecs.ami-id", Some("ami-0123")),
        ("stack", Some("prod")),
        ("weight", Some("10")),
        ("com.amazonaws.ecs.capability.docker-remote-api.1.17", None),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
    .collect();
    InstanceSnapshot {
        id: "c1".into(),
        arn: "arn:aws:ecs:us-east-1:000000000000:container-instance/default/c1".into(),
        ec2_instance_id: "i-0abc".into(),
        availability_zone: "us-east-1a".into(),
        attributes,
        cpu_remaining: 1024,
        memory_remaining: 2048,
        running_task_groups: [("service:web".to_string(), 2), ("family:batch".to_string(), 0)].into(),
        running_tasks: 2,
        // 2020-01-02T00:00:00Z
        registered_at_ms: 1_577_923_200_000,
        agent_connected: true,
        agent_version: "1.70.2".into(),
        active: true,
        ..InstanceSnapshot::default()
    }
}

#[test]
fn evaluation_table() {
    let inst = instance();
    let cases: &[(&str, bool)] = &[
        // equality and inequality
        ("attribute:ecs.instance-type == t2.micro", true),
        ("attribute:ecs.instance-type == t2.small", false),
        ("attribute:ecs.instance-type != t2.small", true),
        ("attribute:ecs.instance-type != t2.micro", false),
        ("attribute:ecs.instance-type==t2.micro", true),
        // absent attributes: positive operators false, negated ones true
        ("attribute:missing == x", false),
        ("attribute:missing != x", true),
        ("attribute:missing in [x]", false),
        ("attribute:missing !in [x]", true),
        ("attribute:missing =~ *", false),
        ("attribute:missing !~ *", true),
        // in / !in / not in
        (
            "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
            true,
        ),
        (
            "attribute:ecs.availability-zone in [us-east-1b,us-east-1c]",
            false,
        ),
        ("attribute:ecs.availability-zone !in [us-east-1b]", true),
        ("attribute:ecs.availability-zone not in [us-east-1a]", false),
        ("attribute:ecs.availability-zone ! in [us-east-1a]", false),
        // patterns
        ("attribute:ecs.instance-type =~ t2.*", true),
        ("attribute:ecs.instance-type =~ *.micro", true),
        ("attribute:ecs.instance-type =~ t2*o", true),
        ("attribute:ecs.instance-type =~ m5.*", false),
        ("attribute:ecs.instance-type !~ m5.*", true),
        ("attribute:ecs.instance-type !~ t2.*", false),
        ("attribute:ecs.instance-type =~ t2.micro", true),
        // exists
        ("attribute:stack exists", true),
        ("attribute:stack !exists", false),
        ("attribute:missing exists", false),
        ("attribute:missing !exists", true),
        (
            "attribute:com.amazonaws.ecs.capability.docker-remote-api.1.17 exists",
            true,
        ),
        (
            "attribute:com.amazonaws.ecs.capability.docker-remote-api.1.17 == x",
            false,
        ),
        // numeric when both sides are numbers, else lexicographic
        ("attribute:weight > 9", true),
        ("attribute:weight >= 10", true),
        ("attribute:weight < 9", false),
        ("attribute:weight <= 10.0", true),
        ("attribute:weight == 10.0", true),
        ("attribute:stack > alpha", true),
        ("attribute:stack < q", true),
        ("attribute:stack >= prod", true),
        ("attribute:stack <= pro", false),
        // other subjects
        ("ec2InstanceId == i-0abc", true),
        ("ec2InstanceId in [i-1, i-0abc]", true),
        ("ec2InstanceId =~ i-0*", true),
        ("ec2InstanceId exists", true),
        ("agentConnected == true", true),
        ("agentConnected == false", false),
        ("agentVersion >= 1.9.0", true),
        ("agentVersion < 1.70.10", true),
        ("agentVersion == 1.70.2", true),
        ("agentVersion =~ 1.70.*", true),
        ("runningTasksCount == 2", true),
        ("runningTasksCount > 1", true),
        ("runningTasksCount <= 1", false),
        ("runningTasksCount in [0, 2]", true),
        ("registeredAt < 2020-01-03", true),
        ("registeredAt > 2020-01-01T23:59:59Z", true),
        ("registeredAt == 2020-01-02T00:00:00.000Z", true),
        ("registeredAt >= 1577923200000", true),
        ("registeredAt > 1577923200000", false),
        // task:group: satisfied when the instance runs a task of that group
        ("task:group == service:web", true),
        ("task:group == family:batch", false),
        ("task:group != service:web", false),
        ("task:group != service:api", true),
        ("task:group in [service:api, service:web]", true),
        ("task:group =~ service:*", true),
        ("task:group =~ family:*", false),
        ("task:group exists", true),
        // boolean structure and precedence (and binds tighter than or)
        ("attribute:stack == prod and agentConnected == true", true),
        ("attribute:stack == prod && agentConnected == false", false),
        ("attribute:stack == dev or agentConnected == true", true),
        ("attribute:stack == dev || agentConnected == false", false),
        ("not attribute:stack == dev", true),
        ("!attribute:stack == prod", false),
        ("!(attribute:stack == prod)", false),
        (
            "attribute:stack == dev or attribute:stack == prod and agentConnected == false",
            false,
        ),
        (
            "(attribute:stack == dev or attribute:stack == prod) and agentConnected == true",
            true,
        ),
        (
            "attribute:stack == prod or attribute:x == y and attribute:y == z",
            true,
        ),
        ("((attribute:stack == prod))", true),
        ("not not attribute:stack == prod", true),
        ("attribute:stack == prod AND agentConnected == true", true),
        (
            "attribute:ecs.availability-zone in [us-east-1a, us-east-1b] and task:group == service:web",
            true,
        ),
    ];
    for (expr, expected) in cases {
        let parsed = parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        assert_eq!(parsed.matches(&inst), *expected, "{expr}");
    }
}

#[test]
fn invalid_expressions_table() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "expected a subject"),
        ("   ", 3, "expected a subject"),
        ("foo == bar", 0, "expected a subject"),
        ("attribute: == x", 0, "expected an attribute name"),
        ("attribute:x", 11, "expected an operator"),
        ("attribute:x = y", 12, "unexpected character '='"),
        ("attribute:x == ", 15, "expected a value"),
        ("attribute:x in a", 15, "expected '['"),
        ("attribute:x in [a", 17, "expected ',' or ']'"),
        ("attribute:x in []", 16, "expected a value"),
        ("attribute:x in [a,]", 18, "expected a value"),
        ("attribute:x == y and", 20, "expected a subject"),
        ("attribute:x == y or or", 20, "expected a subject"),
        ("(attribute:x == y", 17, "expected ')'"),
        (
            "attribute:x == y)",
            16,
            "expected 'and', 'or' or end of expression",
        ),
        ("attribute:x == y z", 17, "found 'z'"),
        (
            "attribute:x == y & attribute:z == w",
            17,
            "unexpected character '&'",
        ),
        (
            "attribute:x == y | attribute:z == w",
            17,
            "unexpected character '|'",
        ),
        ("attribute:x exists y", 19, "expected 'and', 'or'"),
        ("task:group matches x", 11, "expected an operator"),
        ("not", 3, "expected a subject"),
        ("== x", 0, "found operator '=='"),
        ("attribute:x == ==", 15, "expected a value"),
    ];
    for (expr, position, fragment) in cases {
        let err = parse(expr).expect_err(expr);
        assert_eq!(err.position, *position, "{expr}: {err}");
        assert!(err.to_string().contains(fragment), "{expr}: {err}");
    }
}

#[test]
fn length_limit_is_2000_characters() {
    let base = "attribute:x == ";
    let ok = format!("{base}{}", "a".repeat(MAX_EXPRESSION_CHARS - base.len()));
    assert!(parse(&ok).is_ok());
    let long = format!("{ok}a");
    let err = parse(&long).unwrap_err();
    assert!(err.message.contains("at most 2000"), "{err}");
}

#[test]
fn wildcard_table() {
    let cases = [
        ("*", "", true),
        ("*", "abc", true),
        ("a*", "abc", true),
        ("*c", "abc", true),
        ("a*c", "abbbc", true),
        ("a*b*c", "axbyc", true),
        ("a*b*c", "axbyd", false),
        ("abc", "abc", true),
        ("abc", "abcd", false),
        ("", "", true),
        ("", "a", false),
        ("**", "x", true),
        ("a*a", "a", false),
    ];
    for (pattern, text, expected) in cases {
        assert_eq!(wildcard_match(pattern, text), expected, "{pattern} vs {text}");
    }
}

#[test]
fn depends_on_tasks_only_for_task_subjects() {
    assert!(
        !parse("attribute:a == b and agentConnected == true")
            .unwrap()
            .depends_on_tasks()
    );
    assert!(
        parse("attribute:a == b or not task:group == x")
            .unwrap()
            .depends_on_tasks()
    );
    assert!(parse("runningTasksCount < 3").unwrap().depends_on_tasks());
}

#[test]
fn dates_convert_to_epoch_ms() {
    assert_eq!(parse_date_ms("1970-01-01"), Some(0.0));
    assert_eq!(parse_date_ms("2020-01-02"), Some(1_577_923_200_000.0));
    assert_eq!(parse_date_ms("2000-03-01T01:02:03.5Z"), Some(951_872_523_500.0));
    assert_eq!(parse_date_ms("2020-13-01"), None);
    assert_eq!(parse_date_ms("2020-01-01X"), None);
    assert_eq!(read_number("inf"), None);
    assert_eq!(read_number("-1.5"), Some(-1.5));
}
