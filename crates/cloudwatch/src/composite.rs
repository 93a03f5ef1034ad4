//! Composite alarm rules (the `AlarmRule` of PutCompositeAlarm): parsing and evaluating them
//! against other alarms' states. Pure: alarm states come in through a lookup function; nothing
//! here stores alarms or reads the clock.
//!
//! Reference: CloudWatch API Reference, PutCompositeAlarm `AlarmRule`, and the User Guide page
//! "Create a composite alarm".
//!
//! Syntax: `ALARM(name)`, `OK(name)`, `INSUFFICIENT_DATA(name)`, `TRUE`, `FALSE`, `AND`, `OR`,
//! `NOT` and parentheses. The name is an alarm name or ARN, optionally in double quotes;
//! a quoted name ends at the next `"` (no escapes) and may hold spaces and parentheses, an
//! unquoted one ends at the next `)` and is trimmed. AWS writes every keyword in upper case
//! and documents no other spelling, so keywords are case-sensitive here.
//!
//! AWS documents no operator precedence. This parser uses the usual one: `NOT` binds tighter
//! than `AND`, and `AND` tighter than `OR`, so `A OR B AND NOT C` is `A OR (B AND (NOT C))`;
//! `AND` and `OR` group left to right.

use crate::evaluate::StateValue;
use std::fmt;

/// PutCompositeAlarm's `AlarmRule` length limit.
pub const MAX_RULE_LEN: usize = 10240;

/// Deepest nesting of parentheses and `NOT`s accepted, so hostile input cannot exhaust the stack.
pub const MAX_RULE_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    Constant(bool),
    State { state: StateValue, alarm: String },
    And(Box<Rule>, Box<Rule>),
    Or(Box<Rule>, Box<Rule>),
    Not(Box<Rule>),
}

/// Why an alarm rule did not parse. Positions count characters from 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("alarm rule is empty")]
    Empty,
    #[error("alarm rule is {len} characters long, more than the {max} allowed")]
    TooLong { len: usize, max: usize },
    #[error("alarm rule nests more than {max} levels deep at position {position}")]
    TooDeep { position: usize, max: usize },
    #[error("unexpected {found} at position {position}; expected {expected}")]
    Unexpected {
        position: usize,
        found: String,
        expected: &'static str,
    },
    #[error(
        "unknown word '{word}' at position {position}; expected ALARM, OK, INSUFFICIENT_DATA, TRUE, FALSE or NOT (keywords are upper case)"
    )]
    UnknownWord { position: usize, word: String },
    #[error("alarm name starting at position {position} has no closing quote")]
    UnterminatedQuote { position: usize },
    #[error("missing ')' after the alarm name starting at position {position}")]
    UnterminatedName { position: usize },
    #[error("empty alarm name at position {position}")]
    EmptyName { position: usize },
}

/// Parses an `AlarmRule`.
pub fn parse(rule: &str) -> Result<Rule, RuleError> {
    let chars: Vec<char> = rule.chars().collect();
    if chars.len() > MAX_RULE_LEN {
        return Err(RuleError::TooLong {
            len: chars.len(),
            max: MAX_RULE_LEN,
        });
    }
    if chars.iter().all(|c| c.is_whitespace()) {
        return Err(RuleError::Empty);
    }
    let mut parser = Parser {
        chars,
        pos: 0,
        depth: 0,
    };
    let parsed = parser.or()?;
    parser.skip_space();
    if parser.pos < parser.chars.len() {
        return Err(parser.unexpected("AND, OR or the end of the rule"));
    }
    Ok(parsed)
}

impl Rule {
    /// Every alarm the rule references (names or ARNs as written, deduplicated, in order).
    pub fn alarm_names(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_names(&mut out);
        out
    }

    fn collect_names<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Rule::Constant(_) => {}
            Rule::State { alarm, .. } => {
                if !out.contains(&alarm.as_str()) {
                    out.push(alarm);
                }
            }
            Rule::And(a, b) | Rule::Or(a, b) => {
                a.collect_names(out);
                b.collect_names(out);
            }
            Rule::Not(inner) => inner.collect_names(out),
        }
    }

    /// True when the rule holds; `lookup` gives an alarm's state (None = unknown alarm). A
    /// state function over an unknown alarm is false, since that alarm is in no state.
    pub fn holds(&self, lookup: &dyn Fn(&str) -> Option<StateValue>) -> bool {
        match self {
            Rule::Constant(value) => *value,
            Rule::State { state, alarm } => lookup(alarm) == Some(*state),
            Rule::And(a, b) => a.holds(lookup) && b.holds(lookup),
            Rule::Or(a, b) => a.holds(lookup) || b.holds(lookup),
            Rule::Not(inner) => !inner.holds(lookup),
        }
    }
}

/// Canonical text that [`parse`] reads back to the same rule: names always quoted, every
/// binary operation parenthesised.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Constant(true) => f.write_str("TRUE"),
            Rule::Constant(false) => f.write_str("FALSE"),
            Rule::State { state, alarm } => write!(f, "{}(\"{alarm}\")", state.as_str()),
            Rule::And(a, b) => write!(f, "({a} AND {b})"),
            Rule::Or(a, b) => write!(f, "({a} OR {b})"),
            Rule::Not(inner) => write!(f, "NOT {inner}"),
        }
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn skip_space(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn descend(&mut self) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_RULE_DEPTH {
            return Err(RuleError::TooDeep {
                position: self.pos,
                max: MAX_RULE_DEPTH,
            });
        }
        Ok(())
    }

    fn unexpected(&self, expected: &'static str) -> RuleError {
        let found = match self.chars.get(self.pos) {
            Some(c) => format!("'{c}'"),
            None => "end of rule".to_string(),
        };
        RuleError::Unexpected {
            position: self.pos,
            found,
            expected,
        }
    }

    /// The next word (letters, digits, '_') without consuming it, and where it ends.
    fn peek_word(&mut self) -> Option<(String, usize)> {
        self.skip_space();
        let end = self.chars[self.pos..]
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(self.chars.len(), |i| self.pos + i);
        (end > self.pos).then(|| (self.chars[self.pos..end].iter().collect(), end))
    }

    fn or(&mut self) -> Result<Rule, RuleError> {
        let mut left = self.and()?;
        while let Some(("OR", end)) = self.peek_word().as_ref().map(|(w, e)| (w.as_str(), *e)) {
            self.pos = end;
            let right = self.and()?;
            left = Rule::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Rule, RuleError> {
        let mut left = self.not()?;
        while let Some(("AND", end)) = self.peek_word().as_ref().map(|(w, e)| (w.as_str(), *e)) {
            self.pos = end;
            let right = self.not()?;
            left = Rule::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Rule, RuleError> {
        self.descend()?;
        let result = match self.peek_word() {
            Some((word, end)) if word == "NOT" => {
                self.pos = end;
                self.not().map(|inner| Rule::Not(Box::new(inner)))
            }
            _ => self.primary(),
        };
        self.depth -= 1;
        result
    }

    fn primary(&mut self) -> Result<Rule, RuleError> {
        self.skip_space();
        if self.chars.get(self.pos) == Some(&'(') {
            self.pos += 1;
            let inner = self.or()?;
            self.skip_space();
            if self.chars.get(self.pos) != Some(&')') {
                return Err(self.unexpected("')'"));
            }
            self.pos += 1;
            return Ok(inner);
        }
        let Some((word, end)) = self.peek_word() else {
            return Err(self.unexpected("ALARM(, OK(, INSUFFICIENT_DATA(, TRUE, FALSE, NOT or '('"));
        };
        let start = self.pos;
        let state = match word.as_str() {
            "TRUE" => {
                self.pos = end;
                return Ok(Rule::Constant(true));
            }
            "FALSE" => {
                self.pos = end;
                return Ok(Rule::Constant(false));
            }
            "ALARM" => StateValue::Alarm,
            "OK" => StateValue::Ok,
            "INSUFFICIENT_DATA" => StateValue::InsufficientData,
            _ => {
                return Err(RuleError::UnknownWord {
                    position: start,
                    word,
                });
            }
        };
        self.pos = end;
        self.skip_space();
        if self.chars.get(self.pos) != Some(&'(') {
            return Err(self.unexpected("'(' after the state name"));
        }
        self.pos += 1;
        let alarm = self.alarm_name()?;
        Ok(Rule::State { state, alarm })
    }

    /// Reads the name and the closing ')'.
    fn alarm_name(&mut self) -> Result<String, RuleError> {
        self.skip_space();
        let start = self.pos;
        let name = if self.chars.get(self.pos) == Some(&'"') {
            let close = self.chars[start + 1..]
                .iter()
                .position(|&c| c == '"')
                .ok_or(RuleError::UnterminatedQuote { position: start })?;
            let name: String = self.chars[start + 1..start + 1 + close].iter().collect();
            self.pos = start + close + 2;
            self.skip_space();
            if self.chars.get(self.pos) != Some(&')') {
                return Err(self.unexpected("')' after the quoted alarm name"));
            }
            name
        } else {
            let close = self.chars[start..]
                .iter()
                .position(|&c| c == ')')
                .ok_or(RuleError::UnterminatedName { position: start })?;
            self.pos = start + close;
            self.chars[start..start + close]
                .iter()
                .collect::<String>()
                .trim()
                .to_string()
        };
        if name.is_empty() {
            return Err(RuleError::EmptyName { position: start });
        }
        self.pos += 1;
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn state(state: StateValue, alarm: &str) -> Rule {
        Rule::State {
            state,
            alarm: alarm.to_string(),
        }
    }

    fn and(a: Rule, b: Rule) -> Rule {
        Rule::And(Box::new(a), Box::new(b))
    }

    fn or(a: Rule, b: Rule) -> Rule {
        Rule::Or(Box::new(a), Box::new(b))
    }

    fn not(a: Rule) -> Rule {
        Rule::Not(Box::new(a))
    }

    #[test]
    fn parses_the_aws_examples() {
        assert_eq!(
            parse("ALARM(CPUUtilizationTooHigh) AND ALARM(DiskReadOpsTooHigh)").unwrap(),
            and(
                state(StateValue::Alarm, "CPUUtilizationTooHigh"),
                state(StateValue::Alarm, "DiskReadOpsTooHigh")
            )
        );
        assert_eq!(
            parse("ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress)").unwrap(),
            and(
                state(StateValue::Alarm, "CPUUtilizationTooHigh"),
                not(state(StateValue::Alarm, "DeploymentInProgress"))
            )
        );
        assert_eq!(
            parse("(ALARM(CPUUtilizationTooHigh) OR ALARM(DiskReadOpsTooHigh)) AND OK(NetworkOutTooHigh)")
                .unwrap(),
            and(
                or(
                    state(StateValue::Alarm, "CPUUtilizationTooHigh"),
                    state(StateValue::Alarm, "DiskReadOpsTooHigh")
                ),
                state(StateValue::Ok, "NetworkOutTooHigh")
            )
        );
    }

    #[test]
    fn names_quoted_arns_and_constants() {
        assert_eq!(
            parse("INSUFFICIENT_DATA(\"my alarm (prod)\")").unwrap(),
            state(StateValue::InsufficientData, "my alarm (prod)")
        );
        let arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu-high";
        assert_eq!(
            parse(&format!("ALARM({arn})")).unwrap(),
            state(StateValue::Alarm, arn)
        );
        assert_eq!(
            parse("ALARM(  spaced  )").unwrap(),
            state(StateValue::Alarm, "spaced")
        );
        assert_eq!(parse(" TRUE ").unwrap(), Rule::Constant(true));
        assert_eq!(parse("NOT FALSE").unwrap(), not(Rule::Constant(false)));
        assert_eq!(parse("ALARM (a)").unwrap(), state(StateValue::Alarm, "a"));
    }

    #[test]
    fn precedence_not_and_or() {
        let a = || state(StateValue::Alarm, "a");
        let b = || state(StateValue::Alarm, "b");
        let c = || state(StateValue::Alarm, "c");
        assert_eq!(
            parse("ALARM(a) OR ALARM(b) AND NOT ALARM(c)").unwrap(),
            or(a(), and(b(), not(c())))
        );
        assert_eq!(
            parse("ALARM(a) AND ALARM(b) OR ALARM(c)").unwrap(),
            or(and(a(), b()), c())
        );
        assert_eq!(parse("NOT ALARM(a) AND ALARM(b)").unwrap(), and(not(a()), b()));
        assert_eq!(
            parse("ALARM(a) OR ALARM(b) OR ALARM(c)").unwrap(),
            or(or(a(), b()), c())
        );
    }

    #[test]
    fn errors_name_the_position() {
        assert_eq!(parse(""), Err(RuleError::Empty));
        assert_eq!(parse("   "), Err(RuleError::Empty));
        assert_eq!(
            parse("alarm(a)"),
            Err(RuleError::UnknownWord {
                position: 0,
                word: "alarm".to_string()
            })
        );
        let err = parse("ALARM(a) AND").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected end of rule at position 12; expected ALARM(, OK(, INSUFFICIENT_DATA(, TRUE, FALSE, NOT or '('"
        );
        assert_eq!(
            parse("ALARM(\"a)"),
            Err(RuleError::UnterminatedQuote { position: 6 })
        );
        assert_eq!(parse("ALARM(a"), Err(RuleError::UnterminatedName { position: 6 }));
        assert_eq!(parse("ALARM()"), Err(RuleError::EmptyName { position: 6 }));
        assert_eq!(parse("ALARM(\"\")"), Err(RuleError::EmptyName { position: 6 }));
        assert!(matches!(
            parse("ALARM(a) ALARM(b)"),
            Err(RuleError::Unexpected { position: 9, .. })
        ));
        assert!(matches!(
            parse("(TRUE"),
            Err(RuleError::Unexpected { position: 5, .. })
        ));
        assert!(matches!(
            parse("ALARM"),
            Err(RuleError::Unexpected { position: 5, .. })
        ));
        assert!(matches!(
            parse("TRUE and FALSE"),
            Err(RuleError::Unexpected { position: 5, .. })
        ));
        assert!(matches!(
            parse("ALARM(\"a\" x)"),
            Err(RuleError::Unexpected { position: 10, .. })
        ));
        let long = format!("ALARM({})", "a".repeat(MAX_RULE_LEN));
        assert!(matches!(parse(&long), Err(RuleError::TooLong { .. })));
        let deep = format!("{}TRUE{}", "(".repeat(100), ")".repeat(100));
        assert!(matches!(parse(&deep), Err(RuleError::TooDeep { .. })));
        let nots = format!("{}TRUE", "NOT ".repeat(100));
        assert!(matches!(parse(&nots), Err(RuleError::TooDeep { .. })));
        let fine = format!("{}TRUE{}", "(".repeat(30), ")".repeat(30));
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn alarm_names_are_deduplicated_in_order() {
        let rule = parse("ALARM(b) OR (OK(a) AND NOT ALARM(b)) OR INSUFFICIENT_DATA(c) OR TRUE").unwrap();
        assert_eq!(rule.alarm_names(), vec!["b", "a", "c"]);
        assert!(Rule::Constant(true).alarm_names().is_empty());
    }

    #[test]
    fn holds_against_states() {
        let states: HashMap<&str, StateValue> = [
            ("cpu", StateValue::Alarm),
            ("deploy", StateValue::Ok),
            ("disk", StateValue::InsufficientData),
        ]
        .into_iter()
        .collect();
        let lookup = |name: &str| states.get(name).copied();
        let cases = [
            ("ALARM(cpu)", true),
            ("OK(cpu)", false),
            ("ALARM(cpu) AND NOT ALARM(deploy)", true),
            ("ALARM(cpu) AND ALARM(deploy)", false),
            ("INSUFFICIENT_DATA(disk) OR FALSE", true),
            ("ALARM(unknown)", false),
            ("NOT ALARM(unknown)", true),
            ("OK(unknown) OR INSUFFICIENT_DATA(unknown)", false),
            ("TRUE AND NOT FALSE", true),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).unwrap().holds(&lookup), expected, "{text}");
        }
    }

    #[test]
    fn display_round_trips() {
        let rule = parse("ALARM(a) OR ALARM(\"b c\") AND NOT (OK(d) OR TRUE)").unwrap();
        assert_eq!(parse(&rule.to_string()).unwrap(), rule);
    }

    fn arb_rule() -> impl Strategy<Value = Rule> {
        let leaf = prop_oneof![
            any::<bool>().prop_map(Rule::Constant),
            (
                prop_oneof![
                    Just(StateValue::Ok),
                    Just(StateValue::Alarm),
                    Just(StateValue::InsufficientData)
                ],
                "[a-zA-Z0-9 ()_:/.-]{1,12}"
            )
                .prop_filter("names are trimmed", |(_, n)| n.trim() == n)
                .prop_map(|(state, alarm)| Rule::State { state, alarm }),
        ];
        leaf.prop_recursive(6, 40, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Rule::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Rule::Or(Box::new(a), Box::new(b))),
                inner.prop_map(|a| Rule::Not(Box::new(a))),
            ]
        })
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,60}") {
            let _ = parse(&text);
        }

        #[test]
        fn parse_never_panics_on_rule_like_text(
            text in "((ALARM|OK|NOT|AND|OR|TRUE|FALSE|INSUFFICIENT_DATA)|[()\" a-z]){0,30}"
        ) {
            let _ = parse(&text);
        }

        #[test]
        fn display_parse_round_trip(rule in arb_rule()) {
            prop_assert_eq!(parse(&rule.to_string()), Ok(rule));
        }
    }
}
