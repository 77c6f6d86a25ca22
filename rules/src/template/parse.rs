//! Parsing a template as Go's `text/template` does for Prometheus, with
//! Go's parse error text.

use gotmpl::parse::{Expr, ListNode, Node, PipeNode};
use gotmpl::{Template, TemplateError as GoError};

use super::funcs;

/// A parsed template: its main tree and its `{{define}}`d trees.
pub struct Parsed {
    /// The template's own tree.
    pub main: ListNode,
    /// Named trees from `{{define}}` and `{{block}}`.
    pub defines: Vec<(String, ListNode)>,
}

/// Parses `source` as template `name`, refusing functions Prometheus does
/// not define, as Go's parser does. The error is Go's text
/// (`template: NAME:LINE: …`).
pub fn parse(name: &str, source: &str) -> Result<Parsed, String> {
    let t = Template::new(name)
        .parse(source)
        .map_err(|e| go_parse_error(name, source, &e))?;
    let main = t.lookup(name).cloned().unwrap_or(ListNode {
        pos: gotmpl::parse::Pos::new(0, 1),
        nodes: Vec::new(),
    });
    let defines: Vec<(String, ListNode)> = t
        .templates()
        .into_iter()
        .filter(|n| *n != name)
        .filter_map(|n| t.lookup(n).map(|l| (n.to_string(), l.clone())))
        .collect();
    // Go's parser rejects these; gotmpl's does not look for them.
    let mut problems: Vec<(usize, usize, String)> = Vec::new();
    if let Some(p) = stray_end(source) {
        problems.push(p);
    }
    for tree in std::iter::once(&main).chain(defines.iter().map(|(_, l)| l)) {
        let mut scope = Scope {
            vars: vec!["$".to_string()],
            problems: &mut problems,
        };
        scope.list(tree);
    }
    if let Some((_, line, message)) = problems.into_iter().min_by_key(|p| p.0) {
        return Err(format!("template: {name}:{line}: {message}"));
    }
    Ok(Parsed { main, defines })
}

/// Go's `template: NAME:LINE: message` for a gotmpl parse error.
fn go_parse_error(name: &str, source: &str, e: &GoError) -> String {
    match e {
        GoError::Parse {
            line, col, message, ..
        }
        | GoError::Lex {
            line, col, message, ..
        } => {
            let before = preceding(source, *line, *col);
            let message = if message == "empty command" {
                empty_command(source, *line, *col)
            } else {
                go_words(message, before)
            };
            format!("template: {name}:{line}: {message}")
        }
        other => format!("template: {name}: {other}"),
    }
}

/// The last non-space character before 1-based `line`:`col` (counted in
/// characters), which tells Go's parser state: a new command after `{{` or
/// `|`, a parenthesized pipeline after `(`, an operand otherwise.
fn preceding(source: &str, line: usize, col: usize) -> Option<char> {
    let line_text = source.split('\n').nth(line.saturating_sub(1))?;
    let before: String = line_text.chars().take(col.saturating_sub(1)).collect();
    before.chars().rev().find(|c| !c.is_whitespace())
}

/// Go's message where gotmpl finds an empty command: `{{if}}` is
/// "missing value for if", `{{ ) }}` an unexpected `)`.
fn empty_command(source: &str, line: usize, col: usize) -> String {
    let line_text = source.split('\n').nth(line.saturating_sub(1)).unwrap_or("");
    let before: String = line_text.chars().take(col.saturating_sub(1)).collect();
    let at = line_text.chars().nth(col.saturating_sub(1));
    let action = before.rfind("{{").map_or("", |i| &before[i + 2..]);
    let action = action.trim_start_matches('-').trim_start();
    let word: String = action
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    match word.as_str() {
        "if" | "range" | "with" => format!("missing value for {word}"),
        _ if at == Some(')') => "unexpected \")\" in command".to_string(),
        "" if action.trim().is_empty() => "missing value for command".to_string(),
        _ => "empty command".to_string(),
    }
}

/// Go's wording for the gotmpl messages that differ from it; `before` is
/// the character preceding the offending one.
fn go_words(message: &str, before: Option<char>) -> String {
    let fixed = match message {
        "unterminated string" => "unterminated quoted string",
        "unterminated raw string" => "unterminated raw quoted string",
        "unterminated character literal" => "unterminated character constant",
        "comment not terminated by closing delimiter" => "comment ends before closing delimiter",
        "expected '=' after ':'" => "expected :=",
        other => {
            if let Some(c) = other
                .strip_prefix("unexpected character: '")
                .and_then(|r| r.strip_suffix('\''))
                .and_then(|c| {
                    let mut it = c.chars();
                    let first = it.next()?;
                    it.next().is_none().then_some(first)
                })
            {
                let context = match before {
                    Some('{' | '|') | None => "command",
                    Some('(') => "parenthesized pipeline",
                    Some(_) => "operand",
                };
                return if c.is_ascii_graphic() {
                    format!("unexpected \"{c}\" in {context}")
                } else {
                    format!("unrecognized character in action: U+{:04X} '{c}'", c as u32)
                };
            }
            if other.starts_with("expected RightParen, got RightDelim") {
                return "unclosed left paren".to_string();
            }
            other
        }
    };
    fixed.to_string()
}

/// The first `{{end}}` or `{{else}}` outside any block (its offset, the
/// line its action closes on, and Go's message), or a block left open at
/// the end. Go's parser rejects both; gotmpl's stops reading at the first
/// and accepts the second.
fn stray_end(source: &str) -> Option<(usize, usize, String)> {
    let mut depth = 0usize;
    let mut at = 0usize;
    while let Some(open) = source[at..].find("{{") {
        let open = at + open;
        let body_start = open + 2;
        let close = action_end(&source[body_start..])? + body_start;
        let body = source[body_start..close]
            .trim_start_matches('-')
            .trim_start();
        let word: String = body
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        let stray = match word.as_str() {
            "if" | "range" | "with" | "define" | "block" => {
                depth += 1;
                None
            }
            "end" | "else" if depth == 0 => Some(word),
            "end" => {
                depth -= 1;
                None
            }
            _ => None,
        };
        if let Some(word) = stray {
            let line = 1 + source[..close].matches('\n').count();
            return Some((open, line, format!("unexpected {{{{{word}}}}}")));
        }
        at = close + 2;
    }
    (depth > 0).then(|| {
        let line = 1 + source.matches('\n').count();
        (source.len(), line, "unexpected EOF".to_string())
    })
}

/// Where the `}}` closing an action body starts, skipping quoted text and comments.
fn action_end(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => {
                let quote = bytes[i];
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = body[i + 2..].find("*/").map(|j| i + 2 + j + 1)?;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Go's parse-time checks over a tree: every function is defined and every
/// variable declared in an enclosing scope.
struct Scope<'p> {
    vars: Vec<String>,
    problems: &'p mut Vec<(usize, usize, String)>,
}

impl Scope<'_> {
    fn list(&mut self, list: &ListNode) {
        for node in &list.nodes {
            match node {
                Node::Action(a) => self.pipe(&a.pipe),
                Node::If(b) | Node::Range(b) | Node::With(b) => {
                    // Variables declared in a control structure live to its {{end}}.
                    let depth = self.vars.len();
                    self.pipe(&b.pipe);
                    self.list(&b.body);
                    if let Some(e) = &b.else_body {
                        self.list(e);
                    }
                    self.vars.truncate(depth);
                }
                Node::Template(t) => {
                    if let Some(p) = &t.pipe {
                        self.pipe(p);
                    }
                }
                Node::List(l) => self.list(l),
                _ => {}
            }
        }
    }

    fn pipe(&mut self, pipe: &PipeNode) {
        if pipe.is_assign {
            for d in &pipe.decl {
                self.use_var(pipe.pos, d);
            }
        } else {
            self.vars.extend(pipe.decl.iter().map(|d| d.to_string()));
        }
        for cmd in &pipe.commands {
            for arg in &cmd.args {
                self.expr(arg);
            }
        }
    }

    fn use_var(&mut self, pos: gotmpl::parse::Pos, name: &str) {
        if !self.vars.iter().any(|v| v == name) {
            self.problems.push((
                pos.offset,
                pos.line,
                format!("undefined variable {}", super::sites::go_quote(name)),
            ));
        }
    }

    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Identifier(pos, name) if !funcs::is_defined(name) => {
                self.problems.push((
                    pos.offset,
                    pos.line,
                    format!("function {} not defined", super::sites::go_quote(name)),
                ));
            }
            Expr::Variable(pos, name, _) => self.use_var(*pos, name),
            Expr::Pipe(_, p) => self.pipe(p),
            Expr::Chain(_, inner, _) => self.expr(inner),
            _ => {}
        }
    }
}
