//! CloudWatch through aws-sdk-cloudwatch (Smithy RPC v2 CBOR): metric data in and out, alarms
//! evaluated on the virtual clock, composite alarms, history, filters, pagination, tags, errors.

use std::time::Duration;

use aws_sdk_cloudwatch::client::Waiters;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, Dimension, DimensionFilter, HistoryItemType, Metric, MetricDataQuery,
    MetricDatum, MetricStat, ScanBy, StateValue, Statistic, StatisticSet, Tag,
};
use ecsim::ClockMode;

use crate::common::{Env, code, start};

fn at(env: &Env, offset_s: u64) -> DateTime {
    DateTime::from_millis((env.clock().now_ms() + offset_s * 1_000) as i64)
}

fn datum(name: &str, value: f64, when: DateTime) -> MetricDatum {
    MetricDatum::builder()
        .metric_name(name)
        .dimensions(Dimension::builder().name("Service").value("web").build())
        .value(value)
        .timestamp(when)
        .build()
}

async fn put(env: &Env, name: &str, value: f64) {
    env.cw
        .put_metric_data()
        .namespace("App")
        .metric_data(datum(name, value, at(env, 0)))
        .send()
        .await
        .expect("PutMetricData");
}

/// An alarm on App/Errors: Sum over 60 s, one period, above 1. Tests change what they need.
fn errors_alarm(
    env: &Env,
    name: &str,
) -> aws_sdk_cloudwatch::operation::put_metric_alarm::builders::PutMetricAlarmFluentBuilder {
    env.cw
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("App")
        .metric_name("Errors")
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
}

async fn alarm(env: &Env, name: &str) -> aws_sdk_cloudwatch::types::MetricAlarm {
    let out = env.cw.describe_alarms().alarm_names(name).send().await.unwrap();
    out.metric_alarms()[0].clone()
}

#[tokio::test]
async fn metric_data_round_trips_with_statistics_percentiles_and_math() {
    let env = start(ClockMode::Virtual).await;
    let t0 = env.clock().now_ms();
    // Ten latencies 1..=10 in the first minute, one StatisticSet and a Values/Counts datum in the second.
    env.cw
        .put_metric_data()
        .namespace("App")
        .set_metric_data(Some(
            (1..=10)
                .map(|v| datum("Latency", f64::from(v), at(&env, 0)))
                .collect(),
        ))
        .send()
        .await
        .unwrap();
    env.clock().advance(Duration::from_secs(60));
    env.cw
        .put_metric_data()
        .namespace("App")
        .metric_data(
            MetricDatum::builder()
                .metric_name("Latency")
                .dimensions(Dimension::builder().name("Service").value("web").build())
                .statistic_values(
                    StatisticSet::builder()
                        .sample_count(4.0)
                        .sum(40.0)
                        .minimum(5.0)
                        .maximum(15.0)
                        .build(),
                )
                .timestamp(at(&env, 0))
                .build(),
        )
        .metric_data(
            MetricDatum::builder()
                .metric_name("Latency")
                .dimensions(Dimension::builder().name("Service").value("web").build())
                .values(20.0)
                .counts(2.0)
                .timestamp(at(&env, 1))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let start_time = DateTime::from_millis(t0 as i64);
    let end_time = DateTime::from_millis((t0 + 120_000) as i64);
    let stats = env
        .cw
        .get_metric_statistics()
        .namespace("App")
        .metric_name("Latency")
        .dimensions(Dimension::builder().name("Service").value("web").build())
        .start_time(start_time)
        .end_time(end_time)
        .period(60)
        .statistics(Statistic::Sum)
        .statistics(Statistic::SampleCount)
        .statistics(Statistic::Maximum)
        .extended_statistics("p90")
        .send()
        .await
        .unwrap();
    assert_eq!(stats.label(), Some("Latency"));
    let mut points = stats.datapoints().to_vec();
    points.sort_by_key(|p| p.timestamp().map(|t| t.secs()));
    assert_eq!(points.len(), 2);
    assert_eq!(points[0].sum(), Some(55.0));
    assert_eq!(points[0].sample_count(), Some(10.0));
    assert_eq!(points[0].maximum(), Some(10.0));
    assert_eq!(points[0].extended_statistics().unwrap()["p90"], 9.0);
    assert_eq!(points[1].sum(), Some(80.0), "statistic set 40 + two values of 20");
    assert_eq!(points[1].sample_count(), Some(6.0));
    assert_eq!(points[1].maximum(), Some(20.0));
    assert!(points[0].average().is_none(), "only what was asked");

    let metric = Metric::builder()
        .namespace("App")
        .metric_name("Latency")
        .dimensions(Dimension::builder().name("Service").value("web").build())
        .build();
    let data = env
        .cw
        .get_metric_data()
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("m1")
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(60)
                        .stat("Sum")
                        .build(),
                )
                .return_data(false)
                .build(),
        )
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("e1")
                .expression("m1 * 2")
                .label("doubled")
                .build(),
        )
        .start_time(start_time)
        .end_time(end_time)
        .scan_by(ScanBy::TimestampAscending)
        .send()
        .await
        .unwrap();
    let results = data.metric_data_results();
    assert_eq!(results.len(), 1, "m1 returns no data");
    assert_eq!(results[0].id(), Some("e1"));
    assert_eq!(results[0].label(), Some("doubled"));
    assert_eq!(results[0].values(), [110.0, 160.0]);
    assert_eq!(
        results[0]
            .timestamps()
            .iter()
            .map(|t| t.secs())
            .collect::<Vec<_>>(),
        [(t0 / 1_000) as i64, (t0 / 1_000 + 60) as i64]
    );

    let listed = env
        .cw
        .list_metrics()
        .namespace("App")
        .dimensions(DimensionFilter::builder().name("Service").build())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.metrics().len(), 1);
    assert_eq!(listed.metrics()[0].metric_name(), Some("Latency"));
    let none = env
        .cw
        .list_metrics()
        .dimensions(DimensionFilter::builder().name("Service").value("api").build())
        .send()
        .await
        .unwrap();
    assert!(none.metrics().is_empty());
}

#[tokio::test]
async fn bad_metric_data_is_refused_and_stores_nothing() {
    let env = start(ClockMode::Virtual).await;
    let err = env
        .cw
        .put_metric_data()
        .namespace("AWS/ECS")
        .metric_data(datum("CPUUtilization", 1.0, at(&env, 0)))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterValue", "{err:?}");
    let err = env
        .cw
        .put_metric_data()
        .namespace("App")
        .metric_data(datum("Good", 1.0, at(&env, 0)))
        .metric_data(
            MetricDatum::builder()
                .metric_name("Both")
                .value(1.0)
                .statistic_values(
                    StatisticSet::builder()
                        .sample_count(1.0)
                        .sum(1.0)
                        .minimum(1.0)
                        .maximum(1.0)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterCombination", "{err:?}");
    let listed = env.cw.list_metrics().send().await.unwrap();
    assert!(
        listed.metrics().is_empty(),
        "the good datum of a refused call is not stored"
    );
    let err = env
        .cw
        .get_metric_statistics()
        .namespace("App")
        .metric_name("Good")
        .start_time(at(&env, 0))
        .end_time(at(&env, 86_400 * 2))
        .period(60)
        .statistics(Statistic::Sum)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&err),
        "InvalidParameterCombination",
        "more than 1,440 datapoints: {err:?}"
    );
}

#[tokio::test]
async fn a_metric_alarm_goes_through_its_states_m_of_n_on_the_virtual_clock() {
    let env = start(ClockMode::Virtual).await;
    env.cw
        .put_metric_alarm()
        .alarm_name("errors-high")
        .namespace("App")
        .metric_name("Errors")
        .dimensions(Dimension::builder().name("Service").value("web").build())
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(3)
        .datapoints_to_alarm(2)
        .threshold(5.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .alarm_actions("arn:aws:sns:us-east-1:000000000000:pager")
        .send()
        .await
        .unwrap();
    env.cw
        .wait_until_alarm_exists()
        .alarm_names("errors-high")
        .wait(Duration::from_secs(10))
        .await
        .expect("alarm_exists waiter");
    let created = alarm(&env, "errors-high").await;
    assert_eq!(created.state_value(), Some(&StateValue::InsufficientData));
    assert_eq!(created.state_reason(), Some("Unchecked: Initial alarm creation"));
    assert_eq!(
        created.alarm_arn(),
        Some("arn:aws:cloudwatch:us-east-1:000000000000:alarm:errors-high")
    );
    assert_eq!(created.datapoints_to_alarm(), Some(2));

    // First evaluation: no data, treated as not breaching.
    env.clock().advance(Duration::from_secs(65));
    assert_eq!(
        alarm(&env, "errors-high").await.state_value(),
        Some(&StateValue::Ok)
    );
    // One breaching minute: 1 of 3, still OK.
    put(&env, "Errors", 10.0).await;
    env.clock().advance(Duration::from_secs(60));
    assert_eq!(
        alarm(&env, "errors-high").await.state_value(),
        Some(&StateValue::Ok)
    );
    // A second: 2 of 3 → ALARM.
    put(&env, "Errors", 7.0).await;
    env.clock().advance(Duration::from_secs(60));
    let fired = alarm(&env, "errors-high").await;
    assert_eq!(fired.state_value(), Some(&StateValue::Alarm));
    let reason = fired.state_reason().unwrap();
    assert!(
        reason.starts_with("Threshold Crossed: 2 out of the last 3 datapoints [7.0 (01/01/26 00:02:00), 10.0 (01/01/26 00:01:00)]"),
        "{reason}"
    );
    let data: serde_json::Value = serde_json::from_str(fired.state_reason_data().unwrap()).unwrap();
    assert_eq!(data["threshold"], 5.0);
    assert_eq!(data["period"], 60);
    // Quiet minutes: back to OK once fewer than 2 of the last 3 breach.
    env.clock().advance(Duration::from_secs(120));
    assert_eq!(
        alarm(&env, "errors-high").await.state_value(),
        Some(&StateValue::Ok)
    );

    let history = env
        .cw
        .describe_alarm_history()
        .alarm_name("errors-high")
        .history_item_type(HistoryItemType::StateUpdate)
        .scan_by(ScanBy::TimestampAscending)
        .send()
        .await
        .unwrap();
    let summaries: Vec<&str> = history
        .alarm_history_items()
        .iter()
        .filter_map(|h| h.history_summary())
        .collect();
    assert_eq!(
        summaries,
        [
            "Alarm updated from INSUFFICIENT_DATA to OK",
            "Alarm updated from OK to ALARM",
            "Alarm updated from ALARM to OK"
        ]
    );
    let first: serde_json::Value =
        serde_json::from_str(history.alarm_history_items()[1].history_data().unwrap()).unwrap();
    assert_eq!(first["oldState"]["stateValue"], "OK");
    assert_eq!(first["newState"]["stateValue"], "ALARM");

    // DescribeAlarmsForMetric finds it by its metric.
    let for_metric = env
        .cw
        .describe_alarms_for_metric()
        .namespace("App")
        .metric_name("Errors")
        .dimensions(Dimension::builder().name("Service").value("web").build())
        .send()
        .await
        .unwrap();
    assert_eq!(for_metric.metric_alarms().len(), 1);
}

#[tokio::test]
async fn set_alarm_state_holds_until_the_next_evaluation() {
    let env = start(ClockMode::Virtual).await;
    env.cw
        .put_metric_alarm()
        .alarm_name("quiet")
        .namespace("App")
        .metric_name("Errors")
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .treat_missing_data("notBreaching")
        .send()
        .await
        .unwrap();
    env.clock().advance(Duration::from_secs(70));
    assert_eq!(alarm(&env, "quiet").await.state_value(), Some(&StateValue::Ok));
    env.cw
        .set_alarm_state()
        .alarm_name("quiet")
        .state_value(StateValue::Alarm)
        .state_reason("drill")
        .send()
        .await
        .unwrap();
    let forced = alarm(&env, "quiet").await;
    assert_eq!(forced.state_value(), Some(&StateValue::Alarm));
    assert_eq!(forced.state_reason(), Some("drill"));
    env.clock().advance(Duration::from_secs(60));
    assert_eq!(
        alarm(&env, "quiet").await.state_value(),
        Some(&StateValue::Ok),
        "the next evaluation returns it to its real state"
    );
    let err = env
        .cw
        .set_alarm_state()
        .alarm_name("missing")
        .state_value(StateValue::Alarm)
        .state_reason("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFound", "{err:?}");
    let raw = err.raw_response().unwrap();
    assert_eq!(raw.status().as_u16(), 404);
    let err = env
        .cw
        .set_alarm_state()
        .alarm_name("quiet")
        .state_value(StateValue::Alarm)
        .state_reason("x")
        .state_reason_data("{not json")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidFormat", "{err:?}");
}

#[tokio::test]
async fn composite_alarms_follow_their_children() {
    let env = start(ClockMode::Virtual).await;
    for name in ["cpu", "errors"] {
        env.cw
            .put_metric_alarm()
            .alarm_name(name)
            .namespace("App")
            .metric_name(name)
            .statistic(Statistic::Average)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .send()
            .await
            .unwrap();
    }
    let err = env
        .cw
        .put_composite_alarm()
        .alarm_name("both")
        .alarm_rule("ALARM(cpu) AND ALARM(nope)")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationError", "{err:?}");
    let err = env
        .cw
        .put_composite_alarm()
        .alarm_name("both")
        .alarm_rule("ALARM(cpu) AND (")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationError", "{err:?}");
    env.cw
        .put_composite_alarm()
        .alarm_name("both")
        .alarm_rule("ALARM(\"cpu\") AND NOT OK(errors)")
        .tags(Tag::builder().key("team").value("web").build())
        .send()
        .await
        .unwrap();
    env.cw
        .wait_until_composite_alarm_exists()
        .alarm_names("both")
        .alarm_types(AlarmType::CompositeAlarm)
        .wait(Duration::from_secs(10))
        .await
        .expect("composite_alarm_exists waiter");
    let composite = |env: &Env| {
        let cw = env.cw.clone();
        async move {
            cw.describe_alarms()
                .alarm_names("both")
                .alarm_types(AlarmType::CompositeAlarm)
                .send()
                .await
                .unwrap()
                .composite_alarms()[0]
                .clone()
        }
    };
    assert_eq!(composite(&env).await.state_value(), Some(&StateValue::Ok));
    for name in ["cpu", "errors"] {
        env.cw
            .set_alarm_state()
            .alarm_name(name)
            .state_value(StateValue::Alarm)
            .state_reason("drill")
            .send()
            .await
            .unwrap();
    }
    let fired = composite(&env).await;
    assert_eq!(fired.state_value(), Some(&StateValue::Alarm));
    assert_eq!(fired.alarm_rule(), Some("ALARM(\"cpu\") AND NOT OK(errors)"));

    let children = env
        .cw
        .describe_alarms()
        .children_of_alarm_name("both")
        .send()
        .await
        .unwrap();
    let mut names: Vec<&str> = children
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .collect();
    names.sort();
    assert_eq!(names, ["cpu", "errors"]);
    let parents = env
        .cw
        .describe_alarms()
        .parents_of_alarm_name("cpu")
        .send()
        .await
        .unwrap();
    assert_eq!(parents.composite_alarms().len(), 1);

    let err = env
        .cw
        .delete_alarms()
        .alarm_names("cpu")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&err),
        "ResourceConflict",
        "a composite still references it: {err:?}"
    );
    env.cw
        .delete_alarms()
        .alarm_names("both")
        .alarm_names("cpu")
        .send()
        .await
        .unwrap();
    let left = env
        .cw
        .describe_alarms()
        .alarm_types(AlarmType::MetricAlarm)
        .alarm_types(AlarmType::CompositeAlarm)
        .send()
        .await
        .unwrap();
    assert_eq!(left.metric_alarms().len(), 1);
    assert!(left.composite_alarms().is_empty());
    let history = env
        .cw
        .describe_alarm_history()
        .alarm_name("both")
        .send()
        .await
        .unwrap();
    assert!(
        history
            .alarm_history_items()
            .iter()
            .any(|h| h.history_summary() == Some("Alarm \"both\" deleted")),
        "history outlives the alarm"
    );
}

#[tokio::test]
async fn describe_alarms_filters_pages_and_tags() {
    let env = start(ClockMode::Virtual).await;
    for i in 0..7 {
        let mut put = errors_alarm(&env, &format!("web-{i}"));
        if i % 2 == 0 {
            put = put.ok_actions("arn:aws:sns:us-east-1:000000000000:even");
        }
        put.send().await.unwrap();
    }
    errors_alarm(&env, "api-0").send().await.unwrap();
    let mut names = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = env
            .cw
            .describe_alarms()
            .alarm_name_prefix("web-")
            .max_records(3)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        pages += 1;
        names.extend(
            page.metric_alarms()
                .iter()
                .filter_map(|a| a.alarm_name().map(String::from)),
        );
        token = page.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, (0..7).map(|i| format!("web-{i}")).collect::<Vec<_>>());
    let even = env
        .cw
        .describe_alarms()
        .action_prefix("arn:aws:sns:us-east-1:000000000000:even")
        .send()
        .await
        .unwrap();
    assert_eq!(even.metric_alarms().len(), 4);
    let insufficient = env
        .cw
        .describe_alarms()
        .state_value(StateValue::InsufficientData)
        .send()
        .await
        .unwrap();
    assert_eq!(insufficient.metric_alarms().len(), 8);
    let err = env
        .cw
        .describe_alarms()
        .next_token("zz")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidNextToken", "{err:?}");

    let arn = alarm(&env, "api-0").await.alarm_arn().unwrap().to_string();
    env.cw
        .tag_resource()
        .resource_arn(&arn)
        .tags(Tag::builder().key("team").value("api").build())
        .tags(Tag::builder().key("tier").value("1").build())
        .send()
        .await
        .unwrap();
    env.cw
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("tier")
        .send()
        .await
        .unwrap();
    let tags = env
        .cw
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].value(), Some("api"));
    let err = env
        .cw
        .list_tags_for_resource()
        .resource_arn("arn:aws:cloudwatch:us-east-1:000000000000:alarm:nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException", "{err:?}");

    env.cw
        .disable_alarm_actions()
        .alarm_names("api-0")
        .send()
        .await
        .unwrap();
    assert_eq!(alarm(&env, "api-0").await.actions_enabled(), Some(false));
    env.cw
        .enable_alarm_actions()
        .alarm_names("api-0")
        .send()
        .await
        .unwrap();
    assert_eq!(alarm(&env, "api-0").await.actions_enabled(), Some(true));

    let err = errors_alarm(&env, "bad").period(45).send().await.unwrap_err();
    assert_eq!(code(&err), "InvalidParameterValue", "{err:?}");
    let err = errors_alarm(&env, "bad")
        .evaluation_periods(2)
        .datapoints_to_alarm(3)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationError", "{err:?}");
    let err = env
        .cw
        .delete_alarms()
        .alarm_names("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFound", "{err:?}");
}
