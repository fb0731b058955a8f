//! Python literals as JSON: exports written with Python's `str(dict)` instead of `json.dumps`
//! (Amazon's published product Q&A sets: `{'asin': 'B0001', 'question': "Isn't it loud?"}`).
//! Only literals are read — dicts, lists, tuples, strings in either quote, numbers, `True`,
//! `False`, `None` — as `ast.literal_eval` would; anything else is an error, never evaluated.

use serde_json::{Map, Number, Value};

/// Deeper nesting is refused, so a hostile line cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// Reads one Python literal (surrounding whitespace allowed) as a JSON value.
pub(crate) fn parse(text: &str) -> Result<Value, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
    };
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected text at byte {}", p.i));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.i))
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return self.err("nested too deeply");
        }
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => self.dict(depth),
            Some(b'[') => self.seq(b']', depth),
            Some(b'(') => self.seq(b')', depth),
            Some(b'\'' | b'"') => self.string().map(Value::String),
            Some(c) if c.is_ascii_digit() || *c == b'-' || *c == b'+' || *c == b'.' => self.number(),
            Some(_) => self.word(),
            None => self.err("unexpected end"),
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Value, String> {
        self.i += 1;
        let mut map = Map::new();
        loop {
            self.ws();
            if self.s.get(self.i) == Some(&b'}') {
                self.i += 1;
                return Ok(Value::Object(map));
            }
            let key = match self.value(depth + 1)? {
                Value::String(s) => s,
                other => other.to_string(),
            };
            self.ws();
            if self.s.get(self.i) != Some(&b':') {
                return self.err("expected ':'");
            }
            self.i += 1;
            let v = self.value(depth + 1)?;
            map.insert(key, v);
            if !self.comma_or(b'}')? {
                return Ok(Value::Object(map));
            }
        }
    }

    fn seq(&mut self, close: u8, depth: usize) -> Result<Value, String> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.ws();
            if self.s.get(self.i) == Some(&close) {
                self.i += 1;
                return Ok(Value::Array(items));
            }
            items.push(self.value(depth + 1)?);
            if !self.comma_or(close)? {
                return Ok(Value::Array(items));
            }
        }
    }

    /// After an item: true on a comma (more may follow), false after consuming `close`.
    fn comma_or(&mut self, close: u8) -> Result<bool, String> {
        self.ws();
        match self.s.get(self.i) {
            Some(b',') => {
                self.i += 1;
                Ok(true)
            }
            Some(c) if *c == close => {
                self.i += 1;
                Ok(false)
            }
            _ => self.err("expected ',' or a closing bracket"),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = self.s[self.i];
        self.i += 1;
        let mut out = String::new();
        let mut start = self.i;
        while self.i < self.s.len() {
            match self.s[self.i] {
                c if c == quote => {
                    out.push_str(&self.text[start..self.i]);
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(&self.text[start..self.i]);
                    self.escape(&mut out)?;
                    start = self.i;
                }
                _ => self.i += 1,
            }
        }
        self.err("unclosed string")
    }

    fn escape(&mut self, out: &mut String) -> Result<(), String> {
        self.i += 1;
        let Some(&c) = self.s.get(self.i) else {
            return self.err("unfinished escape");
        };
        self.i += 1;
        let hex = |p: &mut Self, n: usize| -> Result<char, String> {
            let digits = p.text.get(p.i..p.i + n).ok_or("unfinished escape")?;
            let code = u32::from_str_radix(digits, 16).map_err(|_| format!("bad escape at byte {}", p.i))?;
            p.i += n;
            Ok(char::from_u32(code).unwrap_or('\u{fffd}'))
        };
        match c {
            b'n' => out.push('\n'),
            b't' => out.push('\t'),
            b'r' => out.push('\r'),
            b'0' => out.push('\0'),
            b'x' => out.push(hex(self, 2)?),
            b'u' => out.push(hex(self, 4)?),
            b'U' => out.push(hex(self, 8)?),
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(c as char),
            // Python keeps an unknown escape as written.
            _ => {
                out.push('\\');
                self.i -= 1;
            }
        }
        Ok(())
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        while self.i < self.s.len() && matches!(self.s[self.i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E' | b'_') {
            self.i += 1;
        }
        let t = self.text[start..self.i].replace('_', "");
        if let Ok(n) = t.parse::<i64>() {
            return Ok(Value::Number(n.into()));
        }
        match t.parse::<f64>().ok().and_then(Number::from_f64) {
            Some(n) => Ok(Value::Number(n)),
            None => Err(format!("'{t}' is not a number")),
        }
    }

    fn word(&mut self) -> Result<Value, String> {
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_alphanumeric() {
            self.i += 1;
        }
        match &self.text[start..self.i] {
            "True" => Ok(Value::Bool(true)),
            "False" => Ok(Value::Bool(false)),
            "None" => Ok(Value::Null),
            "" => self.err("unexpected character"),
            w => Err(format!("'{w}' is not a Python literal")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amazon_qa_lines() {
        let v = parse(r#"{'questionType': 'yes/no', 'asin': 'B00004U9JP', 'question': "Isn't it loud?", 'unixTime': 1407999600, 'answer': 'No\'s fine \u00e9'}"#).unwrap();
        assert_eq!(v["question"], "Isn't it loud?");
        assert_eq!(v["unixTime"], 1407999600);
        assert_eq!(v["answer"], "No's fine é");
        assert_eq!(v["asin"], "B00004U9JP");
    }

    #[test]
    fn nested_and_constants() {
        let v = parse("{'a': [1, 2.5, (3,)], 'b': {'c': None, 'd': True, 'e': False}, 'f': -4}").unwrap();
        assert_eq!(v["a"][1], 2.5);
        assert_eq!(v["a"][2][0], 3);
        assert!(v["b"]["c"].is_null());
        assert_eq!(v["b"]["d"], true);
        assert_eq!(v["f"], -4);
    }

    #[test]
    fn refuses_what_is_not_a_literal() {
        for bad in [
            "{'a': __import__('os')}",
            "{'a': 1",
            "{'a' 1}",
            "{'a': 'open}",
            "{'a': 1} trailing",
            &"[".repeat(100),
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
