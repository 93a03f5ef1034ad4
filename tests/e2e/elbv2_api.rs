//! The ELBv2 API through aws-sdk-elasticloadbalancingv2: every implemented resource's create,
//! describe, modify and delete, the errors with their short query codes, weights that round-trip
//! exactly, attributes, tags, rule priorities and the waiters.

use std::time::Duration;

use aws_sdk_elasticloadbalancingv2 as elb;
use aws_sdk_elasticloadbalancingv2::client::Waiters;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, PathPatternConditionConfig, ProtocolEnum, RuleCondition,
    RulePriorityPair, Tag, TargetDescription, TargetGroupAttribute, TargetGroupTuple, TargetHealthStateEnum,
    TargetTypeEnum,
};
use ecsim::ClockMode;

use crate::common::{self, Env, code, default_subnet};

pub async fn load_balancer(env: &Env, name: &str) -> String {
    let created = env
        .elb
        .create_load_balancer()
        .name(name)
        .subnets(default_subnet('a'))
        .subnets(default_subnet('b'))
        .send()
        .await
        .expect("CreateLoadBalancer");
    created.load_balancers()[0]
        .load_balancer_arn()
        .expect("an ARN")
        .to_string()
}

pub async fn target_group(env: &Env, name: &str, target_type: TargetTypeEnum) -> String {
    let created = env
        .elb
        .create_target_group()
        .name(name)
        .protocol(ProtocolEnum::Http)
        .port(8080)
        .vpc_id("vpc-0ec5100000000000d")
        .target_type(target_type)
        .send()
        .await
        .expect("CreateTargetGroup");
    created.target_groups()[0]
        .target_group_arn()
        .expect("an ARN")
        .to_string()
}

pub fn forward_weighted(groups: &[(&str, i32)]) -> Action {
    let mut config = ForwardActionConfig::builder();
    for (arn, weight) in groups {
        config = config.target_groups(
            TargetGroupTuple::builder()
                .target_group_arn(*arn)
                .weight(*weight)
                .build(),
        );
    }
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(config.build())
        .build()
}

fn weights_of(action: &Action) -> Vec<(String, i32)> {
    action
        .forward_config()
        .map(|f| {
            f.target_groups()
                .iter()
                .map(|t| {
                    (
                        t.target_group_arn().unwrap_or_default().to_string(),
                        t.weight().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn load_balancers_become_active_and_answer_errors_with_query_codes() {
    let env = common::start(ClockMode::Virtual).await;
    let arn = load_balancer(&env, "web").await;
    assert!(arn.starts_with("arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/"));
    env.elb
        .wait_until_load_balancer_available()
        .load_balancer_arns(&arn)
        .wait(Duration::from_secs(600))
        .await
        .expect("the load balancer becomes active");
    let described = env
        .elb
        .describe_load_balancers()
        .names("web")
        .send()
        .await
        .expect("DescribeLoadBalancers");
    let lb = &described.load_balancers()[0];
    assert_eq!(
        lb.state().and_then(|s| s.code()).map(|c| c.as_str()),
        Some("active")
    );
    let dns = lb.dns_name().expect("a DNS name");
    assert!(
        dns.starts_with("web-") && dns.ends_with(".us-east-1.elb.localhost"),
        "{dns}"
    );
    assert_eq!(lb.vpc_id(), Some("vpc-0ec5100000000000d"));
    assert_eq!(lb.availability_zones().len(), 2);

    let duplicate = env
        .elb
        .create_load_balancer()
        .name("web")
        .subnets(default_subnet('c'))
        .subnets(default_subnet('d'))
        .send()
        .await
        .expect_err("names are unique");
    assert_eq!(code(&duplicate), "DuplicateLoadBalancerName");
    let one_zone = env
        .elb
        .create_load_balancer()
        .name("lonely")
        .subnets(default_subnet('a'))
        .send()
        .await
        .expect_err("an ALB needs two AZs");
    assert_eq!(code(&one_zone), "ValidationError");
    let bad_name = env
        .elb
        .create_load_balancer()
        .name("-bad-")
        .subnets(default_subnet('a'))
        .subnets(default_subnet('b'))
        .send()
        .await
        .expect_err("bad name");
    assert_eq!(code(&bad_name), "ValidationError");

    env.elb
        .delete_load_balancer()
        .load_balancer_arn(&arn)
        .send()
        .await
        .expect("DeleteLoadBalancer");
    let gone = env
        .elb
        .describe_load_balancers()
        .load_balancer_arns(&arn)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(code(&gone), "LoadBalancerNotFound");
    assert!(matches!(
        gone.into_service_error(),
        elb::operation::describe_load_balancers::DescribeLoadBalancersError::LoadBalancerNotFoundException(_)
    ));
}

#[tokio::test]
async fn target_groups_have_aws_defaults_and_validated_attributes() {
    let env = common::start(ClockMode::Virtual).await;
    let tg = target_group(&env, "blue", TargetTypeEnum::Ip).await;
    let described = env
        .elb
        .describe_target_groups()
        .target_group_arns(&tg)
        .send()
        .await
        .expect("DescribeTargetGroups");
    let g = &described.target_groups()[0];
    assert_eq!(g.health_check_interval_seconds(), Some(30));
    assert_eq!(g.health_check_timeout_seconds(), Some(5));
    assert_eq!(g.healthy_threshold_count(), Some(5));
    assert_eq!(g.unhealthy_threshold_count(), Some(2));
    assert_eq!(g.health_check_path(), Some("/"));
    assert_eq!(g.health_check_port(), Some("traffic-port"));
    assert_eq!(g.matcher().and_then(|m| m.http_code()), Some("200"));
    assert_eq!(g.target_type(), Some(&TargetTypeEnum::Ip));

    let attributes = env
        .elb
        .describe_target_group_attributes()
        .target_group_arn(&tg)
        .send()
        .await
        .expect("DescribeTargetGroupAttributes");
    let value = |key: &str| {
        attributes
            .attributes()
            .iter()
            .find(|a| a.key() == Some(key))
            .and_then(|a| a.value())
            .map(str::to_string)
    };
    assert_eq!(
        value("deregistration_delay.timeout_seconds").as_deref(),
        Some("300")
    );
    assert_eq!(value("stickiness.enabled").as_deref(), Some("false"));
    assert_eq!(
        value("load_balancing.algorithm.type").as_deref(),
        Some("round_robin")
    );

    let modified = env
        .elb
        .modify_target_group_attributes()
        .target_group_arn(&tg)
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("5")
                .build(),
        )
        .send()
        .await
        .expect("ModifyTargetGroupAttributes");
    assert!(
        modified
            .attributes()
            .iter()
            .any(|a| a.key() == Some("deregistration_delay.timeout_seconds") && a.value() == Some("5"))
    );
    let out_of_range = env
        .elb
        .modify_target_group_attributes()
        .target_group_arn(&tg)
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("4000")
                .build(),
        )
        .send()
        .await
        .expect_err("0-3600");
    assert_eq!(code(&out_of_range), "ValidationError");
    let unknown = env
        .elb
        .modify_target_group_attributes()
        .target_group_arn(&tg)
        .attributes(
            TargetGroupAttribute::builder()
                .key("no.such.key")
                .value("1")
                .build(),
        )
        .send()
        .await
        .expect_err("unknown key");
    assert_eq!(code(&unknown), "ValidationError");

    let bad_timeout = env
        .elb
        .modify_target_group()
        .target_group_arn(&tg)
        .health_check_interval_seconds(5)
        .health_check_timeout_seconds(6)
        .send()
        .await
        .expect_err("timeout must be below the interval");
    assert_eq!(code(&bad_timeout), "ValidationError");
    let duplicate = env
        .elb
        .create_target_group()
        .name("blue")
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id("vpc-0ec5100000000000d")
        .send()
        .await
        .expect_err("names are unique");
    assert_eq!(code(&duplicate), "DuplicateTargetGroupName");
    let missing = env
        .elb
        .describe_target_groups()
        .target_group_arns(tg.replace("blue", "nope"))
        .send()
        .await
        .expect_err("no such group");
    assert_eq!(code(&missing), "TargetGroupNotFound");
}

#[tokio::test]
async fn listener_weights_round_trip_exactly_and_rules_keep_unique_priorities() {
    let env = common::start(ClockMode::Virtual).await;
    let lb = load_balancer(&env, "shop").await;
    let blue = target_group(&env, "blue", TargetTypeEnum::Ip).await;
    let green = target_group(&env, "green", TargetTypeEnum::Ip).await;
    let listener = env
        .elb
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(forward_weighted(&[(&blue, 75), (&green, 25)]))
        .send()
        .await
        .expect("CreateListener");
    let listener = &listener.listeners()[0];
    let listener_arn = listener.listener_arn().expect("an ARN").to_string();
    assert_eq!(listener.port(), Some(80));
    assert_eq!(
        weights_of(&listener.default_actions()[0]),
        vec![(blue.clone(), 75), (green.clone(), 25)]
    );
    let duplicate = env
        .elb
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(forward_weighted(&[(&blue, 1)]))
        .send()
        .await
        .expect_err("one listener per port");
    assert_eq!(code(&duplicate), "DuplicateListener");

    // Traffic shifting: ModifyListener replaces the actions; the weights read back exactly.
    for (b, g) in [(90, 10), (0, 999), (999, 0), (1, 1)] {
        env.elb
            .modify_listener()
            .listener_arn(&listener_arn)
            .default_actions(forward_weighted(&[(&blue, b), (&green, g)]))
            .send()
            .await
            .expect("ModifyListener");
        let described = env
            .elb
            .describe_listeners()
            .listener_arns(&listener_arn)
            .send()
            .await
            .expect("DescribeListeners");
        assert_eq!(
            weights_of(&described.listeners()[0].default_actions()[0]),
            vec![(blue.clone(), b), (green.clone(), g)]
        );
    }
    let too_heavy = env
        .elb
        .modify_listener()
        .listener_arn(&listener_arn)
        .default_actions(forward_weighted(&[(&blue, 1000)]))
        .send()
        .await
        .expect_err("weights are 0-999");
    assert_eq!(code(&too_heavy), "ValidationError");

    let path = |p: &str| {
        RuleCondition::builder()
            .field("path-pattern")
            .path_pattern_config(PathPatternConditionConfig::builder().values(p).build())
            .build()
    };
    let rule = env
        .elb
        .create_rule()
        .listener_arn(&listener_arn)
        .priority(10)
        .conditions(path("/api/*"))
        .actions(forward_weighted(&[(&green, 1)]))
        .send()
        .await
        .expect("CreateRule");
    let rule_arn = rule.rules()[0].rule_arn().expect("an ARN").to_string();
    let clash = env
        .elb
        .create_rule()
        .listener_arn(&listener_arn)
        .priority(10)
        .conditions(path("/other/*"))
        .actions(forward_weighted(&[(&blue, 1)]))
        .send()
        .await
        .expect_err("priorities are unique per listener");
    assert_eq!(code(&clash), "PriorityInUse");
    let second = env
        .elb
        .create_rule()
        .listener_arn(&listener_arn)
        .priority(20)
        .conditions(path("/other/*"))
        .actions(forward_weighted(&[(&blue, 1)]))
        .send()
        .await
        .expect("CreateRule");
    let second_arn = second.rules()[0].rule_arn().expect("an ARN").to_string();
    let swap = env
        .elb
        .set_rule_priorities()
        .rule_priorities(
            RulePriorityPair::builder()
                .rule_arn(&second_arn)
                .priority(10)
                .build(),
        )
        .send()
        .await
        .expect_err("10 is taken");
    assert_eq!(code(&swap), "PriorityInUse");
    env.elb
        .set_rule_priorities()
        .rule_priorities(
            RulePriorityPair::builder()
                .rule_arn(&second_arn)
                .priority(5)
                .build(),
        )
        .send()
        .await
        .expect("SetRulePriorities");
    let rules = env
        .elb
        .describe_rules()
        .listener_arn(&listener_arn)
        .send()
        .await
        .expect("DescribeRules");
    let priorities: Vec<&str> = rules.rules().iter().filter_map(|r| r.priority()).collect();
    assert_eq!(priorities, vec!["5", "10", "default"]);
    let default_rule = rules
        .rules()
        .iter()
        .find(|r| r.is_default() == Some(true))
        .expect("a default rule");
    let refused = env
        .elb
        .delete_rule()
        .rule_arn(default_rule.rule_arn().expect("an ARN"))
        .send()
        .await
        .expect_err("the default rule stays");
    assert_eq!(code(&refused), "OperationNotPermitted");
    env.elb
        .delete_rule()
        .rule_arn(&rule_arn)
        .send()
        .await
        .expect("DeleteRule");

    let in_use = env
        .elb
        .delete_target_group()
        .target_group_arn(&blue)
        .send()
        .await
        .expect_err("a listener forwards to it");
    assert_eq!(code(&in_use), "ResourceInUse");

    env.elb
        .add_tags()
        .resource_arns(&lb)
        .resource_arns(&blue)
        .tags(Tag::builder().key("team").value("payments").build())
        .send()
        .await
        .expect("AddTags");
    let tags = env
        .elb
        .describe_tags()
        .resource_arns(&lb)
        .resource_arns(&blue)
        .send()
        .await
        .expect("DescribeTags");
    assert_eq!(tags.tag_descriptions().len(), 2);
    assert!(tags.tag_descriptions().iter().all(|d| {
        d.tags()
            .iter()
            .any(|t| t.key() == Some("team") && t.value() == Some("payments"))
    }));
    env.elb
        .remove_tags()
        .resource_arns(&lb)
        .tag_keys("team")
        .send()
        .await
        .expect("RemoveTags");
    let tags = env
        .elb
        .describe_tags()
        .resource_arns(&lb)
        .send()
        .await
        .expect("DescribeTags");
    assert!(tags.tag_descriptions()[0].tags().is_empty());
}

#[tokio::test]
async fn target_health_reports_states_and_reason_codes() {
    let env = common::start(ClockMode::Virtual).await;
    let tg = target_group(&env, "lonely", TargetTypeEnum::Ip).await;
    let target = TargetDescription::builder().id("10.1.2.3").port(8080).build();
    env.elb
        .register_targets()
        .target_group_arn(&tg)
        .targets(target.clone())
        .send()
        .await
        .expect("RegisterTargets");
    // No load balancer uses the group yet: the target is unused, never probed.
    let health = env
        .elb
        .describe_target_health()
        .target_group_arn(&tg)
        .send()
        .await
        .expect("DescribeTargetHealth");
    let th = health.target_health_descriptions()[0]
        .target_health()
        .expect("health");
    assert_eq!(th.state(), Some(&TargetHealthStateEnum::Unused));
    assert_eq!(th.reason().map(|r| r.as_str()), Some("Target.NotInUse"));

    let lb = load_balancer(&env, "edge").await;
    env.elb
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(forward_weighted(&[(&tg, 1)]))
        .send()
        .await
        .expect("CreateListener");
    // A non-loopback address that is no ecsim task is never dialed: it fails its checks.
    env.clock().advance(Duration::from_secs(120));
    let health = env
        .elb
        .describe_target_health()
        .target_group_arn(&tg)
        .send()
        .await
        .expect("DescribeTargetHealth");
    let th = health.target_health_descriptions()[0]
        .target_health()
        .expect("health");
    assert_eq!(th.state(), Some(&TargetHealthStateEnum::Unhealthy));
    assert!(
        th.description().unwrap_or_default().contains("10.1.2.3"),
        "{th:?}"
    );

    let unknown = env
        .elb
        .describe_target_health()
        .target_group_arn(&tg)
        .targets(TargetDescription::builder().id("10.9.9.9").port(8080).build())
        .send()
        .await
        .expect("DescribeTargetHealth");
    let th = unknown.target_health_descriptions()[0]
        .target_health()
        .expect("health");
    assert_eq!(th.state(), Some(&TargetHealthStateEnum::Unused));
    assert_eq!(th.reason().map(|r| r.as_str()), Some("Target.NotRegistered"));

    env.elb
        .modify_target_group_attributes()
        .target_group_arn(&tg)
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("30")
                .build(),
        )
        .send()
        .await
        .expect("ModifyTargetGroupAttributes");
    env.elb
        .deregister_targets()
        .target_group_arn(&tg)
        .targets(target.clone())
        .send()
        .await
        .expect("DeregisterTargets");
    let health = env
        .elb
        .describe_target_health()
        .target_group_arn(&tg)
        .send()
        .await
        .expect("DescribeTargetHealth");
    let th = health.target_health_descriptions()[0]
        .target_health()
        .expect("health");
    assert_eq!(th.state(), Some(&TargetHealthStateEnum::Draining));
    assert_eq!(
        th.reason().map(|r| r.as_str()),
        Some("Target.DeregistrationInProgress")
    );
    env.elb
        .wait_until_target_deregistered()
        .target_group_arn(&tg)
        .targets(target)
        .wait(Duration::from_secs(600))
        .await
        .expect("the target finishes draining");
}

/// The operations the other tests do not reach, each with a success and an error through the
/// SDK: account limits, SSL policies, security groups, subnets, IP address type, load balancer
/// and listener attributes, listener certificates, ModifyRule, ModifyTargetGroup and the deletes.
#[tokio::test]
async fn the_remaining_operations_answer_through_the_sdk() {
    use aws_sdk_elasticloadbalancingv2::types::{
        Certificate, IpAddressType, ListenerAttribute, LoadBalancerAttribute, Matcher,
    };
    let env = common::start(ClockMode::Virtual).await;
    let limits = env
        .elb
        .describe_account_limits()
        .send()
        .await
        .expect("DescribeAccountLimits");
    assert!(
        limits
            .limits()
            .iter()
            .any(|l| l.name() == Some("application-load-balancers"))
    );
    let policies = env
        .elb
        .describe_ssl_policies()
        .send()
        .await
        .expect("DescribeSSLPolicies");
    assert!(!policies.ssl_policies().is_empty());

    let lb = load_balancer(&env, "misc").await;
    let subnets = env
        .elb
        .set_subnets()
        .load_balancer_arn(&lb)
        .subnets(default_subnet('a'))
        .subnets(default_subnet('b'))
        .subnets(default_subnet('c'))
        .send()
        .await
        .expect("SetSubnets");
    assert_eq!(subnets.availability_zones().len(), 3);
    let groups = env
        .elb
        .set_security_groups()
        .load_balancer_arn(&lb)
        .security_groups("sg-0ec5100000000000d")
        .send()
        .await
        .expect("SetSecurityGroups");
    assert_eq!(groups.security_group_ids(), ["sg-0ec5100000000000d"]);
    let ip_type = env
        .elb
        .set_ip_address_type()
        .load_balancer_arn(&lb)
        .ip_address_type(IpAddressType::Ipv4)
        .send()
        .await
        .expect("SetIpAddressType");
    assert_eq!(ip_type.ip_address_type(), Some(&IpAddressType::Ipv4));
    env.elb
        .modify_load_balancer_attributes()
        .load_balancer_arn(&lb)
        .attributes(
            LoadBalancerAttribute::builder()
                .key("idle_timeout.timeout_seconds")
                .value("30")
                .build(),
        )
        .send()
        .await
        .expect("ModifyLoadBalancerAttributes");
    let attributes = env
        .elb
        .describe_load_balancer_attributes()
        .load_balancer_arn(&lb)
        .send()
        .await
        .expect("DescribeLoadBalancerAttributes");
    assert!(
        attributes
            .attributes()
            .iter()
            .any(|a| a.key() == Some("idle_timeout.timeout_seconds") && a.value() == Some("30"))
    );
    let bad = env
        .elb
        .modify_load_balancer_attributes()
        .load_balancer_arn(&lb)
        .attributes(
            LoadBalancerAttribute::builder()
                .key("idle_timeout.timeout_seconds")
                .value("0")
                .build(),
        )
        .send()
        .await
        .expect_err("1-4000");
    assert_eq!(code(&bad), "ValidationError");

    let tg = target_group(&env, "misc-tg", TargetTypeEnum::Ip).await;
    let modified = env
        .elb
        .modify_target_group()
        .target_group_arn(&tg)
        .health_check_path("/ready")
        .matcher(Matcher::builder().http_code("200-299").build())
        .send()
        .await
        .expect("ModifyTargetGroup");
    let g = &modified.target_groups()[0];
    assert_eq!(g.health_check_path(), Some("/ready"));
    assert_eq!(g.matcher().and_then(|m| m.http_code()), Some("200-299"));
    let bad_matcher = env
        .elb
        .modify_target_group()
        .target_group_arn(&tg)
        .matcher(Matcher::builder().http_code("600").build())
        .send()
        .await
        .expect_err("200-499");
    assert_eq!(code(&bad_matcher), "ValidationError");

    let listener = env
        .elb
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Https)
        .port(443)
        .certificates(
            Certificate::builder()
                .certificate_arn("arn:aws:acm:us-east-1:000000000000:certificate/one")
                .build(),
        )
        .default_actions(forward_weighted(&[(&tg, 1)]))
        .send()
        .await
        .expect("CreateListener HTTPS");
    let listener_arn = listener.listeners()[0].listener_arn().expect("ARN").to_string();
    env.elb
        .add_listener_certificates()
        .listener_arn(&listener_arn)
        .certificates(
            Certificate::builder()
                .certificate_arn("arn:aws:acm:us-east-1:000000000000:certificate/two")
                .build(),
        )
        .send()
        .await
        .expect("AddListenerCertificates");
    let certificates = env
        .elb
        .describe_listener_certificates()
        .listener_arn(&listener_arn)
        .send()
        .await
        .expect("DescribeListenerCertificates");
    assert_eq!(certificates.certificates().len(), 2);
    env.elb
        .remove_listener_certificates()
        .listener_arn(&listener_arn)
        .certificates(
            Certificate::builder()
                .certificate_arn("arn:aws:acm:us-east-1:000000000000:certificate/two")
                .build(),
        )
        .send()
        .await
        .expect("RemoveListenerCertificates");
    let listener_attributes = env
        .elb
        .describe_listener_attributes()
        .listener_arn(&listener_arn)
        .send()
        .await
        .expect("DescribeListenerAttributes");
    let key = listener_attributes.attributes()[0]
        .key()
        .expect("a key")
        .to_string();
    let value = listener_attributes.attributes()[0]
        .value()
        .unwrap_or_default()
        .to_string();
    env.elb
        .modify_listener_attributes()
        .listener_arn(&listener_arn)
        .attributes(ListenerAttribute::builder().key(&key).value(&value).build())
        .send()
        .await
        .expect("ModifyListenerAttributes");

    let path = |p: &str| {
        RuleCondition::builder()
            .field("path-pattern")
            .path_pattern_config(PathPatternConditionConfig::builder().values(p).build())
            .build()
    };
    let rule = env
        .elb
        .create_rule()
        .listener_arn(&listener_arn)
        .priority(1)
        .conditions(path("/a"))
        .actions(forward_weighted(&[(&tg, 1)]))
        .send()
        .await
        .expect("CreateRule");
    let rule_arn = rule.rules()[0].rule_arn().expect("ARN").to_string();
    let modified = env
        .elb
        .modify_rule()
        .rule_arn(&rule_arn)
        .conditions(path("/b"))
        .send()
        .await
        .expect("ModifyRule");
    let values = modified.rules()[0].conditions()[0]
        .path_pattern_config()
        .map(|c| c.values().to_vec())
        .unwrap_or_default();
    assert_eq!(values, vec!["/b".to_string()]);
    let missing_rule = env
        .elb
        .modify_rule()
        .rule_arn(rule_arn.replace(|c: char| c.is_ascii_hexdigit() && c != 'a', "0"))
        .conditions(path("/c"))
        .send()
        .await
        .expect_err("no such rule");
    assert_eq!(code(&missing_rule), "RuleNotFound");

    env.elb
        .delete_listener()
        .listener_arn(&listener_arn)
        .send()
        .await
        .expect("DeleteListener");
    let gone = env
        .elb
        .describe_listeners()
        .listener_arns(&listener_arn)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(code(&gone), "ListenerNotFound");
    env.elb
        .delete_target_group()
        .target_group_arn(&tg)
        .send()
        .await
        .expect("DeleteTargetGroup once nothing forwards to it");
    let gone = env
        .elb
        .describe_target_groups()
        .target_group_arns(&tg)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(code(&gone), "TargetGroupNotFound");
}
