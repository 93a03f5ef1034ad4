//! Just enough JSON: checks that a document is well formed and reads the string-valued fields of
//! a top-level object (other values are validated and skipped).

/// A recursive-descent reader over a JSON text.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

/// Deepest nesting accepted.
const MAX_DEPTH: usize = 128;

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        Reader {
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
        }
    }

    fn error(&self, what: &str) -> String {
        format!("{what} at byte {}", self.pos)
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected '{}'", byte as char)))
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| self.error("bad \\u escape"))?;
        self.pos += 4;
        Ok(digits)
    }

    /// Reads a string (the opening quote is next) and decodes its escapes.
    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(self.error("unterminated string"));
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.error("unterminated escape"));
                    };
                    self.pos += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    return Err(self.error("unpaired surrogate"));
                                }
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.error("unpaired surrogate"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            char::from_u32(code).ok_or_else(|| self.error("unpaired surrogate"))?
                        }
                        _ => return Err(self.error("bad escape")),
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0..0x20 => return Err(self.error("control character in string")),
                _ => out.push(b),
            }
        }
        // The input is a &str and only whole escapes were replaced: still valid UTF-8.
        String::from_utf8(out).map_err(|_| self.error("invalid UTF-8"))
    }

    fn number(&mut self) -> Result<(), String> {
        let start = self.pos;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.peek() {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or("");
        let digits_ok = text
            .trim_start_matches('-')
            .starts_with(|c: char| c.is_ascii_digit());
        if digits_ok && text.parse::<f64>().is_ok() {
            Ok(())
        } else {
            Err(self.error("bad number"))
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), String> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("bad literal"))
        }
    }

    /// Reads any value; returns it when it is a string.
    fn value(&mut self) -> Result<Option<String>, String> {
        self.skip_ws();
        match self.peek() {
            Some(b'"') => return self.string().map(Some),
            Some(b'{') => self.object(|_, _| {})?,
            Some(b'[') => self.array()?,
            Some(b't') => self.literal(b"true")?,
            Some(b'f') => self.literal(b"false")?,
            Some(b'n') => self.literal(b"null")?,
            Some(_) => self.number()?,
            None => return Err(self.error("unexpected end")),
        }
        Ok(None)
    }

    fn nest(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        Ok(())
    }

    /// Reads an object, handing each string-valued member to `field`.
    fn object(&mut self, mut field: impl FnMut(String, String)) -> Result<(), String> {
        self.nest()?;
        self.expect(b'{')?;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':')?;
            if let Some(v) = self.value()? {
                field(key, v);
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self) -> Result<(), String> {
        self.nest()?;
        self.expect(b'[')?;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            self.value()?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn end(&mut self) -> Result<(), String> {
        self.skip_ws();
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(self.error("trailing characters"))
        }
    }
}

/// Checks that `text` is one well-formed JSON value.
pub fn validate(text: &str) -> Result<(), String> {
    let mut r = Reader::new(text);
    r.value()?;
    r.end()
}

/// The string-valued members of the top-level object `text`, in document order.
pub fn top_level_strings(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut r = Reader::new(text);
    r.skip_ws();
    let mut fields = Vec::new();
    r.object(|k, v| fields.push((k, v)))?;
    r.end()?;
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_top_level_string_fields() {
        let fields = top_level_strings(
            r#" { "a" : "x\u00e9\ud83d\ude00\n", "n": -1.5e3, "o": {"a": "inner", "l": [1, true, null, "s"]}, "b":"ü" } "#,
        )
        .unwrap();
        assert_eq!(
            fields,
            vec![
                ("a".to_string(), "xé😀\n".to_string()),
                ("b".to_string(), "ü".to_string())
            ]
        );
        assert_eq!(top_level_strings("{}").unwrap(), vec![]);
    }

    #[test]
    fn validates_documents() {
        for ok in [r#"{"a":[1,2,{"b":null}]}"#, "[]", "\"s\"", "0", "-0.5", "true"] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "{",
            r#"{"a" 1}"#,
            r#"{"a":1,}"#,
            "[1 2]",
            "tru",
            "01x",
            "-",
            r#""\x""#,
            "\"a\u{1}\"",
            r#""\ud800""#,
            "{} {}",
            "not json",
        ] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
        assert!(validate(&"[".repeat(1000)).is_err());
        assert!(top_level_strings("[]").is_err());
    }
}
