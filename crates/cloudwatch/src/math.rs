//! Metric math for GetMetricData and metric-math alarms: parsing expressions such as
//! `100 * SUM(METRICS("errors")) / m1` and evaluating them over query results. Pure: the query
//! results come in through `MathContext`; nothing here fetches metrics or reads the clock.
//!
//! Reference: CloudWatch User Guide, "Metric math syntax and functions" (using-metric-math).
//!
//! Semantics taken from that page:
//! - Arithmetic between two time series lines them up by timestamp; a timestamp present in only
//!   one series counts as 0 in the other (the page says missing values are treated as 0).
//! - A point whose arithmetic would divide by zero is dropped. More generally, any point whose
//!   result is not a finite number (division by zero, `LOG(0)`, `SQRT(-1)`) is left out of the
//!   series; scalars keep NaN/infinity so the series they are applied to lose those points.
//! - Comparison and logical operators give 1 or 0 per point, with the same missing-as-0 rule.
//! - `AVG`, `SUM`, `MIN`, `MAX`, `STDDEV` of one series give a scalar; of an array they give one
//!   series, computed per timestamp. AVG of an array counts missing values as 0 (documented);
//!   MIN, MAX and STDDEV of an array use only the values present (AWS is silent; counting a
//!   missing point as 0 would make MIN of non-negative metrics 0 at every gap).
//! - `IF` follows the documented tables: a missing condition point drops the point; a true
//!   condition with the true-branch series missing gives 0; a false condition with the false
//!   branch missing or omitted drops the point.
//! - `RATE` is the change per second between consecutive points; `DIFF`, `DIFF_TIME` and `RATE`
//!   have no value at the first point.
//!
//! Choices where AWS is silent:
//! - `FILL` and `TIME_SERIES` need the full period grid. It runs from the earliest to the
//!   latest timestamp of any series in the request (every metric query and every referenced
//!   id), one point per `period_s`. `FILL(…, REPEAT)` leaves points before the first value
//!   empty and `LINEAR` leaves the ends of the grid empty, since nothing bounds them.
//! - `STDDEV` is the population standard deviation.
//! - Aggregates of an empty series are NaN, so arithmetic with them yields no points.
//! - Element-wise functions (`ABS`, `CEIL`, `FLOOR`, `LOG`, `LOG10`, `SQRT`) also take scalars.

use std::collections::BTreeMap;
use std::fmt;

/// The `Expression` length limit of a MetricDataQuery.
pub const MAX_EXPRESSION_LEN: usize = 2048;

/// Deepest nesting of parentheses, brackets, calls and unary minus accepted by the parser.
pub const MAX_NESTING: usize = 64;

/// Deepest expression tree accepted; long operator chains (`m1 + m2 + …`) deepen the tree
/// without nesting, and evaluation recurses once per level.
pub const MAX_TREE_DEPTH: usize = 256;

/// Most points a period grid may have (GetMetricData returns at most 100,800 per series).
pub const MAX_GRID_POINTS: usize = 100_800;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// Ascending.
    pub timestamps_ms: Vec<u64>,
    /// Same length as `timestamps_ms`.
    pub values: Vec<f64>,
}

impl Series {
    pub fn new(points: impl IntoIterator<Item = (u64, f64)>) -> Series {
        let (timestamps_ms, values) = points.into_iter().unzip();
        Series {
            timestamps_ms,
            values,
        }
    }

    pub fn len(&self) -> usize {
        self.timestamps_ms.len().min(self.values.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (timestamp, value) pairs.
    pub fn points(&self) -> impl Iterator<Item = (u64, f64)> + '_ {
        self.timestamps_ms
            .iter()
            .copied()
            .zip(self.values.iter().copied())
    }

    /// The value at `timestamp_ms`, if there is one.
    pub fn value_at(&self, timestamp_ms: u64) -> Option<f64> {
        let len = self.len();
        self.timestamps_ms[..len]
            .binary_search(&timestamp_ms)
            .ok()
            .map(|i| self.values[i])
    }

    /// Keeps only finite results, because AWS leaves such points out.
    fn finite(points: impl IntoIterator<Item = (u64, f64)>) -> Series {
        Series::new(points.into_iter().filter(|(_, v)| v.is_finite()))
    }

    /// Sorted by timestamp with one value per timestamp, so a caller's unsorted input cannot
    /// break the merges below.
    fn normalized(self) -> Series {
        let ordered = self.timestamps_ms.len() == self.values.len()
            && self.timestamps_ms.windows(2).all(|w| w[0] < w[1]);
        if ordered {
            return self;
        }
        let mut points: Vec<(u64, f64)> = self.points().collect();
        points.sort_by_key(|&(t, _)| t);
        points.dedup_by_key(|&mut (t, _)| t);
        Series::new(points)
    }

    fn map(&self, f: impl Fn(f64) -> f64) -> Series {
        Series::finite(self.points().map(|(t, v)| (t, f(v))))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    Series(Series),
    /// Several labelled series, e.g. METRICS().
    Array(Vec<(String, Series)>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Scalar(_) => "a number",
            Value::Series(_) => "a time series",
            Value::Array(_) => "an array of time series",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinaryOp {
    fn apply(self, x: f64, y: f64) -> f64 {
        let truth = |b: bool| if b { 1.0 } else { 0.0 };
        match self {
            BinaryOp::Add => x + y,
            BinaryOp::Sub => x - y,
            BinaryOp::Mul => x * y,
            BinaryOp::Div => x / y,
            BinaryOp::Pow => x.powf(y),
            BinaryOp::Eq => truth(x == y),
            BinaryOp::Ne => truth(x != y),
            BinaryOp::Lt => truth(x < y),
            BinaryOp::Le => truth(x <= y),
            BinaryOp::Gt => truth(x > y),
            BinaryOp::Ge => truth(x >= y),
            BinaryOp::And => truth(is_true(x) && is_true(y)),
            BinaryOp::Or => truth(is_true(x) || is_true(y)),
        }
    }
}

/// AWS: zero is false, anything else true. NaN is treated as false, since it is no value.
fn is_true(x: f64) -> bool {
    x != 0.0 && !x.is_nan()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Abs,
    Avg,
    Ceil,
    DatapointCount,
    Diff,
    DiffTime,
    Fill,
    First,
    Floor,
    If,
    Last,
    Log,
    Log10,
    Max,
    MetricCount,
    Metrics,
    Min,
    Period,
    Rate,
    RemoveEmpty,
    RunningSum,
    Sqrt,
    Stddev,
    Sum,
    TimeSeries,
}

/// (function, name, fewest arguments, most arguments, description).
const FUNCTIONS: &[(Function, &str, usize, usize, &str)] = &[
    (Function::Abs, "ABS", 1, 1, "absolute value of each point"),
    (
        Function::Avg,
        "AVG",
        1,
        1,
        "average of a series (a number) or, per timestamp, of an array (a series; missing counts as 0)",
    ),
    (Function::Ceil, "CEIL", 1, 1, "each point rounded up"),
    (
        Function::DatapointCount,
        "DATAPOINT_COUNT",
        1,
        1,
        "points in a series (a number) or, per timestamp, series reporting in an array (a series)",
    ),
    (
        Function::Diff,
        "DIFF",
        1,
        1,
        "each point minus the previous point",
    ),
    (
        Function::DiffTime,
        "DIFF_TIME",
        1,
        1,
        "seconds between each point and the previous point",
    ),
    (
        Function::Fill,
        "FILL",
        2,
        2,
        "fills missing periods with a number, a series' values, REPEAT (last value) or LINEAR (interpolation)",
    ),
    (Function::First, "FIRST", 1, 1, "the first series of an array"),
    (Function::Floor, "FLOOR", 1, 1, "each point rounded down"),
    (
        Function::If,
        "IF",
        2,
        3,
        "IF(condition, then, else): picks per point; a missing else drops the point",
    ),
    (Function::Last, "LAST", 1, 1, "the last series of an array"),
    (Function::Log, "LOG", 1, 1, "natural logarithm of each point"),
    (Function::Log10, "LOG10", 1, 1, "base-10 logarithm of each point"),
    (
        Function::Max,
        "MAX",
        1,
        1,
        "largest value of a series (a number) or, per timestamp, of an array (a series)",
    ),
    (
        Function::MetricCount,
        "METRIC_COUNT",
        1,
        1,
        "number of series in an array",
    ),
    (
        Function::Metrics,
        "METRICS",
        0,
        1,
        "every metric query of the request, or those whose id contains the given text",
    ),
    (
        Function::Min,
        "MIN",
        1,
        1,
        "smallest value of a series (a number) or, per timestamp, of an array (a series)",
    ),
    (
        Function::Period,
        "PERIOD",
        1,
        1,
        "the period of the metric in seconds",
    ),
    (
        Function::Rate,
        "RATE",
        1,
        1,
        "change per second between each point and the previous point",
    ),
    (
        Function::RemoveEmpty,
        "REMOVE_EMPTY",
        1,
        1,
        "drops the series without points from an array",
    ),
    (
        Function::RunningSum,
        "RUNNING_SUM",
        1,
        1,
        "running total of the points",
    ),
    (Function::Sqrt, "SQRT", 1, 1, "square root of each point"),
    (
        Function::Stddev,
        "STDDEV",
        1,
        1,
        "population standard deviation of a series (a number) or, per timestamp, of an array (a series)",
    ),
    (
        Function::Sum,
        "SUM",
        1,
        1,
        "sum of a series (a number) or, per timestamp, of an array (a series; missing counts as 0)",
    ),
    (
        Function::TimeSeries,
        "TIME_SERIES",
        1,
        1,
        "a series with the given number at every period",
    ),
];

impl Function {
    pub fn name(self) -> &'static str {
        FUNCTIONS.iter().find(|f| f.0 == self).map_or("?", |f| f.1)
    }

    pub fn from_name(name: &str) -> Option<Function> {
        FUNCTIONS.iter().find(|f| f.1 == name).map(|f| f.0)
    }

    fn arity(self) -> (usize, usize) {
        FUNCTIONS
            .iter()
            .find(|f| f.0 == self)
            .map_or((0, 0), |f| (f.2, f.3))
    }
}

/// The expressions supported, for the README (one line each: "SUM(m1,m2) — …").
pub const SUPPORTED_FUNCTIONS: &[(&str, &str)] = &[
    ("m1, e2 …", "the result of another query by its id"),
    (
        "+ - * / ^",
        "arithmetic on numbers, series and arrays; series line up by timestamp, missing = 0",
    ),
    ("-x", "negation"),
    ("== != < <= > >=", "comparison, 1 or 0 per point"),
    ("AND && OR ||", "logical operators, 1 or 0 per point"),
    ("[m1, m2]", "an array of time series"),
    ("ABS(x)", "absolute value of each point"),
    (
        "AVG(x)",
        "average of a series, or per timestamp of an array (missing = 0)",
    ),
    ("CEIL(x)", "each point rounded up"),
    (
        "DATAPOINT_COUNT(x)",
        "number of points of a series, or per timestamp of an array",
    ),
    ("DIFF(x)", "each point minus the previous one"),
    ("DIFF_TIME(x)", "seconds since the previous point"),
    (
        "FILL(x, v)",
        "fill missing periods with a number, a series, REPEAT or LINEAR",
    ),
    ("FIRST(a), LAST(a)", "first or last series of an array"),
    ("FLOOR(x)", "each point rounded down"),
    ("IF(c, t[, f])", "per-point choice; missing else drops the point"),
    ("LOG(x), LOG10(x)", "natural and base-10 logarithm of each point"),
    (
        "MAX(x), MIN(x)",
        "largest/smallest of a series, or per timestamp of an array",
    ),
    ("METRIC_COUNT(a)", "number of series in an array"),
    (
        "METRICS(), METRICS(\"text\")",
        "all metric queries, or those whose id contains text",
    ),
    ("PERIOD(m1)", "the period in seconds"),
    ("RATE(x)", "change per second since the previous point"),
    ("REMOVE_EMPTY(a)", "drops empty series from an array"),
    ("RUNNING_SUM(x)", "running total"),
    ("SQRT(x)", "square root of each point"),
    (
        "STDDEV(x)",
        "population standard deviation of a series, or per timestamp of an array",
    ),
    ("SUM(x)", "sum of a series, or per timestamp of an array"),
    ("TIME_SERIES(n)", "n at every period of the request"),
];

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(f64),
    /// A query id such as `m1`.
    Id(String),
    /// A string literal, METRICS' filter.
    Text(String),
    /// A bare upper-case word such as `REPEAT` or `LINEAR`.
    Keyword(String),
    Array(Vec<Expr>),
    Neg(Box<Expr>),
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Call {
        function: Function,
        args: Vec<Expr>,
    },
}

impl Expr {
    /// Ids the expression references (m1, e2 …), in order, deduplicated.
    pub fn referenced_ids(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_ids(&mut out);
        out
    }

    fn collect_ids(&self, out: &mut Vec<String>) {
        match self {
            Expr::Id(id) => {
                if !out.contains(id) {
                    out.push(id.clone());
                }
            }
            Expr::Number(_) | Expr::Text(_) | Expr::Keyword(_) => {}
            Expr::Array(items) | Expr::Call { args: items, .. } => {
                items.iter().for_each(|e| e.collect_ids(out))
            }
            Expr::Neg(inner) => inner.collect_ids(out),
            Expr::Binary { left, right, .. } => {
                left.collect_ids(out);
                right.collect_ids(out);
            }
        }
    }

    fn depth(&self) -> usize {
        1 + match self {
            Expr::Number(_) | Expr::Id(_) | Expr::Text(_) | Expr::Keyword(_) => 0,
            Expr::Array(items) | Expr::Call { args: items, .. } => {
                items.iter().map(Expr::depth).max().unwrap_or(0)
            }
            Expr::Neg(inner) => inner.depth(),
            Expr::Binary { left, right, .. } => left.depth().max(right.depth()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MathError {
    #[error("expression is empty")]
    Empty,
    #[error("expression is {len} characters long, more than the {max} allowed")]
    TooLong { len: usize, max: usize },
    #[error("expression nests more than {max} levels deep")]
    TooDeep { max: usize },
    #[error("syntax error at position {position}: {message}")]
    Syntax { position: usize, message: String },
    #[error("unknown function '{name}' at position {position}")]
    UnknownFunction { name: String, position: usize },
    #[error("{function} takes {expected} argument(s), not {found}")]
    Arity {
        function: &'static str,
        expected: String,
        found: usize,
    },
    #[error("unknown id '{0}': no query in the request has that id")]
    UnknownId(String),
    #[error("{0}")]
    Type(String),
    #[error("the request spans {points} periods, more than the {max} a series may hold")]
    GridTooLarge { points: u64, max: usize },
}

// ---------------------------------------------------------------------------------------------
// Lexing and parsing

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Number(f64),
    Id(String),
    Word(String),
    Text(String),
    Punct(&'static str),
}

fn lex(chars: &[char]) -> Result<Vec<(usize, Tok)>, MathError> {
    let syntax = |position: usize, message: String| MathError::Syntax { position, message };
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            while chars.get(i).is_some_and(|d| d.is_ascii_digit()) {
                i += 1;
            }
            if chars.get(i) == Some(&'.') {
                i += 1;
                while chars.get(i).is_some_and(|d| d.is_ascii_digit()) {
                    i += 1;
                }
            }
            if matches!(chars.get(i), Some('e' | 'E')) {
                let sign = usize::from(matches!(chars.get(i + 1), Some('+' | '-')));
                if chars.get(i + 1 + sign).is_some_and(|d| d.is_ascii_digit()) {
                    i += 1 + sign;
                    while chars.get(i).is_some_and(|d| d.is_ascii_digit()) {
                        i += 1;
                    }
                }
            }
            let text: String = chars[start..i].iter().collect();
            let value = text
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| syntax(start, format!("invalid number '{text}'")))?;
            out.push((start, Tok::Number(value)));
            continue;
        }
        if c.is_ascii_alphabetic() {
            while chars
                .get(i)
                .is_some_and(|d| d.is_ascii_alphanumeric() || *d == '_')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push((
                start,
                if c.is_ascii_lowercase() {
                    Tok::Id(word)
                } else {
                    Tok::Word(word)
                },
            ));
            continue;
        }
        if c == '"' {
            let close = chars[i + 1..]
                .iter()
                .position(|&d| d == '"')
                .ok_or_else(|| syntax(start, "string has no closing quote".to_string()))?;
            out.push((start, Tok::Text(chars[i + 1..i + 1 + close].iter().collect())));
            i += close + 2;
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let punct = ["==", "!=", "<=", ">=", "&&", "||"]
            .into_iter()
            .find(|p| *p == two)
            .or_else(|| {
                ["(", ")", "[", "]", ",", "+", "-", "*", "/", "^", "<", ">"]
                    .into_iter()
                    .find(|p| p.starts_with(c))
            })
            .ok_or_else(|| syntax(start, format!("unexpected character '{c}'")))?;
        i += punct.len();
        out.push((start, Tok::Punct(punct)));
    }
    Ok(out)
}

/// Parses a metric math expression.
pub fn parse(expression: &str) -> Result<Expr, MathError> {
    let chars: Vec<char> = expression.chars().collect();
    if chars.len() > MAX_EXPRESSION_LEN {
        return Err(MathError::TooLong {
            len: chars.len(),
            max: MAX_EXPRESSION_LEN,
        });
    }
    let tokens = lex(&chars)?;
    if tokens.is_empty() {
        return Err(MathError::Empty);
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        nesting: 0,
        end: chars.len(),
    };
    let expr = parser.or()?;
    if parser.pos < parser.tokens.len() {
        return Err(parser.error("an operator or the end of the expression"));
    }
    if expr.depth() > MAX_TREE_DEPTH {
        return Err(MathError::TooDeep { max: MAX_TREE_DEPTH });
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<(usize, Tok)>,
    pos: usize,
    nesting: usize,
    /// Character length of the input, the position reported at its end.
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn position(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(p, _)| *p)
    }

    fn error(&self, expected: &str) -> MathError {
        let found = match self.peek() {
            None => "the end of the expression".to_string(),
            Some(Tok::Number(n)) => format!("number {n}"),
            Some(Tok::Id(s) | Tok::Word(s)) => format!("'{s}'"),
            Some(Tok::Text(s)) => format!("string \"{s}\""),
            Some(Tok::Punct(p)) => format!("'{p}'"),
        };
        MathError::Syntax {
            position: self.position(),
            message: format!("expected {expected}, found {found}"),
        }
    }

    fn eat_punct(&mut self, punct: &str) -> bool {
        if self.peek()
            == Some(&Tok::Punct(match punct {
                "(" => "(",
                ")" => ")",
                "]" => "]",
                "," => ",",
                _ => return false,
            }))
        {
            self.pos += 1;
            return true;
        }
        false
    }

    fn expect(&mut self, punct: &'static str) -> Result<(), MathError> {
        if self.eat_punct(punct) {
            Ok(())
        } else {
            Err(self.error(&format!("'{punct}'")))
        }
    }

    fn nest(&mut self) -> Result<(), MathError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(MathError::TooDeep { max: MAX_NESTING });
        }
        Ok(())
    }

    fn binary_loop(
        &mut self,
        next: fn(&mut Parser) -> Result<Expr, MathError>,
        op_of: fn(&Tok) -> Option<BinaryOp>,
    ) -> Result<Expr, MathError> {
        let mut left = next(self)?;
        while let Some(op) = self.peek().and_then(op_of) {
            self.pos += 1;
            let right = next(self)?;
            left = Expr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    fn or(&mut self) -> Result<Expr, MathError> {
        self.binary_loop(Parser::and, |t| match t {
            Tok::Punct("||") => Some(BinaryOp::Or),
            Tok::Word(w) if w == "OR" => Some(BinaryOp::Or),
            _ => None,
        })
    }

    fn and(&mut self) -> Result<Expr, MathError> {
        self.binary_loop(Parser::comparison, |t| match t {
            Tok::Punct("&&") => Some(BinaryOp::And),
            Tok::Word(w) if w == "AND" => Some(BinaryOp::And),
            _ => None,
        })
    }

    fn comparison(&mut self) -> Result<Expr, MathError> {
        self.binary_loop(Parser::additive, |t| match t {
            Tok::Punct("==") => Some(BinaryOp::Eq),
            Tok::Punct("!=") => Some(BinaryOp::Ne),
            Tok::Punct("<") => Some(BinaryOp::Lt),
            Tok::Punct("<=") => Some(BinaryOp::Le),
            Tok::Punct(">") => Some(BinaryOp::Gt),
            Tok::Punct(">=") => Some(BinaryOp::Ge),
            _ => None,
        })
    }

    fn additive(&mut self) -> Result<Expr, MathError> {
        self.binary_loop(Parser::multiplicative, |t| match t {
            Tok::Punct("+") => Some(BinaryOp::Add),
            Tok::Punct("-") => Some(BinaryOp::Sub),
            _ => None,
        })
    }

    fn multiplicative(&mut self) -> Result<Expr, MathError> {
        self.binary_loop(Parser::unary, |t| match t {
            Tok::Punct("*") => Some(BinaryOp::Mul),
            Tok::Punct("/") => Some(BinaryOp::Div),
            _ => None,
        })
    }

    /// Unary minus binds looser than `^`, so `-2^2` is -4 as in ordinary notation.
    fn unary(&mut self) -> Result<Expr, MathError> {
        self.nest()?;
        let result = if self.peek() == Some(&Tok::Punct("-")) {
            self.pos += 1;
            self.unary().map(|e| Expr::Neg(Box::new(e)))
        } else {
            self.power()
        };
        self.nesting -= 1;
        result
    }

    /// `^` groups right to left: `2^3^2` is `2^(3^2)`.
    fn power(&mut self) -> Result<Expr, MathError> {
        let base = self.primary()?;
        if self.peek() == Some(&Tok::Punct("^")) {
            self.pos += 1;
            let exponent = self.unary()?;
            return Ok(Expr::Binary {
                op: BinaryOp::Pow,
                left: Box::new(base),
                right: Box::new(exponent),
            });
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<Expr, MathError> {
        self.nest()?;
        let result = self.primary_inner();
        self.nesting -= 1;
        result
    }

    fn primary_inner(&mut self) -> Result<Expr, MathError> {
        let position = self.position();
        let Some(tok) = self.peek().cloned() else {
            return Err(self.error("a number, an id, a function or '('"));
        };
        match tok {
            Tok::Number(n) => {
                self.pos += 1;
                Ok(Expr::Number(n))
            }
            Tok::Id(id) => {
                self.pos += 1;
                Ok(Expr::Id(id))
            }
            Tok::Text(text) => {
                self.pos += 1;
                Ok(Expr::Text(text))
            }
            Tok::Punct("(") => {
                self.pos += 1;
                let inner = self.or()?;
                self.expect(")")?;
                Ok(inner)
            }
            Tok::Punct("[") => {
                self.pos += 1;
                let items = self.list("]")?;
                Ok(Expr::Array(items))
            }
            Tok::Word(word) => {
                self.pos += 1;
                if self.peek() != Some(&Tok::Punct("(")) {
                    return match word.as_str() {
                        "REPEAT" | "LINEAR" => Ok(Expr::Keyword(word)),
                        _ => Err(MathError::Syntax {
                            position,
                            message: format!("unknown word '{word}' (functions need parentheses)"),
                        }),
                    };
                }
                let function = Function::from_name(&word).ok_or(MathError::UnknownFunction {
                    name: word.clone(),
                    position,
                })?;
                self.pos += 1;
                let args = self.list(")")?;
                let (fewest, most) = function.arity();
                if args.len() < fewest || args.len() > most {
                    let expected = if fewest == most {
                        fewest.to_string()
                    } else {
                        format!("{fewest} to {most}")
                    };
                    return Err(MathError::Arity {
                        function: function.name(),
                        expected,
                        found: args.len(),
                    });
                }
                Ok(Expr::Call { function, args })
            }
            Tok::Punct(_) => Err(self.error("a number, an id, a function or '('")),
        }
    }

    /// Comma-separated expressions up to `close`, which is consumed.
    fn list(&mut self, close: &'static str) -> Result<Vec<Expr>, MathError> {
        let mut items = Vec::new();
        if self.eat_punct(close) {
            return Ok(items);
        }
        loop {
            items.push(self.or()?);
            if self.eat_punct(close) {
                return Ok(items);
            }
            if !self.eat_punct(",") {
                return Err(self.error(&format!("',' or '{close}'")));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

pub struct MathContext<'a> {
    /// Query results by id (metric stat queries and earlier expressions).
    pub series: &'a dyn Fn(&str) -> Option<Value>,
    /// Every metric stat query as (id, label, series), for METRICS() and METRICS("filter").
    pub all_metrics: &'a [(String, String, Series)],
    pub period_s: u64,
}

impl fmt::Debug for MathContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MathContext")
            .field("all_metrics", &self.all_metrics.len())
            .field("period_s", &self.period_s)
            .finish_non_exhaustive()
    }
}

/// Evaluates `expr`. AWS requires the final result of an expression to be a series or an array;
/// a scalar result is returned as is and the caller decides whether to reject it.
pub fn evaluate(expr: &Expr, context: &MathContext<'_>) -> Result<Value, MathError> {
    let mut evaluator = Evaluator {
        context,
        root: expr,
        grid: None,
    };
    evaluator.eval(expr, 0)
}

struct Evaluator<'c, 'a, 'e> {
    context: &'c MathContext<'a>,
    root: &'e Expr,
    grid: Option<Vec<u64>>,
}

fn type_error(function: Function, found: &Value) -> MathError {
    MathError::Type(format!("{} does not take {}", function.name(), found.kind()))
}

impl Evaluator<'_, '_, '_> {
    fn eval(&mut self, expr: &Expr, depth: usize) -> Result<Value, MathError> {
        if depth > MAX_TREE_DEPTH {
            return Err(MathError::TooDeep { max: MAX_TREE_DEPTH });
        }
        match expr {
            Expr::Number(n) => Ok(Value::Scalar(*n)),
            Expr::Id(id) => self.lookup(id),
            Expr::Text(text) => Err(MathError::Type(format!(
                "the string \"{text}\" is only valid as METRICS' argument"
            ))),
            Expr::Keyword(word) => Err(MathError::Type(format!(
                "{word} is only valid as FILL's second argument"
            ))),
            Expr::Array(items) => {
                let mut members = Vec::new();
                for item in items {
                    match self.eval(item, depth + 1)? {
                        Value::Series(series) => members.push((self.label_of(item), series)),
                        Value::Array(inner) => members.extend(inner),
                        Value::Scalar(_) => {
                            return Err(MathError::Type(
                                "an array holds time series, not numbers".to_string(),
                            ));
                        }
                    }
                }
                Ok(Value::Array(members))
            }
            Expr::Neg(inner) => {
                let value = self.eval(inner, depth + 1)?;
                Ok(map_value(value, |x| -x))
            }
            Expr::Binary { op, left, right } => {
                let left = self.eval(left, depth + 1)?;
                let right = self.eval(right, depth + 1)?;
                binary(*op, left, right)
            }
            Expr::Call { function, args } => self.call(*function, args, depth),
        }
    }

    fn lookup(&self, id: &str) -> Result<Value, MathError> {
        match (self.context.series)(id) {
            Some(Value::Series(series)) => Ok(Value::Series(series.normalized())),
            Some(Value::Array(members)) => Ok(Value::Array(
                members.into_iter().map(|(l, s)| (l, s.normalized())).collect(),
            )),
            Some(scalar) => Ok(scalar),
            None => Err(MathError::UnknownId(id.to_string())),
        }
    }

    fn label_of(&self, expr: &Expr) -> String {
        match expr {
            Expr::Id(id) => self
                .context
                .all_metrics
                .iter()
                .find(|(query_id, _, _)| query_id == id)
                .map_or_else(|| id.clone(), |(_, label, _)| label.clone()),
            _ => String::new(),
        }
    }

    /// The period grid of the request, computed on first use.
    fn grid(&mut self) -> Result<Vec<u64>, MathError> {
        if let Some(grid) = &self.grid {
            return Ok(grid.clone());
        }
        let mut known: Vec<u64> = Vec::new();
        for (_, _, series) in self.context.all_metrics {
            known.extend(&series.timestamps_ms);
        }
        for id in self.root.referenced_ids() {
            match (self.context.series)(&id) {
                Some(Value::Series(series)) => known.extend(series.timestamps_ms),
                Some(Value::Array(members)) => {
                    members
                        .into_iter()
                        .for_each(|(_, s)| known.extend(s.timestamps_ms));
                }
                _ => {}
            }
        }
        known.sort_unstable();
        known.dedup();
        let (Some(&first), Some(&last)) = (known.first(), known.last()) else {
            self.grid = Some(Vec::new());
            return Ok(Vec::new());
        };
        if let Some(step_ms) = self.context.period_s.checked_mul(1000).filter(|&s| s > 0) {
            let points = (last - first) / step_ms + 1;
            if points > MAX_GRID_POINTS as u64 {
                return Err(MathError::GridTooLarge {
                    points,
                    max: MAX_GRID_POINTS,
                });
            }
            known.extend((0..points).map(|i| first + i * step_ms));
            known.sort_unstable();
            known.dedup();
            if known.len() > MAX_GRID_POINTS {
                return Err(MathError::GridTooLarge {
                    points: known.len() as u64,
                    max: MAX_GRID_POINTS,
                });
            }
        }
        self.grid = Some(known.clone());
        Ok(known)
    }

    fn call(&mut self, function: Function, args: &[Expr], depth: usize) -> Result<Value, MathError> {
        let depth = depth + 1;
        match function {
            Function::Metrics => {
                let filter = match args.first() {
                    None => None,
                    Some(Expr::Text(text)) => Some(text.as_str()),
                    Some(_) => {
                        return Err(MathError::Type("METRICS takes nothing or a string".to_string()));
                    }
                };
                let members = self
                    .context
                    .all_metrics
                    .iter()
                    .filter(|(id, _, _)| filter.is_none_or(|f| id.contains(f)))
                    .map(|(_, label, series)| (label.clone(), series.clone().normalized()))
                    .collect();
                Ok(Value::Array(members))
            }
            Function::If => self.if_function(args, depth),
            Function::Fill => {
                let target = self.eval(&args[0], depth)?;
                let fill = match &args[1] {
                    Expr::Keyword(word) if word == "REPEAT" => Filler::Repeat,
                    Expr::Keyword(word) if word == "LINEAR" => Filler::Linear,
                    other => match self.eval(other, depth)? {
                        Value::Scalar(x) => Filler::Scalar(x),
                        Value::Series(series) => Filler::Series(series),
                        Value::Array(_) => {
                            return Err(MathError::Type(
                                "FILL's second argument must be a number, a time series, REPEAT or LINEAR"
                                    .to_string(),
                            ));
                        }
                    },
                };
                let grid = self.grid()?;
                match target {
                    Value::Series(series) => Ok(Value::Series(fill_series(&series, &grid, &fill))),
                    Value::Array(members) => Ok(Value::Array(
                        members
                            .into_iter()
                            .map(|(l, s)| (l, fill_series(&s, &grid, &fill)))
                            .collect(),
                    )),
                    scalar @ Value::Scalar(_) => Err(type_error(function, &scalar)),
                }
            }
            Function::TimeSeries => match self.eval(&args[0], depth)? {
                Value::Scalar(x) => {
                    let grid = self.grid()?;
                    Ok(Value::Series(Series::finite(grid.into_iter().map(|t| (t, x)))))
                }
                other => Err(type_error(function, &other)),
            },
            Function::Period => match self.eval(&args[0], depth)? {
                Value::Series(_) | Value::Array(_) => Ok(Value::Scalar(self.context.period_s as f64)),
                other => Err(type_error(function, &other)),
            },
            _ => {
                let value = self.eval(&args[0], depth)?;
                apply_unary_function(function, value)
            }
        }
    }

    fn if_function(&mut self, args: &[Expr], depth: usize) -> Result<Value, MathError> {
        let condition = self.eval(&args[0], depth)?;
        match condition {
            Value::Scalar(c) => {
                if is_true(c) {
                    self.eval(&args[1], depth)
                } else {
                    match args.get(2) {
                        Some(otherwise) => self.eval(otherwise, depth),
                        None => Ok(Value::Series(Series::default())),
                    }
                }
            }
            Value::Series(condition) => {
                let then = self.eval(&args[1], depth)?;
                let otherwise = args.get(2).map(|e| self.eval(e, depth)).transpose()?;
                for branch in std::iter::once(&then).chain(otherwise.as_ref()) {
                    if let Value::Array(_) = branch {
                        return Err(MathError::Type(
                            "IF's branches must be numbers or time series".into(),
                        ));
                    }
                }
                let points = condition.points().filter_map(|(t, c)| {
                    if is_true(c) {
                        match &then {
                            Value::Scalar(x) => Some((t, *x)),
                            Value::Series(s) => Some((t, s.value_at(t).unwrap_or(0.0))),
                            Value::Array(_) => None,
                        }
                    } else {
                        match &otherwise {
                            Some(Value::Scalar(x)) => Some((t, *x)),
                            Some(Value::Series(s)) => s.value_at(t).map(|v| (t, v)),
                            _ => None,
                        }
                    }
                });
                Ok(Value::Series(Series::finite(points.collect::<Vec<_>>())))
            }
            Value::Array(_) => Err(MathError::Type(
                "IF's condition must be a number or a single time series".to_string(),
            )),
        }
    }
}

fn map_value(value: Value, f: impl Fn(f64) -> f64 + Copy) -> Value {
    match value {
        Value::Scalar(x) => Value::Scalar(f(x)),
        Value::Series(s) => Value::Series(s.map(f)),
        Value::Array(members) => Value::Array(members.into_iter().map(|(l, s)| (l, s.map(f))).collect()),
    }
}

/// Lines two series up by timestamp; a side without a point counts as 0.
fn zip_union(a: &Series, b: &Series, f: impl Fn(f64, f64) -> f64) -> Series {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    let (a_len, b_len) = (a.len(), b.len());
    while i < a_len || j < b_len {
        let ta = a.timestamps_ms.get(i).filter(|_| i < a_len);
        let tb = b.timestamps_ms.get(j).filter(|_| j < b_len);
        let point = match (ta, tb) {
            (Some(&x), Some(&y)) if x == y => {
                let p = (x, f(a.values[i], b.values[j]));
                i += 1;
                j += 1;
                p
            }
            (Some(&x), Some(&y)) if x < y => {
                i += 1;
                (x, f(a.values[i - 1], 0.0))
            }
            (Some(&x), None) => {
                i += 1;
                (x, f(a.values[i - 1], 0.0))
            }
            (_, Some(&y)) => {
                j += 1;
                (y, f(0.0, b.values[j - 1]))
            }
            (None, None) => break,
        };
        out.push(point);
    }
    Series::finite(out)
}

fn binary(op: BinaryOp, left: Value, right: Value) -> Result<Value, MathError> {
    let per_series = |s: &Series, other: &Value, swap: bool| -> Result<Series, MathError> {
        Ok(match other {
            Value::Scalar(y) => {
                let y = *y;
                Series::finite(
                    s.points()
                        .map(|(t, x)| (t, if swap { op.apply(y, x) } else { op.apply(x, y) })),
                )
            }
            Value::Series(o) => {
                if swap {
                    zip_union(o, s, |x, y| op.apply(x, y))
                } else {
                    zip_union(s, o, |x, y| op.apply(x, y))
                }
            }
            Value::Array(_) => {
                return Err(MathError::Type(
                    "operators between two arrays of time series are not supported".to_string(),
                ));
            }
        })
    };
    match (left, right) {
        (Value::Scalar(x), Value::Scalar(y)) => Ok(Value::Scalar(op.apply(x, y))),
        (Value::Array(_), Value::Array(_)) => Err(MathError::Type(
            "operators between two arrays of time series are not supported".to_string(),
        )),
        (Value::Array(members), other) => Ok(Value::Array(
            members
                .into_iter()
                .map(|(l, s)| per_series(&s, &other, false).map(|s| (l, s)))
                .collect::<Result<_, _>>()?,
        )),
        (other, Value::Array(members)) => Ok(Value::Array(
            members
                .into_iter()
                .map(|(l, s)| per_series(&s, &other, true).map(|s| (l, s)))
                .collect::<Result<_, _>>()?,
        )),
        (Value::Series(s), other) => Ok(Value::Series(per_series(&s, &other, false)?)),
        (other, Value::Series(s)) => Ok(Value::Series(per_series(&s, &other, true)?)),
    }
}

enum Filler {
    Scalar(f64),
    Series(Series),
    Repeat,
    Linear,
}

fn fill_series(series: &Series, grid: &[u64], filler: &Filler) -> Series {
    let mut timestamps: Vec<u64> = grid
        .iter()
        .copied()
        .chain(series.timestamps_ms.iter().copied())
        .collect();
    timestamps.sort_unstable();
    timestamps.dedup();
    let mut out = Vec::with_capacity(timestamps.len());
    let mut previous: Option<(u64, f64)> = None;
    let mut next_index = 0;
    for t in timestamps {
        if let Some(v) = series.value_at(t) {
            out.push((t, v));
            previous = Some((t, v));
            continue;
        }
        let filled = match filler {
            Filler::Scalar(x) => Some(*x),
            Filler::Series(s) => s.value_at(t),
            Filler::Repeat => previous.map(|(_, v)| v),
            Filler::Linear => {
                while next_index < series.len() && series.timestamps_ms[next_index] < t {
                    next_index += 1;
                }
                let next = (next_index < series.len())
                    .then(|| (series.timestamps_ms[next_index], series.values[next_index]));
                match (previous, next) {
                    (Some((tp, vp)), Some((tn, vn))) if tn > tp => {
                        Some(vp + (vn - vp) * ((t - tp) as f64 / (tn - tp) as f64))
                    }
                    _ => None,
                }
            }
        };
        if let Some(v) = filled {
            out.push((t, v));
        }
    }
    Series::finite(out)
}

/// Per-timestamp values of an array's members, present values only.
fn by_timestamp(members: &[(String, Series)]) -> BTreeMap<u64, Vec<f64>> {
    let mut out: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for (_, series) in members {
        for (t, v) in series.points() {
            out.entry(t).or_default().push(v);
        }
    }
    out
}

fn stddev(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
}

fn aggregate(function: Function, values: &[f64], members: usize) -> f64 {
    let fold = |init: f64, f: fn(f64, f64) -> f64| values.iter().copied().fold(init, f);
    match function {
        Function::Sum => values.iter().sum(),
        // `members` is the divisor so that missing values count as 0 for arrays.
        Function::Avg => values.iter().sum::<f64>() / members as f64,
        Function::Max if !values.is_empty() => fold(f64::NEG_INFINITY, f64::max),
        Function::Min if !values.is_empty() => fold(f64::INFINITY, f64::min),
        Function::Stddev if !values.is_empty() => stddev(values),
        Function::DatapointCount => values.len() as f64,
        _ => f64::NAN,
    }
}

fn consecutive(series: &Series, f: impl Fn((u64, f64), (u64, f64)) -> f64) -> Series {
    let points: Vec<(u64, f64)> = series.points().collect();
    Series::finite(
        points
            .windows(2)
            .map(|w| (w[1].0, f(w[0], w[1])))
            .collect::<Vec<_>>(),
    )
}

fn per_member(value: Value, function: Function, f: impl Fn(&Series) -> Series) -> Result<Value, MathError> {
    match value {
        Value::Series(s) => Ok(Value::Series(f(&s))),
        Value::Array(members) => Ok(Value::Array(
            members.into_iter().map(|(l, s)| (l, f(&s))).collect(),
        )),
        scalar @ Value::Scalar(_) => Err(type_error(function, &scalar)),
    }
}

fn apply_unary_function(function: Function, value: Value) -> Result<Value, MathError> {
    match function {
        Function::Abs => Ok(map_value(value, f64::abs)),
        Function::Ceil => Ok(map_value(value, f64::ceil)),
        Function::Floor => Ok(map_value(value, f64::floor)),
        Function::Log => Ok(map_value(value, f64::ln)),
        Function::Log10 => Ok(map_value(value, f64::log10)),
        Function::Sqrt => Ok(map_value(value, f64::sqrt)),
        Function::Avg
        | Function::Sum
        | Function::Max
        | Function::Min
        | Function::Stddev
        | Function::DatapointCount => match value {
            Value::Series(s) => Ok(Value::Scalar(aggregate(function, &s.values[..s.len()], s.len()))),
            Value::Array(members) => {
                let rows = by_timestamp(&members);
                Ok(Value::Series(Series::finite(
                    rows.into_iter()
                        .map(|(t, vs)| (t, aggregate(function, &vs, members.len())))
                        .collect::<Vec<_>>(),
                )))
            }
            scalar @ Value::Scalar(_) => Err(type_error(function, &scalar)),
        },
        Function::MetricCount => match value {
            Value::Array(members) => Ok(Value::Scalar(members.len() as f64)),
            Value::Series(_) => Ok(Value::Scalar(1.0)),
            scalar @ Value::Scalar(_) => Err(type_error(function, &scalar)),
        },
        Function::First | Function::Last => match value {
            Value::Array(members) => {
                let pick = if function == Function::First {
                    members.into_iter().next()
                } else {
                    members.into_iter().last()
                };
                Ok(Value::Series(pick.map(|(_, s)| s).unwrap_or_default()))
            }
            series @ Value::Series(_) => Ok(series),
            scalar @ Value::Scalar(_) => Err(type_error(function, &scalar)),
        },
        Function::RemoveEmpty => match value {
            Value::Array(members) => Ok(Value::Array(
                members.into_iter().filter(|(_, s)| !s.is_empty()).collect(),
            )),
            series @ Value::Series(_) => Ok(series),
            scalar @ Value::Scalar(_) => Err(type_error(function, &scalar)),
        },
        Function::Diff => per_member(value, function, |s| consecutive(s, |(_, a), (_, b)| b - a)),
        Function::DiffTime => per_member(value, function, |s| {
            consecutive(s, |(ta, _), (tb, _)| tb.saturating_sub(ta) as f64 / 1000.0)
        }),
        Function::Rate => per_member(value, function, |s| {
            consecutive(s, |(ta, a), (tb, b)| {
                (b - a) / (tb.saturating_sub(ta) as f64 / 1000.0)
            })
        }),
        Function::RunningSum => per_member(value, function, |s| {
            let mut total = 0.0;
            Series::finite(
                s.points()
                    .map(|(t, v)| {
                        total += v;
                        (t, total)
                    })
                    .collect::<Vec<_>>(),
            )
        }),
        Function::Fill | Function::If | Function::Metrics | Function::Period | Function::TimeSeries => Err(
            MathError::Type(format!("{} needs its own arguments", function.name())),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN_MS: u64 = 60_000;

    fn series(points: &[(u64, f64)]) -> Series {
        Series::new(points.iter().copied())
    }

    /// `[30, 20, 0, 0]` style: one point a minute from t = 0; None is a gap.
    fn per_minute(values: &[Option<f64>]) -> Series {
        Series::new(
            values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| (i as u64 * MIN_MS, v))),
        )
    }

    fn as_options(s: &Series, len: usize) -> Vec<Option<f64>> {
        (0..len).map(|i| s.value_at(i as u64 * MIN_MS)).collect()
    }

    struct Fixture {
        metrics: Vec<(String, String, Series)>,
    }

    impl Fixture {
        fn new(metrics: &[(&str, Series)]) -> Fixture {
            Fixture {
                metrics: metrics
                    .iter()
                    .map(|(id, s)| (id.to_string(), format!("label-{id}"), s.clone()))
                    .collect(),
            }
        }

        fn run(&self, expression: &str) -> Result<Value, MathError> {
            let expr = parse(expression)?;
            let lookup = |id: &str| {
                self.metrics
                    .iter()
                    .find(|(i, _, _)| i == id)
                    .map(|(_, _, s)| Value::Series(s.clone()))
            };
            let context = MathContext {
                series: &lookup,
                all_metrics: &self.metrics,
                period_s: 60,
            };
            evaluate(&expr, &context)
        }

        fn series(&self, expression: &str) -> Series {
            match self.run(expression) {
                Ok(Value::Series(s)) => s,
                other => panic!("{expression}: expected a series, got {other:?}"),
            }
        }

        fn scalar(&self, expression: &str) -> f64 {
            match self.run(expression) {
                Ok(Value::Scalar(x)) => x,
                other => panic!("{expression}: expected a number, got {other:?}"),
            }
        }
    }

    fn aws_pair() -> Fixture {
        // The two series of the AWS comparison-operator example.
        Fixture::new(&[
            (
                "metric1",
                per_minute(&[Some(30.0), Some(20.0), Some(0.0), Some(0.0)]),
            ),
            ("metric2", per_minute(&[Some(20.0), None, Some(20.0), None])),
        ])
    }

    #[test]
    fn aws_comparison_examples() {
        let f = aws_pair();
        let ones = |s: Series| as_options(&s, 4);
        assert_eq!(
            ones(f.series("(metric1 < metric2)")),
            vec![Some(0.0), Some(0.0), Some(1.0), Some(0.0)]
        );
        assert_eq!(
            ones(f.series("(metric1 >= 30)")),
            vec![Some(1.0), Some(0.0), Some(0.0), Some(0.0)]
        );
        assert_eq!(
            ones(f.series("(metric1 > 15 AND metric2 > 15)")),
            vec![Some(1.0), Some(0.0), Some(0.0), Some(0.0)]
        );
        assert_eq!(
            ones(f.series("metric1 > 15 && metric2 > 15")),
            ones(f.series("metric1 > 15 AND metric2 > 15"))
        );
        assert_eq!(
            ones(f.series("metric1 == 0 || metric2 == 20")),
            vec![Some(1.0), Some(0.0), Some(1.0), Some(1.0)]
        );
    }

    #[test]
    fn aws_if_examples() {
        let f = Fixture::new(&[
            (
                "metric1",
                per_minute(&[Some(1.0), Some(1.0), Some(0.0), Some(0.0), None]),
            ),
            (
                "metric2",
                per_minute(&[Some(30.0), None, Some(0.0), Some(0.0), Some(30.0)]),
            ),
            (
                "metric3",
                per_minute(&[Some(0.0), Some(0.0), Some(20.0), None, Some(20.0)]),
            ),
        ]);
        assert_eq!(
            as_options(&f.series("IF(metric1, metric2, metric3)"), 5),
            vec![Some(30.0), Some(0.0), Some(20.0), None, None]
        );
        assert_eq!(
            as_options(&f.series("IF(metric1, 5, metric3)"), 5),
            vec![Some(5.0), Some(5.0), Some(20.0), None, None]
        );
        assert_eq!(
            as_options(&f.series("IF(metric1, metric2, 5)"), 5),
            vec![Some(30.0), Some(0.0), Some(5.0), Some(5.0), None]
        );
        assert_eq!(
            as_options(&f.series("IF(metric2 < 10, 1)"), 5),
            vec![None, None, Some(1.0), Some(1.0), None]
        );
        assert_eq!(f.series("IF(0, metric2)"), Series::default());
        assert_eq!(f.series("IF(1, metric2, metric3)"), f.series("metric2"));
        assert!(matches!(f.run("IF(METRICS(), 1, 0)"), Err(MathError::Type(_))));
    }

    #[test]
    fn arithmetic_aligns_on_timestamps_with_missing_as_zero() {
        let f = aws_pair();
        assert_eq!(
            as_options(&f.series("metric1 + metric2"), 4),
            vec![Some(50.0), Some(20.0), Some(20.0), Some(0.0)]
        );
        // 30/20, 20/0 dropped, 0/20 = 0, 0/0 dropped.
        assert_eq!(
            as_options(&f.series("metric1 / metric2"), 4),
            vec![Some(1.5), None, Some(0.0), None]
        );
        assert_eq!(as_options(&f.series("metric2 / 0"), 4), vec![None; 4]);
        assert_eq!(
            as_options(&f.series("100 / metric1"), 4),
            vec![Some(100.0 / 30.0), Some(5.0), None, None]
        );
        assert_eq!(
            as_options(&f.series("metric1 - 5 * 2"), 4),
            vec![Some(20.0), Some(10.0), Some(-10.0), Some(-10.0)]
        );
        assert_eq!(
            as_options(&f.series("-metric1 ^ 2 / 100"), 4),
            vec![Some(-9.0), Some(-4.0), Some(-0.0), Some(-0.0)]
        );
        assert_eq!(f.scalar("2 ^ 3 ^ 2"), 512.0);
        assert_eq!(f.scalar("-2 ^ 2"), -4.0);
        assert_eq!(f.scalar("(1 + 2) * 3 - 4 / 2"), 7.0);
        assert_eq!(f.scalar("1 < 2"), 1.0);
        assert_eq!(f.scalar("PERIOD(metric1) / 60"), 1.0);
        assert!(f.scalar("1 / 0").is_infinite());
    }

    #[test]
    fn arrays_combine_with_series_and_numbers() {
        let f = aws_pair();
        // AWS examples: SUM(100/[m1, m2]) and AVG([m1,m2]/m3).
        assert_eq!(
            as_options(&f.series("SUM(100 / [metric1, metric2])"), 4),
            vec![Some(100.0 / 30.0 + 5.0), Some(5.0), Some(5.0), None]
        );
        assert_eq!(
            as_options(&f.series("AVG([metric1, metric2] / metric1)"), 2),
            vec![Some((1.0 + 20.0 / 30.0) / 2.0), Some(0.5)]
        );
        match f.run("metric1 - METRICS()").unwrap() {
            Value::Array(members) => {
                assert_eq!(
                    as_options(&members[1].1, 4),
                    vec![Some(10.0), Some(20.0), Some(-20.0), Some(0.0)]
                );
            }
            other => panic!("{other:?}"),
        }
        match f.run("SUM(-[metric1, metric2])").unwrap() {
            Value::Series(s) => assert_eq!(as_options(&s, 1), vec![Some(-50.0)]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn aggregates_of_a_series_and_of_an_array() {
        let f = aws_pair();
        assert_eq!(f.scalar("SUM(metric1)"), 50.0);
        assert_eq!(f.scalar("AVG(metric1)"), 12.5);
        assert_eq!(f.scalar("MAX(metric1)"), 30.0);
        assert_eq!(f.scalar("MIN(metric2)"), 20.0);
        assert_eq!(f.scalar("STDDEV(metric2)"), 0.0);
        // Population stddev of 30, 20, 0, 0: mean 12.5, variance (306.25+56.25+156.25+156.25)/4.
        assert_eq!(f.scalar("STDDEV(metric1)"), (675.0f64 / 4.0).sqrt());
        assert_eq!(f.scalar("DATAPOINT_COUNT(metric2)"), 2.0);
        assert_eq!(f.scalar("METRIC_COUNT(METRICS())"), 2.0);
        assert_eq!(
            as_options(&f.series("SUM([metric1, metric2])"), 4),
            vec![Some(50.0), Some(20.0), Some(20.0), Some(0.0)]
        );
        // Missing counts as 0 in AVG of an array.
        assert_eq!(
            as_options(&f.series("AVG(METRICS())"), 4),
            vec![Some(25.0), Some(10.0), Some(10.0), Some(0.0)]
        );
        // MIN/MAX use the values present.
        assert_eq!(
            as_options(&f.series("MIN(METRICS())"), 4),
            vec![Some(20.0), Some(20.0), Some(0.0), Some(0.0)]
        );
        assert_eq!(
            as_options(&f.series("MAX(METRICS())"), 4),
            vec![Some(30.0), Some(20.0), Some(20.0), Some(0.0)]
        );
        assert_eq!(
            as_options(&f.series("DATAPOINT_COUNT(METRICS())"), 4),
            vec![Some(2.0), Some(1.0), Some(2.0), Some(1.0)]
        );
        assert_eq!(
            as_options(&f.series("metric1 - AVG(metric1)"), 4),
            vec![Some(17.5), Some(7.5), Some(-12.5), Some(-12.5)]
        );
        assert!(matches!(f.run("SUM(5)"), Err(MathError::Type(_))));
    }

    #[test]
    fn metrics_filters_on_id_and_keeps_labels() {
        let f = Fixture::new(&[
            ("errors4xx", per_minute(&[Some(1.0)])),
            ("errors5xx", per_minute(&[Some(2.0)])),
            ("requests", per_minute(&[Some(10.0)])),
        ]);
        match f.run("METRICS(\"errors\")").unwrap() {
            Value::Array(members) => {
                let labels: Vec<&str> = members.iter().map(|(l, _)| l.as_str()).collect();
                assert_eq!(labels, vec!["label-errors4xx", "label-errors5xx"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            f.series("SUM(METRICS(\"errors\")) / SUM(METRICS(\"requests\")) * 100")
                .values,
            vec![30.0]
        );
        assert_eq!(
            f.series("SUM([METRICS(\"4xx\"), METRICS(\"5xx\")])").values,
            vec![3.0]
        );
        match f.run("METRICS() * 100").unwrap() {
            Value::Array(members) => {
                assert_eq!(
                    members.iter().map(|(_, s)| s.values[0]).collect::<Vec<_>>(),
                    vec![100.0, 200.0, 1000.0]
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(f.series("FIRST(METRICS())").values, vec![1.0]);
        assert_eq!(f.series("LAST(METRICS())").values, vec![10.0]);
        assert_eq!(f.series("FIRST(METRICS(\"none\"))"), Series::default());
        match f.run("[requests, errors4xx]").unwrap() {
            Value::Array(members) => assert_eq!(members[0].0, "label-requests"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn diff_rate_running_sum() {
        let f = Fixture::new(&[(
            "m1",
            series(&[(0, 10.0), (60_000, 16.0), (180_000, 10.0), (240_000, 13.0)]),
        )]);
        assert_eq!(
            f.series("DIFF(m1)"),
            series(&[(60_000, 6.0), (180_000, -6.0), (240_000, 3.0)])
        );
        assert_eq!(
            f.series("DIFF_TIME(m1)"),
            series(&[(60_000, 60.0), (180_000, 120.0), (240_000, 60.0)])
        );
        assert_eq!(
            f.series("RATE(m1)"),
            series(&[(60_000, 0.1), (180_000, -0.05), (240_000, 0.05)])
        );
        assert_eq!(
            f.series("RUNNING_SUM(m1)"),
            series(&[(0, 10.0), (60_000, 26.0), (180_000, 36.0), (240_000, 49.0)])
        );
    }

    #[test]
    fn fill_and_time_series_use_the_period_grid() {
        let f = Fixture::new(&[
            ("m1", per_minute(&[Some(1.0), None, None, Some(7.0), None])),
            (
                "m2",
                per_minute(&[Some(0.0), Some(0.0), Some(5.0), Some(0.0), Some(9.0)]),
            ),
        ]);
        assert_eq!(
            as_options(&f.series("FILL(m1, 0)"), 5),
            vec![Some(1.0), Some(0.0), Some(0.0), Some(7.0), Some(0.0)]
        );
        assert_eq!(
            as_options(&f.series("FILL(m1, REPEAT)"), 5),
            vec![Some(1.0), Some(1.0), Some(1.0), Some(7.0), Some(7.0)]
        );
        assert_eq!(
            as_options(&f.series("FILL(m1, LINEAR)"), 5),
            vec![Some(1.0), Some(3.0), Some(5.0), Some(7.0), None]
        );
        assert_eq!(
            as_options(&f.series("FILL(m1, m2)"), 5),
            vec![Some(1.0), Some(0.0), Some(5.0), Some(7.0), Some(9.0)]
        );
        assert_eq!(
            as_options(&f.series("FILL(m1, MIN(m2))"), 5),
            vec![Some(1.0), Some(0.0), Some(0.0), Some(7.0), Some(0.0)]
        );
        assert_eq!(as_options(&f.series("TIME_SERIES(4)"), 5), vec![Some(4.0); 5]);
        match f.run("FILL(METRICS(), 2)").unwrap() {
            Value::Array(members) => assert_eq!(as_options(&members[0].1, 5)[1], Some(2.0)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(f.run("REPEAT + 1"), Err(MathError::Type(_))));
    }

    #[test]
    fn element_wise_functions_drop_non_finite_points() {
        let f = Fixture::new(&[("m1", per_minute(&[Some(-4.0), Some(0.0), Some(100.0), Some(2.5)]))]);
        assert_eq!(
            as_options(&f.series("ABS(m1)"), 4),
            vec![Some(4.0), Some(0.0), Some(100.0), Some(2.5)]
        );
        assert_eq!(
            as_options(&f.series("CEIL(m1)"), 4),
            vec![Some(-4.0), Some(0.0), Some(100.0), Some(3.0)]
        );
        assert_eq!(
            as_options(&f.series("FLOOR(m1)"), 4),
            vec![Some(-4.0), Some(0.0), Some(100.0), Some(2.0)]
        );
        assert_eq!(
            as_options(&f.series("LOG10(m1)"), 4),
            vec![None, None, Some(2.0), Some(2.5f64.log10())]
        );
        assert_eq!(
            as_options(&f.series("SQRT(m1)"), 4),
            vec![None, Some(0.0), Some(10.0), Some(2.5f64.sqrt())]
        );
        assert_eq!(as_options(&f.series("LOG(m1)"), 4)[2], Some(100.0f64.ln()));
        assert_eq!(f.scalar("ABS(-3)"), 3.0);
        match f.run("REMOVE_EMPTY([m1, LOG(m1 - 1000)])").unwrap() {
            Value::Array(members) => assert_eq!(members.len(), 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn referenced_ids_in_order() {
        let expr = parse("SUM([m1, e2]) / m1 + IF(m3 > 1, e2, 0)").unwrap();
        assert_eq!(expr.referenced_ids(), vec!["m1", "e2", "m3"]);
        assert!(parse("METRICS() * 2").unwrap().referenced_ids().is_empty());
    }

    #[test]
    fn errors_are_clear() {
        let f = aws_pair();
        assert_eq!(parse(""), Err(MathError::Empty));
        assert_eq!(parse("  "), Err(MathError::Empty));
        assert_eq!(
            parse("FOO(m1)").unwrap_err().to_string(),
            "unknown function 'FOO' at position 0"
        );
        assert_eq!(
            f.run("m9 + 1").unwrap_err().to_string(),
            "unknown id 'm9': no query in the request has that id"
        );
        assert_eq!(
            parse("ABS(m1, m2)").unwrap_err().to_string(),
            "ABS takes 1 argument(s), not 2"
        );
        assert_eq!(
            parse("m1 +").unwrap_err().to_string(),
            "syntax error at position 4: expected a number, an id, a function or '(', found the end of the expression"
        );
        assert!(matches!(
            parse("m1 $ 2"),
            Err(MathError::Syntax { position: 3, .. })
        ));
        assert!(matches!(parse("(m1"), Err(MathError::Syntax { position: 3, .. })));
        assert!(matches!(
            parse("m1 m2"),
            Err(MathError::Syntax { position: 3, .. })
        ));
        assert!(matches!(
            parse("METRICS(\"x)"),
            Err(MathError::Syntax { position: 8, .. })
        ));
        assert!(matches!(
            parse("SUM m1"),
            Err(MathError::Syntax { position: 0, .. })
        ));
        assert!(matches!(parse("Avg(m1)"), Err(MathError::UnknownFunction { .. })));
        assert!(matches!(parse(&"x".repeat(3000)), Err(MathError::TooLong { .. })));
        let nested = format!("{}m1{}", "(".repeat(100), ")".repeat(100));
        assert!(matches!(parse(&nested), Err(MathError::TooDeep { .. })));
        let chain = vec!["m1"; 400].join("+");
        assert!(matches!(parse(&chain), Err(MathError::TooDeep { .. })));
        let ok_chain = vec!["m1"; 100].join("+");
        assert!(parse(&ok_chain).is_ok());
        assert!(matches!(f.run("[metric1] + [metric2]"), Err(MathError::Type(_))));
        assert!(matches!(f.run("[1, metric1]"), Err(MathError::Type(_))));
        assert!(matches!(f.run("METRICS(metric1)"), Err(MathError::Type(_))));
    }

    #[test]
    fn grid_too_large_is_an_error() {
        let f = Fixture::new(&[("m1", series(&[(0, 1.0), (u64::MAX / 2, 2.0)]))]);
        assert!(matches!(
            f.run("FILL(m1, 0)"),
            Err(MathError::GridTooLarge { .. })
        ));
        assert_eq!(f.series("m1 * 2").values, vec![2.0, 4.0]);
    }

    #[test]
    fn unsorted_input_is_normalized() {
        let unsorted = Series {
            timestamps_ms: vec![120_000, 0, 60_000, 0],
            values: vec![3.0, 1.0, 2.0, 9.0],
        };
        let f = Fixture::new(&[("m1", unsorted)]);
        assert_eq!(f.series("m1 + 0").timestamps_ms, vec![0, 60_000, 120_000]);
        let ragged = Series {
            timestamps_ms: vec![0, 60_000],
            values: vec![1.0],
        };
        let f = Fixture::new(&[("m1", ragged)]);
        assert_eq!(f.series("m1 * 1"), series(&[(0, 1.0)]));
    }

    #[test]
    fn supported_functions_cover_every_function() {
        for (_, name, _, _, _) in FUNCTIONS {
            assert!(
                SUPPORTED_FUNCTIONS
                    .iter()
                    .any(|(syntax, _)| syntax.contains(name)),
                "{name} is missing from SUPPORTED_FUNCTIONS"
            );
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,80}") {
            let _ = parse(&text);
        }

        #[test]
        fn parse_and_evaluate_never_panic_on_expression_like_text(
            text in "((m1|m2|METRICS\\(\\)|SUM|AVG|IF|FILL|RATE|DIFF|REPEAT|LINEAR|TIME_SERIES|\"m\")|[-+*/^<>=!&|(),\\[\\] 0-9.]){0,25}"
        ) {
            if let Ok(expr) = parse(&text) {
                let f = Fixture::new(&[
                    ("m1", per_minute(&[Some(1.0), None, Some(0.0)])),
                    ("m2", per_minute(&[Some(-2.0), Some(3.0)])),
                ]);
                let lookup = |id: &str| f.metrics.iter().find(|(i, _, _)| i == id).map(|(_, _, s)| Value::Series(s.clone()));
                let context = MathContext { series: &lookup, all_metrics: &f.metrics, period_s: 60 };
                let _ = evaluate(&expr, &context);
            }
        }

        #[test]
        fn series_arithmetic_keeps_timestamps_ascending(
            a in prop::collection::btree_map(0u64..50, -100.0f64..100.0, 0..20),
            b in prop::collection::btree_map(0u64..50, -100.0f64..100.0, 0..20),
        ) {
            let f = Fixture::new(&[
                ("m1", Series::new(a.iter().map(|(&t, &v)| (t * MIN_MS, v)))),
                ("m2", Series::new(b.iter().map(|(&t, &v)| (t * MIN_MS, v)))),
            ]);
            let out = f.series("m1 / m2 + m1 * m2");
            prop_assert!(out.timestamps_ms.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(out.values.iter().all(|v| v.is_finite()));
            prop_assert_eq!(out.timestamps_ms.len(), out.values.len());
        }
    }
}
