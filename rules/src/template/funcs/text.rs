//! The string functions: case, host names, URL escaping, links and the
//! two regular-expression functions.

use std::net::IpAddr;

use regex::{Regex, RegexBuilder};
use warden_tsdb::matcher::translate_go_regex;

/// Go's `strings.ToUpper`, rune by rune (a rune whose upper case is
/// several characters, like `ß`, stays as it is).
pub fn to_upper(s: &str) -> String {
    s.chars().map(|c| simple(c, c.to_uppercase())).collect()
}

/// Go's `strings.ToLower`, rune by rune.
pub fn to_lower(s: &str) -> String {
    s.chars().map(|c| simple(c, c.to_lowercase())).collect()
}

fn simple(c: char, mut mapped: impl ExactSizeIterator<Item = char>) -> char {
    if mapped.len() == 1 {
        mapped.next().unwrap_or(c)
    } else {
        c
    }
}

/// Prometheus 3's `title` (`cases.Title(language.AmericanEnglish,
/// cases.NoLower)`): the first cased letter of each word upper-cased, the
/// rest untouched. Words follow x/text's approximation of Unicode word
/// breaks: letters, digits, marks and `_` never break; one of `.`, `:`,
/// `'`, `’` inside a word does not break it, two in a row do; anything else
/// breaks. So `host1.example.com` is one word and `1st` becomes `1St`.
pub fn title(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut mid_word = false;
    for (i, &c) in chars.iter().enumerate() {
        let was_mid = is_mid(c);
        if c.is_lowercase() || c.is_uppercase() {
            if mid_word {
                out.push(c);
            } else {
                out.push(simple(c, c.to_uppercase()));
                mid_word = true;
            }
        } else {
            out.push(c);
            if is_break(c) {
                mid_word = false;
            }
        }
        if was_mid && chars.get(i + 1).is_some_and(|&n| is_mid(n)) {
            mid_word = false;
        }
    }
    out
}

/// Word-break classes MidLetter, MidNumLet and Single_Quote.
fn is_mid(c: char) -> bool {
    matches!(
        c,
        ':' | '.'
            | '\''
            | '\u{b7}'
            | '\u{387}'
            | '\u{5f4}'
            | '\u{2018}'
            | '\u{2019}'
            | '\u{2024}'
            | '\u{2027}'
            | '\u{fe13}'
            | '\u{fe52}'
            | '\u{fe55}'
            | '\u{ff07}'
            | '\u{ff0e}'
            | '\u{ff1a}'
    )
}

/// Everything that is neither letter-like (letters, digits, `_`, combining
/// marks, joiners) nor a mid-word character.
fn is_break(c: char) -> bool {
    let mark = matches!(c as u32, 0x300..=0x36f | 0x1ab0..=0x1aff | 0x1dc0..=0x1dff | 0x20d0..=0x20ff | 0xfe20..=0xfe2f | 0x200c | 0x200d);
    !(c.is_alphanumeric() || c == '_' || mark || is_mid(c))
}

/// Go's `net.SplitHostPort`.
fn split_host_port(hostport: &str) -> Option<(&str, &str)> {
    let i = hostport.rfind(':')?;
    let (host, j, k) = if hostport.starts_with('[') {
        let end = hostport.find(']')?;
        if end + 1 != i {
            return None;
        }
        (&hostport[1..end], 1, end + 1)
    } else {
        let host = &hostport[..i];
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if hostport[j..].contains('[') || hostport[k..].contains(']') {
        return None;
    }
    Some((host, &hostport[i + 1..]))
}

/// `stripPort`: the host of `host:port` (`[::1]:9090` gives `::1`);
/// anything else unchanged.
pub fn strip_port(hostport: &str) -> String {
    match split_host_port(hostport) {
        Some((host, _)) => host.to_string(),
        None => hostport.to_string(),
    }
}

/// `stripDomain`: the first label of a host name, keeping the port; IP
/// addresses unchanged.
pub fn strip_domain(hostport: &str) -> String {
    let (host, port) = split_host_port(hostport).unwrap_or((hostport, ""));
    if host.parse::<IpAddr>().is_ok() {
        return hostport.to_string();
    }
    let first = host.split('.').next().unwrap_or(host);
    if port.is_empty() {
        first.to_string()
    } else if first.contains(':') {
        format!("[{first}]:{port}")
    } else {
        format!("{first}:{port}")
    }
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `graphLink`: the expression browser's graph tab for `expr`.
pub fn graph_link(expr: &str) -> String {
    format!("/graph?g0.expr={}&g0.tab=0", query_escape(expr))
}

/// `tableLink`: the expression browser's table tab for `expr`.
pub fn table_link(expr: &str) -> String {
    format!("/graph?g0.expr={}&g0.tab=1", query_escape(expr))
}

/// The path of a URL (`pathPrefix`): after the authority, before `?` or `#`.
pub fn url_path(url: &str) -> String {
    let rest = match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            match after.find(['/', '?', '#']) {
                Some(j) => &after[j..],
                None => "",
            }
        }
        None => url,
    };
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    rest[..end].to_string()
}

/// Compiles a Go RE2 pattern unanchored, as Go's `regexp.Compile` does,
/// with Go's error text when it does not compile.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    if let Some(e) = go_syntax_error(pattern) {
        return Err(e);
    }
    RegexBuilder::new(&translate_go_regex(pattern))
        .size_limit(64 << 20)
        .build()
        .map_err(|_| {
            format!("error parsing regexp: invalid or unsupported Perl syntax: `{pattern}`")
        })
}

/// `match`: whether `text` contains a match of `pattern`.
pub fn matches(pattern: &str, text: &str) -> Result<bool, String> {
    Ok(compile(pattern)?.is_match(text))
}

/// `reReplaceAll`: Go's `ReplaceAllString` (`$1`, `${name}`, `$$`). A bad
/// pattern is the panic text of Go's `regexp.MustCompile`.
pub fn re_replace_all(pattern: &str, replacement: &str, text: &str) -> Result<String, String> {
    let re =
        compile(pattern).map_err(|e| format!("regexp: Compile({}): {e}", go_backquote(pattern)))?;
    Ok(re.replace_all(text, replacement).into_owned())
}

/// Go's `regexp` `quote`: back-quoted when possible.
fn go_backquote(s: &str) -> String {
    let can = !s.contains('`')
        && s.chars()
            .all(|c| c == '\t' || !(c.is_control() || c == '\u{feff}'));
    if can {
        format!("`{s}`")
    } else {
        crate::template::sites::go_quote(s)
    }
}

/// The errors of Go's `regexp/syntax` that patterns commonly hit, found by
/// a scan Go's parser would make.
fn go_syntax_error(p: &str) -> Option<String> {
    let err = |code: &str, expr: &str| Some(format!("error parsing regexp: {code}: `{expr}`"));
    let chars: Vec<(usize, char)> = p.char_indices().collect();
    let mut depth = 0usize;
    // Whether the previous item can take a repetition operator, and
    // whether it already is one.
    let mut operand = false;
    let mut repeated: Option<usize> = None;
    let mut lazy = false;
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        match c {
            '\\' => {
                if i + 1 >= chars.len() {
                    return err("trailing backslash at end of expression", "");
                }
                i += 2;
                operand = true;
                repeated = None;
                continue;
            }
            '[' => {
                let mut j = i + 1;
                if chars.get(j).map(|c| c.1) == Some('^') {
                    j += 1;
                }
                if chars.get(j).map(|c| c.1) == Some(']') {
                    j += 1;
                }
                loop {
                    match chars.get(j).map(|c| c.1) {
                        None => return err("missing closing ]", &p[at..]),
                        Some('\\') => j += 2,
                        Some('[') if chars.get(j + 1).map(|c| c.1) == Some(':') => {
                            match p[chars[j].0..].find(":]") {
                                Some(end) => {
                                    let stop = chars[j].0 + end + 2;
                                    while j < chars.len() && chars[j].0 < stop {
                                        j += 1;
                                    }
                                }
                                None => j += 1,
                            }
                        }
                        Some(']') => break,
                        Some(_) => j += 1,
                    }
                }
                i = j + 1;
                operand = true;
                repeated = None;
                continue;
            }
            '(' => {
                depth += 1;
                operand = false;
                repeated = None;
                if chars.get(i + 1).map(|c| c.1) == Some('?') {
                    // Flags and named groups: skip to the group's body.
                    let mut j = i + 2;
                    while let Some(&(_, d)) = chars.get(j) {
                        if d == ':' || d == ')' || d == '>' {
                            break;
                        }
                        j += 1;
                    }
                    if chars.get(j).map(|c| c.1) == Some(')') {
                        depth -= 1;
                        operand = false;
                    }
                    i = j + 1;
                    continue;
                }
            }
            ')' => {
                if depth == 0 {
                    return err("unexpected )", p);
                }
                depth -= 1;
                operand = true;
                repeated = None;
            }
            '|' => {
                operand = false;
                repeated = None;
            }
            '*' | '+' | '?' => {
                match repeated {
                    // `a*?` is the non-greedy form; anything more is nested.
                    Some(start) if c == '?' && !lazy => lazy = at >= start,
                    Some(start) => {
                        return err("invalid nested repetition operator", &p[start..=at]);
                    }
                    None if !operand => {
                        return err("missing argument to repetition operator", &p[at..=at]);
                    }
                    None => {
                        repeated = Some(at);
                        lazy = false;
                    }
                }
            }
            _ => {
                operand = true;
                repeated = None;
            }
        }
        i += 1;
    }
    if depth > 0 {
        return err("missing closing )", p);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_functions() {
        assert_eq!(to_upper("abc ß"), "ABC ß");
        assert_eq!(to_lower("ÀBC"), "àbc");
        assert_eq!(title("hello world"), "Hello World");
        assert_eq!(title("hello-world foo_bar"), "Hello-World Foo_bar");
        assert_eq!(title("don't stop"), "Don't Stop");
        assert_eq!(title("host1.example.com"), "Host1.example.com");
        assert_eq!(title("aBC dEF"), "ABC DEF");
        assert_eq!(title("1st place"), "1St Place");
        assert_eq!(title("a..b a,b"), "A..B A,B");
    }

    #[test]
    fn ports_and_domains() {
        assert_eq!(strip_port("host:9100"), "host");
        assert_eq!(strip_port("[::1]:9100"), "::1");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_port("host"), "host");
        assert_eq!(strip_port("host:"), "host");
        assert_eq!(strip_domain("node1.example.com:9100"), "node1:9100");
        assert_eq!(strip_domain("node1.example.com"), "node1");
        assert_eq!(strip_domain("10.0.0.1:9100"), "10.0.0.1:9100");
        assert_eq!(strip_domain("[2001:db8::1]:9100"), "[2001:db8::1]:9100");
        assert_eq!(strip_domain("2001:db8::1"), "2001:db8::1");
    }

    #[test]
    fn escaping_and_links() {
        assert_eq!(query_escape("up == 0"), "up+%3D%3D+0");
        assert_eq!(query_escape("a*b~c/d"), "a%2Ab~c%2Fd");
        assert_eq!(graph_link("up"), "/graph?g0.expr=up&g0.tab=0");
        assert_eq!(
            table_link("a{b=\"c\"}"),
            "/graph?g0.expr=a%7Bb%3D%22c%22%7D&g0.tab=1"
        );
        assert_eq!(url_path("http://example.com:9090/prom/x?y#z"), "/prom/x");
        assert_eq!(url_path("http://example.com"), "");
        assert_eq!(url_path(""), "");
    }

    #[test]
    fn regex_functions_follow_go() {
        assert_eq!(matches("^a.c$", "abc"), Ok(true));
        assert_eq!(matches("b", "abc"), Ok(true));
        assert_eq!(matches(r"\d", "١"), Ok(false));
        assert_eq!(
            re_replace_all("(.*):(\\d+)", "$1", "host:9100"),
            Ok("host".into())
        );
        assert_eq!(re_replace_all("a", "$$", "banana"), Ok("b$n$n$".into()));
        assert_eq!(re_replace_all("(a)", "$1x", "a"), Ok("".into()));
        assert_eq!(re_replace_all("(a)", "${1}x", "a"), Ok("ax".into()));
        assert_eq!(
            matches("(", "x"),
            Err("error parsing regexp: missing closing ): `(`".into())
        );
        assert_eq!(
            matches("a)", "x"),
            Err("error parsing regexp: unexpected ): `a)`".into())
        );
        assert_eq!(
            matches("[a", "x"),
            Err("error parsing regexp: missing closing ]: `[a`".into())
        );
        assert_eq!(
            matches("*a", "x"),
            Err("error parsing regexp: missing argument to repetition operator: `*`".into())
        );
        assert_eq!(
            matches("a**", "x"),
            Err("error parsing regexp: invalid nested repetition operator: `**`".into())
        );
        assert_eq!(matches("a*?", "x"), Ok(true));
        assert_eq!(matches("(?i)A", "a"), Ok(true));
        assert_eq!(matches("(?P<n>a)", "a"), Ok(true));
        assert_eq!(
            re_replace_all("(", "", "x"),
            Err("regexp: Compile(`(`): error parsing regexp: missing closing ): `(`".into())
        );
    }
}
