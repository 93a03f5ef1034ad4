//! Rules: priorities, conditions, the default rule, SetRulePriorities.

use ecsim_api::elbv2 as api;
use ecsim_api::elbv2::Elbv2Api;

use super::{Fixture, code, fixed, forward, host_condition_config, path_condition};

struct Setup {
    f: Fixture,
    listener: String,
    tg: String,
}

fn setup() -> Setup {
    let mut f = Fixture::new();
    let lb = f.create_lb("web").load_balancer_arn.unwrap();
    let tg = f
        .create_tg("api", api::TargetTypeEnum::Ip)
        .target_group_arn
        .unwrap();
    let listener = f
        .create_listener(&lb, 80, fixed("404"))
        .unwrap()
        .listener_arn
        .unwrap();
    Setup { f, listener, tg }
}

fn rules(f: &mut Fixture, listener: &str) -> Vec<api::Rule> {
    f.call(|h| {
        h.describe_rules(api::DescribeRulesInput {
            listener_arn: Some(listener.into()),
            ..Default::default()
        })
    })
    .unwrap()
    .rules
    .unwrap()
}

#[test]
fn create_describe_and_default_rule() {
    let Setup { mut f, listener, tg } = setup();
    let listener_id = listener.rsplit('/').next().unwrap().to_string();
    let r20 = f
        .create_rule(&listener, 20, vec![path_condition(&["/api/*"])], forward(&tg))
        .unwrap();
    let arn20 = r20.rule_arn.clone().unwrap();
    assert!(arn20.contains(":listener-rule/app/web/"));
    assert!(arn20.contains(&format!("/{listener_id}/")));
    assert_eq!(r20.priority.as_deref(), Some("20"));
    assert_eq!(r20.is_default, Some(false));
    let cond = &r20.conditions.as_ref().unwrap()[0];
    assert_eq!(cond.field.as_deref(), Some("path-pattern"));
    assert_eq!(cond.values, Some(vec!["/api/*".to_string()]));
    assert_eq!(
        cond.path_pattern_config.as_ref().unwrap().values,
        Some(vec!["/api/*".to_string()])
    );
    f.create_rule(
        &listener,
        5,
        vec![host_condition_config(&["*.example.com", "example.com"])],
        fixed("200"),
    )
    .unwrap();
    assert_eq!(
        code(f.create_rule(&listener, 20, vec![path_condition(&["/b"])], fixed("200"))),
        "PriorityInUse"
    );
    assert_eq!(
        code(f.create_rule(&listener, 0, vec![path_condition(&["/b"])], fixed("200"))),
        "ValidationError"
    );
    assert_eq!(
        code(f.create_rule(&listener, 50_001, vec![path_condition(&["/b"])], fixed("200"))),
        "ValidationError"
    );
    assert_eq!(
        code(f.create_rule(
            &format!("{listener}0"),
            7,
            vec![path_condition(&["/b"])],
            fixed("200")
        )),
        "ListenerNotFound"
    );

    let all = rules(&mut f, &listener);
    let priorities: Vec<&str> = all.iter().map(|r| r.priority.as_deref().unwrap()).collect();
    assert_eq!(priorities, vec!["5", "20", "default"]);
    let default = all.last().unwrap();
    assert_eq!(default.is_default, Some(true));
    assert_eq!(default.conditions, Some(vec![]));
    assert_eq!(
        default.actions.as_ref().unwrap()[0]
            .fixed_response_config
            .as_ref()
            .unwrap()
            .status_code,
        "404"
    );
    let default_arn = default.rule_arn.clone().unwrap();
    assert!(default_arn.contains(&format!("/{listener_id}/")));

    // By ARN, the default rule included.
    let by_arn = f
        .call(|h| {
            h.describe_rules(api::DescribeRulesInput {
                rule_arns: Some(vec![default_arn.clone(), arn20.clone()]),
                ..Default::default()
            })
        })
        .unwrap()
        .rules
        .unwrap();
    assert_eq!(by_arn.len(), 2);
    let missing = f.call(|h| {
        h.describe_rules(api::DescribeRulesInput {
            rule_arns: Some(vec![format!("{arn20}0")]),
            ..Default::default()
        })
    });
    assert_eq!(code(missing), "RuleNotFound");

    // The default rule cannot go; other rules can.
    let delete =
        |f: &mut Fixture, arn: &str| f.call(|h| h.delete_rule(api::DeleteRuleInput { rule_arn: arn.into() }));
    assert_eq!(code(delete(&mut f, &default_arn)), "OperationNotPermitted");
    assert_eq!(f.world.elbv2.target_groups[&tg].load_balancer_arns.len(), 1);
    delete(&mut f, &arn20).unwrap();
    assert_eq!(code(delete(&mut f, &arn20)), "RuleNotFound");
    assert!(f.world.elbv2.target_groups[&tg].load_balancer_arns.is_empty());
    assert_eq!(rules(&mut f, &listener).len(), 2);
}

#[test]
fn condition_validation() {
    let Setup { mut f, listener, .. } = setup();
    let header = |name: &str, values: &[&str]| api::RuleCondition {
        field: Some("http-header".into()),
        http_header_config: Some(api::HttpHeaderConditionConfig {
            http_header_name: Some(name.into()),
            values: Some(values.iter().map(|s| (*s).into()).collect()),
            regex_values: None,
        }),
        ..Default::default()
    };
    let method = |values: &[&str]| api::RuleCondition {
        field: Some("http-request-method".into()),
        http_request_method_config: Some(api::HttpRequestMethodConditionConfig {
            values: Some(values.iter().map(|s| (*s).into()).collect()),
        }),
        ..Default::default()
    };
    let source = |values: &[&str]| api::RuleCondition {
        field: Some("source-ip".into()),
        source_ip_config: Some(api::SourceIpConditionConfig {
            values: Some(values.iter().map(|s| (*s).into()).collect()),
            ip_address_type: None,
        }),
        ..Default::default()
    };
    let query = |pairs: &[(Option<&str>, &str)]| api::RuleCondition {
        field: Some("query-string".into()),
        query_string_config: Some(api::QueryStringConditionConfig {
            values: Some(
                pairs
                    .iter()
                    .map(|(k, v)| api::QueryStringKeyValuePair {
                        key: k.map(Into::into),
                        value: Some((*v).into()),
                    })
                    .collect(),
            ),
        }),
        ..Default::default()
    };
    let bad: Vec<Vec<api::RuleCondition>> = vec![
        vec![],
        vec![path_condition(&["/a"]), path_condition(&["/b"])],
        vec![
            host_condition_config(&["a.example.com"]),
            host_condition_config(&["b.example.com"]),
        ],
        vec![method(&["GET"]), method(&["POST"])],
        vec![source(&["10.0.0.0/8"]), source(&["192.168.0.0/16"])],
        vec![
            path_condition(&["/1", "/2", "/3"]),
            host_condition_config(&["a", "b", "c"]),
        ],
        vec![path_condition(&["/a*b*c*d*e*f*"])],
        vec![api::RuleCondition {
            field: Some("path-pattern".into()),
            regex_values: Some(vec!["^/a$".into()]),
            ..Default::default()
        }],
        vec![api::RuleCondition {
            field: Some("path-pattern".into()),
            values: Some(vec!["/a".into()]),
            path_pattern_config: Some(api::PathPatternConditionConfig {
                values: Some(vec!["/a".into()]),
                regex_values: None,
            }),
            ..Default::default()
        }],
        vec![api::RuleCondition {
            field: Some("http-request-method".into()),
            values: Some(vec!["GET".into()]),
            ..Default::default()
        }],
        vec![api::RuleCondition {
            field: Some("cookie".into()),
            values: Some(vec!["x".into()]),
            ..Default::default()
        }],
        vec![api::RuleCondition {
            field: Some("path-pattern".into()),
            host_header_config: Some(api::HostHeaderConditionConfig {
                values: Some(vec!["a".into()]),
                regex_values: None,
            }),
            ..Default::default()
        }],
        vec![host_condition_config(&["bad host"])],
        vec![path_condition(&[&format!("/{}", "a".repeat(128))])],
        vec![method(&["get"])],
        vec![source(&["10.0.0.1"])],
        vec![source(&["10.0.0.0/33"])],
        vec![header("Host", &["x"])],
        vec![header("X-Env", &[])],
        vec![query(&[(Some("k"), "")])],
    ];
    for (i, conditions) in bad.into_iter().enumerate() {
        let shown = format!("{conditions:?}");
        assert_eq!(
            code(f.create_rule(&listener, 10 + i as i32, conditions, fixed("200"))),
            "ValidationError",
            "{shown}"
        );
    }
    assert!(f.world.elbv2.rules.is_empty());

    let good = vec![
        header("X-Env", &["canary", "beta*"]),
        method(&["GET"]),
        query(&[(Some("version"), "v2"), (None, "debug")]),
    ];
    let rule = f.create_rule(&listener, 1, good, fixed("200")).unwrap();
    let conditions = rule.conditions.unwrap();
    assert_eq!(conditions[0].field.as_deref(), Some("http-header"));
    assert_eq!(
        conditions[0]
            .http_header_config
            .as_ref()
            .unwrap()
            .http_header_name
            .as_deref(),
        Some("X-Env")
    );
    assert_eq!(conditions[0].values, None);
    let pairs = conditions[2]
        .query_string_config
        .as_ref()
        .unwrap()
        .values
        .clone()
        .unwrap();
    assert_eq!(pairs[1].key, None);
    assert_eq!(pairs[1].value.as_deref(), Some("debug"));
    f.create_rule(
        &listener,
        2,
        vec![source(&["10.0.0.0/8", "::1/128"])],
        fixed("200"),
    )
    .unwrap();
}

#[test]
fn modify_rule_replaces_conditions_and_actions() {
    let Setup { mut f, listener, tg } = setup();
    let arn = f
        .create_rule(&listener, 10, vec![path_condition(&["/old"])], fixed("200"))
        .unwrap()
        .rule_arn
        .unwrap();
    let out = f
        .call(|h| {
            h.modify_rule(api::ModifyRuleInput {
                rule_arn: arn.clone(),
                conditions: Some(vec![host_condition_config(&["new.example.com"])]),
                actions: Some(vec![forward(&tg)]),
                ..Default::default()
            })
        })
        .unwrap()
        .rules
        .unwrap()
        .remove(0);
    assert_eq!(out.priority.as_deref(), Some("10"));
    let conditions = out.conditions.unwrap();
    assert_eq!(conditions.len(), 1);
    assert_eq!(conditions[0].field.as_deref(), Some("host-header"));
    assert_eq!(conditions[0].values, Some(vec!["new.example.com".to_string()]));
    assert_eq!(
        out.actions.unwrap()[0].target_group_arn.as_deref(),
        Some(tg.as_str())
    );
    assert_eq!(f.world.elbv2.target_groups[&tg].load_balancer_arns.len(), 1);

    // Only the actions: conditions stay.
    let out = f
        .call(|h| {
            h.modify_rule(api::ModifyRuleInput {
                rule_arn: arn.clone(),
                actions: Some(vec![fixed("503")]),
                ..Default::default()
            })
        })
        .unwrap()
        .rules
        .unwrap()
        .remove(0);
    assert_eq!(out.conditions.unwrap()[0].field.as_deref(), Some("host-header"));
    assert!(f.world.elbv2.target_groups[&tg].load_balancer_arns.is_empty());

    // The default rule: actions yes, conditions no.
    let default_arn = rules(&mut f, &listener).pop().unwrap().rule_arn.unwrap();
    let conditions = f.call(|h| {
        h.modify_rule(api::ModifyRuleInput {
            rule_arn: default_arn.clone(),
            conditions: Some(vec![path_condition(&["/x"])]),
            ..Default::default()
        })
    });
    assert_eq!(code(conditions), "OperationNotPermitted");
    let out = f
        .call(|h| {
            h.modify_rule(api::ModifyRuleInput {
                rule_arn: default_arn.clone(),
                actions: Some(vec![forward(&tg)]),
                ..Default::default()
            })
        })
        .unwrap()
        .rules
        .unwrap()
        .remove(0);
    assert_eq!(out.is_default, Some(true));
    assert_eq!(
        f.listener_action(&listener).target_group_arn.as_deref(),
        Some(tg.as_str())
    );
    let transforms = f.call(|h| {
        h.modify_rule(api::ModifyRuleInput {
            rule_arn: arn.clone(),
            transforms: Some(vec![api::RuleTransform::default()]),
            ..Default::default()
        })
    });
    assert_eq!(code(transforms), "ValidationError");
    let gone = f.call(|h| {
        h.modify_rule(api::ModifyRuleInput {
            rule_arn: format!("{arn}0"),
            ..Default::default()
        })
    });
    assert_eq!(code(gone), "RuleNotFound");
}

#[test]
fn set_rule_priorities_swaps_and_detects_conflicts() {
    let Setup { mut f, listener, .. } = setup();
    let a = f
        .create_rule(&listener, 1, vec![path_condition(&["/a"])], fixed("200"))
        .unwrap()
        .rule_arn
        .unwrap();
    let b = f
        .create_rule(&listener, 2, vec![path_condition(&["/b"])], fixed("200"))
        .unwrap()
        .rule_arn
        .unwrap();
    let c = f
        .create_rule(&listener, 3, vec![path_condition(&["/c"])], fixed("200"))
        .unwrap()
        .rule_arn
        .unwrap();
    let set = |f: &mut Fixture, pairs: &[(&str, i32)]| {
        f.call(|h| {
            h.set_rule_priorities(api::SetRulePrioritiesInput {
                rule_priorities: pairs
                    .iter()
                    .map(|(arn, p)| api::RulePriorityPair {
                        rule_arn: Some((*arn).into()),
                        priority: Some(*p),
                    })
                    .collect(),
            })
        })
    };
    // A swap in one call is fine.
    let out = set(&mut f, &[(&a, 2), (&b, 1)]).unwrap();
    assert_eq!(out.rules.unwrap().len(), 2);
    let order: Vec<String> = rules(&mut f, &listener)
        .into_iter()
        .map(|r| r.rule_arn.unwrap())
        .collect();
    assert_eq!(order[..3], [b.clone(), a.clone(), c.clone()]);

    // Moving onto a priority an unmoved rule keeps is a conflict, and changes nothing.
    let conflict = set(&mut f, &[(&a, 3)]);
    let err = conflict.unwrap_err();
    assert_eq!(err.code, "PriorityInUse");
    assert_eq!(err.message, "Priority '3' is currently in use");
    let conflict = set(&mut f, &[(&a, 7), (&b, 7)]);
    assert_eq!(code(conflict), "PriorityInUse");
    let priorities: Vec<String> = rules(&mut f, &listener)
        .into_iter()
        .map(|r| r.priority.unwrap())
        .collect();
    assert_eq!(priorities, vec!["1", "2", "3", "default"]);

    let default_arn = rules(&mut f, &listener).pop().unwrap().rule_arn.unwrap();
    assert_eq!(code(set(&mut f, &[(&default_arn, 9)])), "OperationNotPermitted");
    assert_eq!(code(set(&mut f, &[(&format!("{a}0"), 9)])), "RuleNotFound");
    assert_eq!(code(set(&mut f, &[(&a, 50_001)])), "ValidationError");
    assert_eq!(code(set(&mut f, &[])), "ValidationError");
    // Rotating all three at once works too.
    set(&mut f, &[(&a, 3), (&b, 2), (&c, 1)]).unwrap();
    let order: Vec<String> = rules(&mut f, &listener)
        .into_iter()
        .map(|r| r.rule_arn.unwrap())
        .collect();
    assert_eq!(order[..3], [c, b, a]);
}
