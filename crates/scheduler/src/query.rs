//! The ECS cluster query language: a parser into a precompiled [`Expr`] and its evaluator.
//!
//! Used by `memberOf` placement constraints and `ListContainerInstances --filter`. Parsing validates
//! everything up front (subjects, operators, list syntax, the 2000-character limit) so evaluation
//! never fails and never allocates for string and numeric comparisons. This module must not know
//! about placement: it evaluates against any [`InstanceView`].

use std::cmp::Ordering;

/// The longest expression AWS accepts, in characters.
pub const MAX_EXPRESSION_CHARS: usize = 2000;

/// A syntax error; the message is suitable for an AWS `InvalidParameterException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid query expression at position {position}: {message}")]
pub struct QueryError {
    /// 0-based character offset in the expression where the problem was found.
    pub position: usize,
    /// What was expected and what was found.
    pub message: String,
}

/// What a query is evaluated against: one container instance.
pub trait InstanceView {
    /// `None` if the attribute is absent, `Some(None)` if present without a value.
    fn attribute(&self, name: &str) -> Option<Option<&str>>;
    fn ec2_instance_id(&self) -> &str;
    fn agent_connected(&self) -> bool;
    fn agent_version(&self) -> &str;
    fn registered_at_ms(&self) -> u64;
    fn running_tasks_count(&self) -> u32;
    /// Whether any task group with at least one running task on this instance satisfies `pred`.
    fn any_task_group(&self, pred: &mut dyn FnMut(&str) -> bool) -> bool;
}

/// The left-hand side of a predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    AgentConnected,
    AgentVersion,
    Attribute(String),
    Ec2InstanceId,
    RegisteredAt,
    RunningTasksCount,
    TaskGroup,
}

/// A comparison operator; negated forms are evaluated as `!positive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    NotIn,
    Matches,
    NotMatches,
    Exists,
    NotExists,
}

/// A literal on the right-hand side, with its numeric reading precomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub text: String,
    /// The value as a number, if it reads as one (dates for `registeredAt` become epoch ms).
    pub number: Option<f64>,
}

/// A compiled expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Predicate {
        subject: Subject,
        op: Op,
        values: Vec<Value>,
    },
}

impl Expr {
    /// Whether `instance` satisfies the expression.
    pub fn matches(&self, instance: &impl InstanceView) -> bool {
        self.eval(instance)
    }

    fn eval<V: InstanceView>(&self, inst: &V) -> bool {
        match self {
            Expr::And(a, b) => a.eval(inst) && b.eval(inst),
            Expr::Or(a, b) => a.eval(inst) || b.eval(inst),
            Expr::Not(a) => !a.eval(inst),
            Expr::Predicate { subject, op, values } => eval_predicate(subject, *op, values, inst),
        }
    }

    /// Whether the result can change as tasks are placed (it reads `task:group` or
    /// `runningTasksCount`); otherwise it can be evaluated once per instance per request.
    pub fn depends_on_tasks(&self) -> bool {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => a.depends_on_tasks() || b.depends_on_tasks(),
            Expr::Not(a) => a.depends_on_tasks(),
            Expr::Predicate { subject, .. } => {
                matches!(subject, Subject::TaskGroup | Subject::RunningTasksCount)
            }
        }
    }
}

fn positive(op: Op) -> (Op, bool) {
    match op {
        Op::Ne => (Op::Eq, true),
        Op::NotIn => (Op::In, true),
        Op::NotMatches => (Op::Matches, true),
        Op::NotExists => (Op::Exists, true),
        other => (other, false),
    }
}

fn eval_predicate<V: InstanceView>(subject: &Subject, op: Op, values: &[Value], inst: &V) -> bool {
    let (op, negate) = positive(op);
    let result = match subject {
        Subject::Attribute(name) => match inst.attribute(name) {
            None => false,
            Some(None) => op == Op::Exists,
            Some(Some(v)) => op == Op::Exists || test_str(v, op, values),
        },
        Subject::Ec2InstanceId => test_present_str(inst.ec2_instance_id(), op, values),
        Subject::AgentVersion => test_present_str(inst.agent_version(), op, values),
        Subject::AgentConnected => {
            test_present_str(if inst.agent_connected() { "true" } else { "false" }, op, values)
        }
        Subject::RegisteredAt => op == Op::Exists || test_num(inst.registered_at_ms() as f64, op, values),
        Subject::RunningTasksCount => {
            op == Op::Exists || test_num(f64::from(inst.running_tasks_count()), op, values)
        }
        Subject::TaskGroup => inst.any_task_group(&mut |g| op == Op::Exists || test_str(g, op, values)),
    };
    result != negate
}

fn test_present_str(v: &str, op: Op, values: &[Value]) -> bool {
    if v.is_empty() {
        return false;
    }
    op == Op::Exists || test_str(v, op, values)
}

/// `op` is a positive operator other than `Exists`.
fn test_str(v: &str, op: Op, values: &[Value]) -> bool {
    match op {
        Op::In => values.iter().any(|x| compare_str(v, x) == Ordering::Equal),
        Op::Matches => values.iter().any(|x| wildcard_match(&x.text, v)),
        _ => values
            .first()
            .is_some_and(|x| ordering_satisfies(op, compare_str(v, x))),
    }
}

fn test_num(v: f64, op: Op, values: &[Value]) -> bool {
    let cmp = |x: &Value| match x.number {
        Some(n) => v.partial_cmp(&n).unwrap_or(Ordering::Less),
        None => format_number(v).as_str().cmp(x.text.as_str()),
    };
    match op {
        Op::In => values.iter().any(|x| cmp(x) == Ordering::Equal),
        Op::Matches => values.iter().any(|x| wildcard_match(&x.text, &format_number(v))),
        _ => values.first().is_some_and(|x| ordering_satisfies(op, cmp(x))),
    }
}

fn format_number(v: f64) -> String {
    format!("{v}")
}

fn ordering_satisfies(op: Op, ord: Ordering) -> bool {
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        _ => false,
    }
}

/// Numeric when both sides read as numbers, then dotted versions (`1.10.2` > `1.9.0`), else
/// lexicographic.
fn compare_str(v: &str, x: &Value) -> Ordering {
    if let (Some(a), Some(b)) = (read_number(v), x.number) {
        return a.partial_cmp(&b).unwrap_or(Ordering::Less);
    }
    if let Some(ord) = compare_versions(v, &x.text) {
        return ord;
    }
    v.cmp(&x.text)
}

fn compare_versions(a: &str, b: &str) -> Option<Ordering> {
    fn is_version(s: &str) -> bool {
        s.contains('.')
            && s.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
    }
    if !is_version(a) || !is_version(b) {
        return None;
    }
    let mut xs = a.split('.');
    let mut ys = b.split('.');
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Some(Ordering::Equal),
            (Some(_), None) => return Some(Ordering::Greater),
            (None, Some(_)) => return Some(Ordering::Less),
            (Some(x), Some(y)) => {
                let x = x.trim_start_matches('0');
                let y = y.trim_start_matches('0');
                let ord = x.len().cmp(&y.len()).then_with(|| x.cmp(y));
                if ord != Ordering::Equal {
                    return Some(ord);
                }
            }
        }
    }
}

/// A decimal number (`12`, `-3.5`, `1e3`); never `inf`/`nan`.
pub(crate) fn read_number(s: &str) -> Option<f64> {
    let first = *s.as_bytes().first()?;
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return None;
    }
    if !s
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// `*` matches any run of characters (including none); everything else matches itself.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    AndAnd,
    OrOr,
    Bang,
    Op(Op),
    Word(String),
}

fn describe(tok: Option<&(usize, Tok)>) -> String {
    match tok {
        None => "end of expression".to_string(),
        Some((_, t)) => match t {
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::LBracket => "'['".into(),
            Tok::RBracket => "']'".into(),
            Tok::Comma => "','".into(),
            Tok::AndAnd => "'&&'".into(),
            Tok::OrOr => "'||'".into(),
            Tok::Bang => "'!'".into(),
            Tok::Op(op) => format!("operator '{}'", op_text(*op)),
            Tok::Word(w) => format!("'{w}'"),
        },
    }
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq => "==",
        Op::Ne => "!=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::In => "in",
        Op::NotIn => "!in",
        Op::Matches => "=~",
        Op::NotMatches => "!~",
        Op::Exists => "exists",
        Op::NotExists => "!exists",
    }
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '(' | ')' | '[' | ']' | ',' | '=' | '!' | '<' | '>' | '&' | '|')
}

fn lex(expr: &str) -> Result<Vec<(usize, Tok)>, QueryError> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |position: usize, message: String| Err(QueryError { position, message });
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let start = i;
        let tok = match (c, next) {
            (c, _) if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ('(', _) => Tok::LParen,
            (')', _) => Tok::RParen,
            ('[', _) => Tok::LBracket,
            (']', _) => Tok::RBracket,
            (',', _) => Tok::Comma,
            ('&', Some('&')) => Tok::AndAnd,
            ('|', Some('|')) => Tok::OrOr,
            ('=', Some('=')) => Tok::Op(Op::Eq),
            ('=', Some('~')) => Tok::Op(Op::Matches),
            ('!', Some('=')) => Tok::Op(Op::Ne),
            ('!', Some('~')) => Tok::Op(Op::NotMatches),
            ('>', Some('=')) => Tok::Op(Op::Ge),
            ('<', Some('=')) => Tok::Op(Op::Le),
            ('>', _) => Tok::Op(Op::Gt),
            ('<', _) => Tok::Op(Op::Lt),
            ('!', _) => Tok::Bang,
            ('&' | '|' | '=', _) => {
                return err(
                    i,
                    format!("unexpected character '{c}'; expected '&&', '||', '==' or '=~'"),
                );
            }
            _ => {
                let mut j = i;
                while j < chars.len() && is_word_char(chars[j]) {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect();
                i = j;
                out.push((start, Tok::Word(word)));
                continue;
            }
        };
        i += match tok {
            Tok::AndAnd
            | Tok::OrOr
            | Tok::Op(Op::Eq | Op::Matches | Op::Ne | Op::NotMatches | Op::Ge | Op::Le) => 2,
            _ => 1,
        };
        out.push((start, tok));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Parser

/// Parses and compiles a cluster query expression.
pub fn parse(expr: &str) -> Result<Expr, QueryError> {
    let len = expr.chars().count();
    if len > MAX_EXPRESSION_CHARS {
        return Err(QueryError {
            position: MAX_EXPRESSION_CHARS,
            message: format!(
                "expression is {len} characters long; at most {MAX_EXPRESSION_CHARS} are allowed"
            ),
        });
    }
    let toks = lex(expr)?;
    let mut p = Parser {
        toks,
        pos: 0,
        end: len,
    };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err(p.error("'and', 'or' or end of expression"));
    }
    Ok(e)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
}

fn keyword(t: Option<&(usize, Tok)>, kw: &str) -> bool {
    matches!(t, Some((_, Tok::Word(w))) if w.eq_ignore_ascii_case(kw))
}

impl Parser {
    fn peek(&self) -> Option<&(usize, Tok)> {
        self.toks.get(self.pos)
    }

    fn peek_at(&self, ahead: usize) -> Option<&(usize, Tok)> {
        self.toks.get(self.pos + ahead)
    }

    fn error(&self, expected: &str) -> QueryError {
        let tok = self.peek();
        QueryError {
            position: tok.map_or(self.end, |(p, _)| *p),
            message: format!("expected {expected}, found {}", describe(tok)),
        }
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.and()?;
        while matches!(self.peek(), Some((_, Tok::OrOr))) || keyword(self.peek(), "or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.unary()?;
        while matches!(self.peek(), Some((_, Tok::AndAnd))) || keyword(self.peek(), "and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if matches!(self.peek(), Some((_, Tok::Bang))) || keyword(self.peek(), "not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if matches!(self.peek(), Some((_, Tok::LParen))) {
            self.pos += 1;
            let e = self.or()?;
            if !matches!(self.peek(), Some((_, Tok::RParen))) {
                return Err(self.error("')'"));
            }
            self.pos += 1;
            return Ok(e);
        }
        self.predicate()
    }

    fn subject(&mut self) -> Result<Subject, QueryError> {
        const EXPECTED: &str = "a subject (agentConnected, agentVersion, attribute:<name>, ec2InstanceId, \
                                registeredAt, runningTasksCount or task:group)";
        let Some((_, Tok::Word(w))) = self.peek() else {
            return Err(self.error(EXPECTED));
        };
        let subject = match w.as_str() {
            "agentConnected" => Subject::AgentConnected,
            "agentVersion" => Subject::AgentVersion,
            "ec2InstanceId" => Subject::Ec2InstanceId,
            "registeredAt" => Subject::RegisteredAt,
            "runningTasksCount" => Subject::RunningTasksCount,
            "task:group" => Subject::TaskGroup,
            w => match w.strip_prefix("attribute:") {
                Some(name) if !name.is_empty() => Subject::Attribute(name.to_string()),
                Some(_) => return Err(self.error("an attribute name after 'attribute:'")),
                None => return Err(self.error(EXPECTED)),
            },
        };
        self.pos += 1;
        Ok(subject)
    }

    fn op(&mut self) -> Result<Op, QueryError> {
        const EXPECTED: &str = "an operator (==, !=, >, >=, <, <=, in, !in, not in, =~, !~, exists, !exists)";
        let op = match self.peek() {
            Some((_, Tok::Op(op))) => *op,
            Some((_, Tok::Bang)) if keyword(self.peek_at(1), "in") => {
                self.pos += 1;
                Op::NotIn
            }
            Some((_, Tok::Bang)) if keyword(self.peek_at(1), "exists") => {
                self.pos += 1;
                Op::NotExists
            }
            t if keyword(t, "not") && keyword(self.peek_at(1), "in") => {
                self.pos += 1;
                Op::NotIn
            }
            t if keyword(t, "in") => Op::In,
            t if keyword(t, "exists") => Op::Exists,
            _ => return Err(self.error(EXPECTED)),
        };
        self.pos += 1;
        Ok(op)
    }

    fn value(&mut self, subject: &Subject) -> Result<Value, QueryError> {
        let Some((_, Tok::Word(w))) = self.peek() else {
            return Err(self.error("a value"));
        };
        let text = w.clone();
        self.pos += 1;
        let number = match subject {
            Subject::RegisteredAt => read_number(&text).or_else(|| parse_date_ms(&text)),
            _ => read_number(&text),
        };
        Ok(Value { text, number })
    }

    fn predicate(&mut self) -> Result<Expr, QueryError> {
        let subject = self.subject()?;
        let op = self.op()?;
        let values = match op {
            Op::Exists | Op::NotExists => Vec::new(),
            Op::In | Op::NotIn => {
                if !matches!(self.peek(), Some((_, Tok::LBracket))) {
                    return Err(self.error("'[' to start a list"));
                }
                self.pos += 1;
                let mut values = vec![self.value(&subject)?];
                loop {
                    match self.peek() {
                        Some((_, Tok::Comma)) => {
                            self.pos += 1;
                            values.push(self.value(&subject)?);
                        }
                        Some((_, Tok::RBracket)) => {
                            self.pos += 1;
                            break;
                        }
                        _ => return Err(self.error("',' or ']'")),
                    }
                }
                values
            }
            _ => vec![self.value(&subject)?],
        };
        Ok(Expr::Predicate { subject, op, values })
    }
}

/// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS[.fff]Z` (UTC) as milliseconds since the Unix epoch.
fn parse_date_ms(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, m, d) * 86_400_000;
    if b.len() > 10 {
        if b.len() < 19 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (hh, mm, ss) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
        if hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
        ms += ((hh * 60 + mm) * 60 + ss) * 1000;
        let mut rest = &s[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let n = frac.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return None;
            }
            let milli: String = frac[..n].chars().chain("000".chars()).take(3).collect();
            ms += milli.parse::<i64>().ok()?;
            rest = &frac[n..];
        }
        if !(rest.is_empty() || rest == "Z") {
            return None;
        }
    }
    Some(ms as f64)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests;
