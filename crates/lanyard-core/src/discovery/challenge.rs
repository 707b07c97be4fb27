//! RFC 9110 §11.6.1 `WWW-Authenticate` parsing: several challenges in one header, quoted
//! strings with escapes, commas inside quotes, token68, any case for scheme and parameter names.
//!
//! ```text
//! WWW-Authenticate = #challenge
//! challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param = token BWS "=" BWS ( token / quoted-string )
//! token68    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! ```
//! The parser is total: any byte string gives a (possibly empty) list of challenges and never
//! panics or loops; junk between challenges is skipped up to the next comma.

use serde::{Deserialize, Serialize};

/// The `Bearer` challenge's parameters that MCP authorization uses (RFC 6750, RFC 9728 §5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BearerChallenge {
    pub realm: Option<String>,
    /// RFC 9728 `resource_metadata`: where the Protected Resource Metadata lives.
    pub resource_metadata: Option<String>,
    /// Space-separated scopes the server wants (used first when choosing scopes).
    pub scope: Option<String>,
    /// `invalid_token`, `insufficient_scope`, …
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// The server challenged with the `DPoP` scheme (RFC 9449 §7.1), alone or next to
    /// `Bearer`: it takes DPoP-bound tokens.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop: bool,
}

impl BearerChallenge {
    /// The first `Bearer` challenge among all the given `WWW-Authenticate` header values
    /// (scheme compared case-insensitively), else the first `DPoP` one (RFC 9449 §7.1: a
    /// server that takes only DPoP-bound tokens challenges with that scheme, with the same
    /// parameters), or `None` when there is neither.
    pub fn from_headers<S: AsRef<str>>(values: &[S]) -> Option<BearerChallenge> {
        let all: Vec<Challenge> = values
            .iter()
            .flat_map(|v| parse_challenges(v.as_ref()))
            .collect();
        let scheme = |name: &str| {
            all.iter()
                .find(move |c| c.scheme.eq_ignore_ascii_case(name))
        };
        let dpop = scheme("dpop").is_some();
        scheme("bearer")
            .or_else(|| scheme("dpop"))
            .map(|c| BearerChallenge {
                dpop,
                realm: c.param("realm").map(str::to_owned),
                resource_metadata: c.param("resource_metadata").map(str::to_owned),
                scope: c.param("scope").map(str::to_owned),
                error: c.param("error").map(str::to_owned),
                error_description: c.param("error_description").map(str::to_owned),
            })
    }

    /// The first `Bearer` challenge of one header value.
    pub fn parse(header: &str) -> Option<BearerChallenge> {
        Self::from_headers(&[header])
    }

    /// The requested scopes, split on whitespace (empty when absent).
    pub fn scopes(&self) -> Vec<String> {
        self.scope
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
}

/// One parsed challenge of any scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// As sent (compare with `eq_ignore_ascii_case`).
    pub scheme: String,
    pub token68: Option<String>,
    /// Parameter names lower-cased, values unquoted and unescaped, in order.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The first value of a parameter (name compared case-insensitively).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Every challenge of one `WWW-Authenticate` value. Several header lines are equivalent to
/// their values joined with commas, so callers may parse each and concatenate.
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut p = Parser {
        s: header.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        p.skip_ows_and_commas();
        if p.eof() {
            break;
        }
        let Some(scheme) = p.token() else {
            // Not a challenge start: skip this junk up to the next comma (always progresses).
            if p.peek() == Some(b'"') {
                p.quoted_string();
            } else {
                p.i += 1;
            }
            p.skip_to_comma();
            continue;
        };
        let mut ch = Challenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        let had_space = p.skip_ws() > 0;
        if had_space && !p.eof() && p.peek() != Some(b',') {
            if let Some(t) = p.token68() {
                ch.token68 = Some(t);
                p.skip_ws();
                if !p.eof() && p.peek() != Some(b',') {
                    p.skip_to_comma();
                }
            } else {
                p.params(&mut ch.params);
            }
        } else if !p.eof() && p.peek() != Some(b',') {
            // Scheme glued to junk (`Bearer"x"`): ignore the rest of this element.
            p.skip_to_comma();
        }
        out.push(ch);
    }
    out
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

impl Parser<'_> {
    fn eof(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip_ws(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
        self.i - start
    }
    fn skip_ows_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }
    /// Skip to the next comma that is not inside a quoted string (or to the end).
    fn skip_to_comma(&mut self) {
        let mut in_quotes = false;
        while let Some(b) = self.peek() {
            match b {
                b'\\' if in_quotes => self.i += 1,
                b'"' => in_quotes = !in_quotes,
                b',' if !in_quotes => return,
                _ => {}
            }
            self.i += 1;
        }
        self.i = self.i.min(self.s.len());
    }
    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    /// A token68 when the element is exactly one (followed by end or comma); else nothing
    /// is consumed.
    fn token68(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_token68_char) {
            self.i += 1;
        }
        if self.i == start {
            return None;
        }
        while self.peek() == Some(b'=') {
            self.i += 1;
        }
        let end = self.i;
        self.skip_ws();
        if self.eof() || self.peek() == Some(b',') {
            Some(String::from_utf8_lossy(&self.s[start..end]).into_owned())
        } else {
            self.i = start;
            None
        }
    }
    fn quoted_string(&mut self) -> String {
        debug_assert_eq!(self.peek(), Some(b'"'));
        self.i += 1;
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.i += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    /// `#auth-param` until the list ends or the next challenge starts.
    fn params(&mut self, params: &mut Vec<(String, String)>) {
        loop {
            let save = self.i;
            let Some(name) = self.token() else {
                self.skip_to_comma();
                return;
            };
            self.skip_ws();
            if self.peek() != Some(b'=') {
                // `Scheme ...` of the next challenge.
                self.i = save;
                return;
            }
            self.i += 1;
            self.skip_ws();
            let value = if self.peek() == Some(b'"') {
                self.quoted_string()
            } else {
                self.token().unwrap_or_default()
            };
            params.push((name.to_ascii_lowercase(), value));
            self.skip_ws();
            if self.eof() {
                return;
            }
            if self.peek() != Some(b',') {
                self.skip_to_comma();
            }
            self.skip_ows_and_commas();
            // Another parameter, or the next challenge?
            let save = self.i;
            let is_param = self.token().is_some() && {
                self.skip_ws();
                self.peek() == Some(b'=')
            };
            self.i = save;
            if !is_param {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mcp_gateway_header() {
        let c = BearerChallenge::parse(
            r#"Bearer realm="mcp", resource_metadata="https://gw.example.com/.well-known/oauth-protected-resource""#,
        )
        .unwrap();
        assert_eq!(c.realm.as_deref(), Some("mcp"));
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("https://gw.example.com/.well-known/oauth-protected-resource")
        );
    }

    #[test]
    fn several_challenges_commas_in_quotes_escapes_case() {
        let h = r#"Basic realm="a, b", BEARER Realm = "x\"y" ,  Scope="read write",error=insufficient_scope, Negotiate abc+/==, DPoP algs="ES256""#;
        let all = parse_challenges(h);
        assert_eq!(all.len(), 4, "{all:?}");
        assert_eq!(all[0].scheme, "Basic");
        assert_eq!(all[0].param("realm"), Some("a, b"));
        assert_eq!(all[1].param("realm"), Some("x\"y"));
        assert_eq!(all[1].param("scope"), Some("read write"));
        assert_eq!(all[1].param("error"), Some("insufficient_scope"));
        assert_eq!(all[2].token68.as_deref(), Some("abc+/=="));
        assert_eq!(all[3].param("algs"), Some("ES256"));
        let b = BearerChallenge::parse(h).unwrap();
        assert_eq!(b.realm.as_deref(), Some("x\"y"));
        assert_eq!(b.scopes(), vec!["read", "write"]);
    }

    #[test]
    fn several_header_lines() {
        let b = BearerChallenge::from_headers(&[
            "Basic realm=\"x\"",
            "bearer resource_metadata=\"https://a/b\", scope=\"s\"",
        ])
        .unwrap();
        assert_eq!(b.resource_metadata.as_deref(), Some("https://a/b"));
        assert_eq!(b.scope.as_deref(), Some("s"));
    }

    #[test]
    fn bare_scheme_and_empty_list_elements() {
        let all = parse_challenges(" , Bearer ,, Basic\t,");
        assert_eq!(all.len(), 2);
        assert!(all[0].params.is_empty());
        assert_eq!(
            BearerChallenge::parse("Bearer"),
            Some(BearerChallenge::default())
        );
        assert_eq!(BearerChallenge::parse("Basic realm=x"), None);
        assert_eq!(BearerChallenge::parse(""), None);
    }

    #[test]
    fn junk_is_skipped_not_fatal() {
        let all = parse_challenges(r#"=junk, "quoted, stuff", Bearer error="x" trailing, Basic"#);
        let names: Vec<_> = all.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(names, vec!["Bearer", "Basic"], "{all:?}");
        assert_eq!(all[0].param("error"), Some("x"));
        // Unterminated quoted string: take what is there.
        let b = BearerChallenge::parse(r#"Bearer scope="a b"#).unwrap();
        assert_eq!(b.scope.as_deref(), Some("a b"));
    }

    #[test]
    fn first_occurrence_of_a_parameter_wins() {
        let b = BearerChallenge::parse(r#"Bearer scope="a", SCOPE="b""#).unwrap();
        assert_eq!(b.scope.as_deref(), Some("a"));
    }

    fn quote(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn never_panics_on_anything(s in ".{0,200}") {
            let _ = parse_challenges(&s);
            let _ = BearerChallenge::parse(&s);
        }

        #[test]
        fn never_panics_on_header_like_bytes(s in r#"[A-Za-z=",\\ \t;:/+.~_-]{0,120}"#) {
            let _ = parse_challenges(&s);
        }

        /// Any value written as a quoted string (with escapes) and any whitespace around
        /// `=` and `,` comes back exactly.
        #[test]
        fn quoted_values_round_trip(
            realm in "[ -~]{0,40}",
            scope in "[ -~]{0,40}",
            ws1 in "[ \t]{0,3}", ws2 in "[ \t]{0,3}", ws3 in "[ \t]{0,3}",
            upper in any::<bool>(),
        ) {
            let scheme = if upper { "BEARER" } else { "Bearer" };
            let h = format!(
                "Basic realm={}, {scheme} realm{ws1}={ws2}{}{ws3},{ws1}scope={}",
                quote("other, realm"), quote(&realm), quote(&scope)
            );
            let b = BearerChallenge::parse(&h).unwrap();
            prop_assert_eq!(b.realm.as_deref(), Some(realm.as_str()));
            prop_assert_eq!(b.scope.as_deref(), Some(scope.as_str()));
        }
    }
}
