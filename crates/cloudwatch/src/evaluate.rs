//! Metric alarm evaluation: from the latest datapoints, the threshold and the missing-data
//! setting to the state the alarm should be in. Pure: no clock, no history, no actions; the
//! caller fetches the datapoints and applies the returned state.
//!
//! Reference: CloudWatch User Guide, "Alarm evaluation" and "Configuring how CloudWatch alarms
//! treat missing data" (the 2023 revision, with the 3-of-3 and 2-of-3 tables and the section on
//! avoiding premature transitions to ALARM).
//!
//! How a datapoint window is judged (N = evaluation periods, M = datapoints to alarm):
//! 1. AWS fetches an *evaluation range* a little longer than N (5 datapoints for N = 3).
//! 2. If the range holds at least N real datapoints, the N most recent real ones decide:
//!    ALARM when at least M breach, otherwise OK. The missing-data setting plays no part.
//! 3. If the range holds no real datapoint: `breaching` → ALARM, `notBreaching` → OK,
//!    `ignore` → unchanged, `missing` → INSUFFICIENT_DATA.
//! 4. Otherwise every real datapoint counts and the shortfall up to N is filled:
//!    - `breaching`: fills count as breaching; ALARM when real breaches + fills ≥ M.
//!    - `notBreaching`: fills count as not breaching; ALARM when real breaches ≥ M.
//!    - `missing`: ALARM when real breaches ≥ M; else ALARM when every real datapoint breaches
//!      and the oldest of them is at least M datapoints old (AWS's rule against premature
//!      alarms, which is why `- - X - -` alarms with M = 3 but `- - - X -` does not); else OK
//!      when some real datapoint does not breach; else INSUFFICIENT_DATA.
//!    - `ignore`: like `missing`, except that the premature-alarm rule does not apply and the
//!      undecided case keeps the current state.
//!
//! The AWS tables decide `missing` as OK as soon as a real datapoint is not breaching, even
//! when the fills could still have reached M (`0 - X - -` with M = 2 is OK); this module
//! follows the tables. The INSUFFICIENT_DATA outcome for a lone recent breach (`- - - - X`)
//! comes from the 2022 revision of the same table; the 2023 text only says such data does not
//! alarm yet.

/// An alarm's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateValue {
    Ok,
    Alarm,
    InsufficientData,
}

impl StateValue {
    pub fn as_str(&self) -> &'static str {
        match self {
            StateValue::Ok => "OK",
            StateValue::Alarm => "ALARM",
            StateValue::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "OK" => Some(StateValue::Ok),
            "ALARM" => Some(StateValue::Alarm),
            "INSUFFICIENT_DATA" => Some(StateValue::InsufficientData),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComparisonOperator {
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
    LessThanLowerOrGreaterThanUpperThreshold,
    LessThanLowerThreshold,
    GreaterThanUpperThreshold,
}

impl ComparisonOperator {
    const ALL: [ComparisonOperator; 7] = [
        ComparisonOperator::GreaterThanOrEqualToThreshold,
        ComparisonOperator::GreaterThanThreshold,
        ComparisonOperator::LessThanThreshold,
        ComparisonOperator::LessThanOrEqualToThreshold,
        ComparisonOperator::LessThanLowerOrGreaterThanUpperThreshold,
        ComparisonOperator::LessThanLowerThreshold,
        ComparisonOperator::GreaterThanUpperThreshold,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == s)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            ComparisonOperator::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            ComparisonOperator::GreaterThanThreshold => "GreaterThanThreshold",
            ComparisonOperator::LessThanThreshold => "LessThanThreshold",
            ComparisonOperator::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
            ComparisonOperator::LessThanLowerOrGreaterThanUpperThreshold => {
                "LessThanLowerOrGreaterThanUpperThreshold"
            }
            ComparisonOperator::LessThanLowerThreshold => "LessThanLowerThreshold",
            ComparisonOperator::GreaterThanUpperThreshold => "GreaterThanUpperThreshold",
        }
    }

    /// True for the four static-threshold operators.
    pub fn is_static(&self) -> bool {
        matches!(
            self,
            ComparisonOperator::GreaterThanOrEqualToThreshold
                | ComparisonOperator::GreaterThanThreshold
                | ComparisonOperator::LessThanThreshold
                | ComparisonOperator::LessThanOrEqualToThreshold
        )
    }

    /// "greater than or equal to" etc, for state reasons.
    pub fn phrase(&self) -> &'static str {
        match self {
            ComparisonOperator::GreaterThanOrEqualToThreshold => "greater than or equal to",
            ComparisonOperator::GreaterThanThreshold => "greater than",
            ComparisonOperator::LessThanThreshold => "less than",
            ComparisonOperator::LessThanOrEqualToThreshold => "less than or equal to",
            ComparisonOperator::LessThanLowerOrGreaterThanUpperThreshold => {
                "less than the lower or greater than the upper"
            }
            ComparisonOperator::LessThanLowerThreshold => "less than the lower",
            ComparisonOperator::GreaterThanUpperThreshold => "greater than the upper",
        }
    }

    /// Whether `value` breaches `threshold`. NaN on either side never breaches.
    ///
    /// The three band operators compare against an anomaly-detection band (ThresholdMetricId),
    /// which this model does not compute; for them this is always false.
    pub fn breaches(&self, value: f64, threshold: f64) -> bool {
        match self {
            ComparisonOperator::GreaterThanOrEqualToThreshold => value >= threshold,
            ComparisonOperator::GreaterThanThreshold => value > threshold,
            ComparisonOperator::LessThanThreshold => value < threshold,
            ComparisonOperator::LessThanOrEqualToThreshold => value <= threshold,
            ComparisonOperator::LessThanLowerOrGreaterThanUpperThreshold
            | ComparisonOperator::LessThanLowerThreshold
            | ComparisonOperator::GreaterThanUpperThreshold => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreatMissingData {
    Missing,
    NotBreaching,
    Breaching,
    Ignore,
}

impl TreatMissingData {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "missing" => Some(TreatMissingData::Missing),
            "notBreaching" => Some(TreatMissingData::NotBreaching),
            "breaching" => Some(TreatMissingData::Breaching),
            "ignore" => Some(TreatMissingData::Ignore),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            TreatMissingData::Missing => "missing",
            TreatMissingData::NotBreaching => "notBreaching",
            TreatMissingData::Breaching => "breaching",
            TreatMissingData::Ignore => "ignore",
        }
    }
}

pub struct Evaluation<'a> {
    /// The most recent `EvaluationPeriods` datapoints, oldest first; None = no data in that
    /// period. With [`evaluate_range`] this is instead the whole evaluation range, which AWS
    /// makes longer than `EvaluationPeriods`. A NaN datapoint is treated as missing.
    pub datapoints: &'a [Option<f64>],
    pub threshold: f64,
    pub comparison: ComparisonOperator,
    /// M (DatapointsToAlarm), 1..=N; values outside are clamped into that range.
    pub datapoints_to_alarm: usize,
    pub treat_missing: TreatMissingData,
    pub current: StateValue,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The state the alarm should be in after this evaluation (equal to `current` when nothing
    /// changes).
    pub state: StateValue,
    /// Datapoints counted as breaching (missing ones included when treated as breaching).
    pub breaching: usize,
    /// Datapoints that had data and took part in the decision.
    pub present: usize,
}

/// Evaluates with N = `datapoints.len()`: the window is exactly the evaluation periods.
pub fn evaluate(evaluation: &Evaluation<'_>) -> Outcome {
    evaluate_range(evaluation, evaluation.datapoints.len())
}

/// Evaluates with `datapoints` as the whole evaluation range and N = `evaluation_periods`.
///
/// AWS reaches back past the last N periods when some are missing (5 datapoints for N = 3 in
/// its examples); pass that longer range here to get its results. N is clamped to
/// `1..=datapoints.len()`; an empty range behaves as if every datapoint were missing.
pub fn evaluate_range(evaluation: &Evaluation<'_>, evaluation_periods: usize) -> Outcome {
    let range = evaluation.datapoints;
    let n = evaluation_periods.clamp(1, range.len().max(1));
    let m = evaluation.datapoints_to_alarm.clamp(1, n);
    let breaches = |v: f64| evaluation.comparison.breaches(v, evaluation.threshold);

    // (age, breaching) for every real datapoint, newest first; age 1 is the newest slot.
    let real: Vec<(usize, bool)> = range
        .iter()
        .rev()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|v| !v.is_nan()).map(|v| (i + 1, breaches(v))))
        .collect();

    let state_by = |breaching: usize| {
        if breaching >= m {
            StateValue::Alarm
        } else {
            StateValue::Ok
        }
    };

    if real.len() >= n {
        let breaching = real.iter().take(n).filter(|&&(_, b)| b).count();
        return Outcome {
            state: state_by(breaching),
            breaching,
            present: n,
        };
    }

    let present = real.len();
    let real_breaching = real.iter().filter(|&&(_, b)| b).count();
    let fills = n - present;
    let undecided = |premature_rule: bool, fallback: StateValue| {
        if real_breaching >= m {
            return StateValue::Alarm;
        }
        if present > real_breaching {
            return StateValue::Ok;
        }
        let oldest_age = real.last().map_or(0, |&(age, _)| age);
        if premature_rule && present > 0 && oldest_age >= m {
            return StateValue::Alarm;
        }
        fallback
    };

    match evaluation.treat_missing {
        TreatMissingData::Breaching => {
            let breaching = real_breaching + fills;
            Outcome {
                state: state_by(breaching),
                breaching,
                present,
            }
        }
        TreatMissingData::NotBreaching => Outcome {
            state: state_by(real_breaching),
            breaching: real_breaching,
            present,
        },
        TreatMissingData::Missing => {
            let state = if present == 0 {
                StateValue::InsufficientData
            } else {
                undecided(true, StateValue::InsufficientData)
            };
            Outcome {
                state,
                breaching: real_breaching,
                present,
            }
        }
        TreatMissingData::Ignore => {
            let state = if present == 0 {
                evaluation.current
            } else {
                undecided(false, evaluation.current)
            };
            Outcome {
                state,
                breaching: real_breaching,
                present,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComparisonOperator as Op;
    use StateValue::{Alarm, InsufficientData as Insuf, Ok as OkS};
    use TreatMissingData as T;
    use proptest::prelude::*;

    /// '0' = not breaching (value 1), 'X' = breaching (value 5), '-' = missing; threshold 3,
    /// GreaterThanThreshold. Spaces are ignored so rows can be copied from the AWS table.
    fn points(pattern: &str) -> Vec<Option<f64>> {
        pattern
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| match c {
                '0' => Some(1.0),
                'X' => Some(5.0),
                _ => None,
            })
            .collect()
    }

    fn run(pattern: &str, n: usize, m: usize, treat: T, current: StateValue) -> StateValue {
        let datapoints = points(pattern);
        let evaluation = Evaluation {
            datapoints: &datapoints,
            threshold: 3.0,
            comparison: Op::GreaterThanThreshold,
            datapoints_to_alarm: m,
            treat_missing: treat,
            current,
        };
        evaluate_range(&evaluation, n).state
    }

    /// Expected states per column MISSING, IGNORE, BREACHING, NOT BREACHING; `None` in the
    /// IGNORE column is "Retain current state".
    type Row = (
        &'static str,
        StateValue,
        Option<StateValue>,
        StateValue,
        StateValue,
    );

    fn check_table(n: usize, m: usize, rows: &[Row]) {
        for &(pattern, missing, ignore, breaching, not_breaching) in rows {
            for current in [OkS, Alarm, Insuf] {
                assert_eq!(
                    run(pattern, n, m, T::Missing, current),
                    missing,
                    "{pattern} missing"
                );
                assert_eq!(
                    run(pattern, n, m, T::Ignore, current),
                    ignore.unwrap_or(current),
                    "{pattern} ignore from {current:?}"
                );
                assert_eq!(
                    run(pattern, n, m, T::Breaching, current),
                    breaching,
                    "{pattern} breaching"
                );
                assert_eq!(
                    run(pattern, n, m, T::NotBreaching, current),
                    not_breaching,
                    "{pattern} nb"
                );
            }
        }
    }

    #[test]
    fn aws_table_three_of_three() {
        // Evaluation range 5, N = 3, M = 3; most recent datapoint on the right.
        check_table(
            3,
            3,
            &[
                ("0 - X - X", OkS, Some(OkS), OkS, OkS),
                ("0 - - - -", OkS, Some(OkS), OkS, OkS),
                ("- - - - -", Insuf, None, Alarm, OkS),
                ("0 X X - X", Alarm, Some(Alarm), Alarm, Alarm),
                ("- - X - -", Alarm, None, Alarm, OkS),
            ],
        );
    }

    #[test]
    fn aws_table_two_of_three() {
        check_table(
            3,
            2,
            &[
                ("0 - X - X", Alarm, Some(Alarm), Alarm, Alarm),
                ("0 0 X 0 X", Alarm, Some(Alarm), Alarm, Alarm),
                ("0 - X - -", OkS, Some(OkS), Alarm, OkS),
                ("- - - - 0", OkS, Some(OkS), Alarm, OkS),
                ("- - - X -", Alarm, None, Alarm, OkS),
            ],
        );
    }

    #[test]
    fn aws_premature_alarm_examples() {
        // M = 3: a lone recent breach is not enough yet (the 2022 table: INSUFFICIENT_DATA for
        // missing, current state for ignore).
        check_table(
            3,
            3,
            &[
                ("- - - - X", Insuf, None, Alarm, OkS),
                ("- - - X -", Insuf, None, Alarm, OkS),
                // 2022 table, last row: old enough breach and nothing non-breaching after it.
                ("X - - - -", Alarm, None, Alarm, OkS),
            ],
        );
        check_table(3, 2, &[("- - - - X", Insuf, None, Alarm, OkS)]);
    }

    #[test]
    fn one_of_one() {
        check_table(
            1,
            1,
            &[
                ("X", Alarm, Some(Alarm), Alarm, Alarm),
                ("0", OkS, Some(OkS), OkS, OkS),
                ("-", Insuf, None, Alarm, OkS),
            ],
        );
    }

    #[test]
    fn three_of_five_without_extra_range() {
        // N = 5 = range length.
        check_table(
            5,
            3,
            &[
                ("X X X 0 0", Alarm, Some(Alarm), Alarm, Alarm),
                ("X X 0 0 0", OkS, Some(OkS), OkS, OkS),
                ("X 0 X 0 X", Alarm, Some(Alarm), Alarm, Alarm),
                // 2 real breaches, 1 real OK, 2 fills.
                ("X X 0 - -", OkS, Some(OkS), Alarm, OkS),
                // 2 real breaches, nothing else real: the oldest breach is 5 old ≥ 3.
                ("X X - - -", Alarm, None, Alarm, OkS),
                // oldest breach only 2 old.
                ("- - - X X", Insuf, None, Alarm, OkS),
                ("- - X X X", Alarm, Some(Alarm), Alarm, Alarm),
                ("- - - - -", Insuf, None, Alarm, OkS),
            ],
        );
    }

    #[test]
    fn evaluate_uses_the_whole_slice_as_n() {
        let datapoints = points("X X 0");
        let e = Evaluation {
            datapoints: &datapoints,
            threshold: 3.0,
            comparison: Op::GreaterThanThreshold,
            datapoints_to_alarm: 2,
            treat_missing: T::Missing,
            current: OkS,
        };
        assert_eq!(
            evaluate(&e),
            Outcome {
                state: Alarm,
                breaching: 2,
                present: 3
            }
        );
        let e = Evaluation {
            datapoints_to_alarm: 3,
            ..e
        };
        assert_eq!(
            evaluate(&e),
            Outcome {
                state: OkS,
                breaching: 2,
                present: 3
            }
        );
    }

    #[test]
    fn outcome_counts() {
        let datapoints = points("0 - X");
        let mut e = Evaluation {
            datapoints: &datapoints,
            threshold: 3.0,
            comparison: Op::GreaterThanThreshold,
            datapoints_to_alarm: 2,
            treat_missing: T::Breaching,
            current: OkS,
        };
        assert_eq!(
            evaluate(&e),
            Outcome {
                state: Alarm,
                breaching: 2,
                present: 2
            }
        );
        e.treat_missing = T::NotBreaching;
        assert_eq!(
            evaluate(&e),
            Outcome {
                state: OkS,
                breaching: 1,
                present: 2
            }
        );
        // Only the 3 most recent real datapoints count when there are enough.
        let datapoints = points("X X 0 0 0");
        e.datapoints = &datapoints;
        assert_eq!(
            evaluate_range(&e, 3),
            Outcome {
                state: OkS,
                breaching: 0,
                present: 3
            }
        );
    }

    #[test]
    fn every_operator_at_and_around_the_threshold() {
        // (operator, value below, equal, above) → breaches?
        let table = [
            (Op::GreaterThanOrEqualToThreshold, false, true, true),
            (Op::GreaterThanThreshold, false, false, true),
            (Op::LessThanThreshold, true, false, false),
            (Op::LessThanOrEqualToThreshold, true, true, false),
            (Op::LessThanLowerOrGreaterThanUpperThreshold, false, false, false),
            (Op::LessThanLowerThreshold, false, false, false),
            (Op::GreaterThanUpperThreshold, false, false, false),
        ];
        for (op, below, equal, above) in table {
            assert_eq!(op.breaches(9.0, 10.0), below, "{op:?} below");
            assert_eq!(op.breaches(10.0, 10.0), equal, "{op:?} equal");
            assert_eq!(op.breaches(11.0, 10.0), above, "{op:?} above");
            assert!(!op.breaches(f64::NAN, 10.0));
            assert!(!op.breaches(10.0, f64::NAN));
            // A whole alarm at the threshold, 1 of 1.
            let datapoints = [Some(10.0)];
            let e = Evaluation {
                datapoints: &datapoints,
                threshold: 10.0,
                comparison: op,
                datapoints_to_alarm: 1,
                treat_missing: T::Missing,
                current: Insuf,
            };
            assert_eq!(evaluate(&e).state, if equal { Alarm } else { OkS }, "{op:?}");
        }
    }

    #[test]
    fn two_of_three_with_each_treatment_at_the_threshold() {
        // LessThanOrEqualToThreshold 10: 10 breaches, 10.5 does not.
        for (treat, expected) in [
            (T::Missing, Alarm),
            (T::Ignore, Alarm),
            (T::Breaching, Alarm),
            (T::NotBreaching, Alarm),
        ] {
            let datapoints = [Some(10.0), Some(10.5), Some(10.0)];
            let e = Evaluation {
                datapoints: &datapoints,
                threshold: 10.0,
                comparison: Op::LessThanOrEqualToThreshold,
                datapoints_to_alarm: 2,
                treat_missing: treat,
                current: OkS,
            };
            assert_eq!(evaluate(&e).state, expected, "{treat:?}");
        }
        for (treat, expected) in [
            (T::Missing, OkS),
            (T::Ignore, OkS),
            (T::Breaching, Alarm),
            (T::NotBreaching, OkS),
        ] {
            let datapoints = [Some(10.0), Some(10.5), None];
            let e = Evaluation {
                datapoints: &datapoints,
                threshold: 10.0,
                comparison: Op::LessThanOrEqualToThreshold,
                datapoints_to_alarm: 2,
                treat_missing: treat,
                current: Alarm,
            };
            assert_eq!(evaluate(&e).state, expected, "{treat:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for op in ComparisonOperator::ALL {
            assert_eq!(ComparisonOperator::parse(op.as_str()), Some(op));
            let band = op.as_str().contains("Lower") || op.as_str().contains("Upper");
            assert_eq!(op.is_static(), !band);
        }
        for t in [T::Missing, T::NotBreaching, T::Breaching, T::Ignore] {
            assert_eq!(T::parse(t.as_str()), Some(t));
        }
        for s in [OkS, Alarm, Insuf] {
            assert_eq!(StateValue::parse(s.as_str()), Some(s));
        }
        assert_eq!(StateValue::parse("ok"), None);
        assert_eq!(T::parse("Missing"), None);
        assert_eq!(ComparisonOperator::parse("GreaterThan"), None);
    }

    #[test]
    fn nan_and_degenerate_inputs_do_not_panic() {
        let datapoints = [Some(f64::NAN), None];
        let e = Evaluation {
            datapoints: &datapoints,
            threshold: f64::NAN,
            comparison: Op::GreaterThanThreshold,
            datapoints_to_alarm: 0,
            treat_missing: T::Missing,
            current: OkS,
        };
        assert_eq!(evaluate(&e).state, Insuf);
        let e = Evaluation {
            datapoints: &[],
            datapoints_to_alarm: 99,
            ..e
        };
        assert_eq!(evaluate(&e).state, Insuf);
        assert_eq!(evaluate_range(&e, 0).state, Insuf);
    }

    proptest! {
        #[test]
        fn evaluation_is_total_and_consistent(
            raw in prop::collection::vec(prop::option::of(-10.0f64..10.0), 0..12),
            n in 0usize..14,
            m in 0usize..14,
            threshold in -10.0f64..10.0,
        ) {
            for treat in [T::Missing, T::NotBreaching, T::Breaching, T::Ignore] {
                let e = Evaluation {
                    datapoints: &raw,
                    threshold,
                    comparison: Op::GreaterThanThreshold,
                    datapoints_to_alarm: m,
                    treat_missing: treat,
                    current: OkS,
                };
                let out = evaluate_range(&e, n);
                prop_assert!(out.present <= raw.len());
                // Breaching everything missing can only make things worse than not breaching.
                if treat == T::Breaching {
                    let nb = evaluate_range(&Evaluation { treat_missing: T::NotBreaching, ..e }, n);
                    prop_assert!(out.breaching >= nb.breaching);
                    prop_assert!(nb.state != Alarm || out.state == Alarm);
                }
            }
        }
    }
}
