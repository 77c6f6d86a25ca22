//! Rewrites a parsed template so that every function call, field access
//! and printed value goes through a numbered *site*.
//!
//! gotmpl executes Go's template language but reports no node positions in
//! execution errors, prints floats the Rust way and cannot know that a
//! missing label is an empty string. Each site is an ordinary gotmpl
//! function named `\u{1}<n>` that knows which node it stands for (its
//! position and its text as Go prints it), so the site can fail with Go's
//! exact message and give field access and printing Go's typed semantics.

use gotmpl::parse::{CommandNode, Expr, ListNode, Node, PipeNode, Pos, SmolStr};

/// What one argument of a call looks like, for Go's argument errors.
#[derive(Debug, Clone)]
pub struct ArgNode {
    /// Go's `Node.String()` of the argument.
    pub text: String,
    /// Where it starts.
    pub pos: Pos,
    /// Whether it is a constant (string, number, bool, nil), which Go
    /// reports as `expected string; found 42` rather than by type.
    pub constant: bool,
}

/// One node a site stands for.
#[derive(Debug, Clone)]
pub enum Site {
    /// A function call `name arg…`, possibly receiving a piped value.
    Call {
        /// The function called.
        func: String,
        /// Where the function's name is (wrong-argument-count errors point here).
        ident_pos: Pos,
        /// Go's text of the whole command (call errors point here).
        command: String,
        /// Where the command starts.
        command_pos: Pos,
        /// The explicit arguments (a piped value comes after them).
        args: Vec<ArgNode>,
    },
    /// A field chain `.A.B`, `$x.A` or `(pipe).A`.
    Field {
        /// The field names, in order.
        fields: Vec<String>,
        /// Go's text of the node.
        text: String,
        /// Where it starts.
        pos: Pos,
    },
    /// The value an action prints.
    Print,
}

/// The prefix of every site function's name; no template can spell it.
pub const SITE_PREFIX: char = '\u{1}';

/// Gotmpl's builtins that must keep their name: `and`/`or` evaluate their
/// arguments lazily, which a plain function cannot.
fn keeps_name(name: &str) -> bool {
    matches!(name, "and" | "or")
}

/// The rewritten trees and the sites they call.
pub struct Rewrite<'s> {
    source: &'s str,
    /// The sites, by number.
    pub sites: Vec<Site>,
}

impl<'s> Rewrite<'s> {
    /// A rewrite of trees parsed from `source`.
    pub fn new(source: &'s str) -> Rewrite<'s> {
        Rewrite {
            source,
            sites: Vec::new(),
        }
    }

    fn site(&mut self, site: Site, pos: Pos) -> Expr {
        let name = format!("{SITE_PREFIX}{}", self.sites.len());
        self.sites.push(site);
        Expr::Identifier(pos, SmolStr::new(name))
    }

    /// Rewrites one tree.
    pub fn list(&mut self, list: &ListNode) -> ListNode {
        ListNode {
            pos: list.pos,
            nodes: list.nodes.iter().map(|n| self.node(n)).collect(),
        }
    }

    fn node(&mut self, node: &Node) -> Node {
        match node {
            Node::Action(a) => {
                let mut action = a.clone();
                action.pipe = self.pipe(&a.pipe);
                if action.pipe.decl.is_empty() {
                    let print = self.site(Site::Print, a.pos);
                    action.pipe.commands.push(CommandNode {
                        pos: a.pos,
                        args: vec![print],
                    });
                }
                Node::Action(action)
            }
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                let mut branch = b.clone();
                branch.pipe = self.pipe(&b.pipe);
                branch.body = self.list(&b.body);
                branch.else_body = b.else_body.as_ref().map(|e| self.list(e));
                match node {
                    Node::If(_) => Node::If(branch),
                    Node::Range(_) => Node::Range(branch),
                    _ => Node::With(branch),
                }
            }
            Node::Template(t) => {
                let mut call = t.clone();
                call.pipe = t.pipe.as_ref().map(|p| self.pipe(p));
                Node::Template(call)
            }
            Node::List(l) => Node::List(self.list(l)),
            other => other.clone(),
        }
    }

    fn pipe(&mut self, pipe: &PipeNode) -> PipeNode {
        let commands = pipe.commands.iter().map(|c| self.command(c)).collect();
        PipeNode {
            pos: pipe.pos,
            decl: pipe.decl.clone(),
            commands,
            is_assign: pipe.is_assign,
        }
    }

    fn command(&mut self, cmd: &CommandNode) -> CommandNode {
        let Some(Expr::Identifier(ident_pos, name)) = cmd.args.first() else {
            return CommandNode {
                pos: cmd.pos,
                args: cmd.args.iter().map(|a| self.expr(a)).collect(),
            };
        };
        if keeps_name(name) {
            let mut args = vec![cmd.args[0].clone()];
            args.extend(cmd.args[1..].iter().map(|a| self.expr(a)));
            return CommandNode { pos: cmd.pos, args };
        }
        let site = Site::Call {
            func: name.to_string(),
            ident_pos: *ident_pos,
            command: self.command_text(cmd),
            command_pos: cmd.pos,
            args: cmd.args[1..]
                .iter()
                .map(|a| ArgNode {
                    text: self.expr_text(a),
                    pos: a.pos(),
                    constant: matches!(
                        a,
                        Expr::String(..) | Expr::Number(..) | Expr::Bool(..) | Expr::Nil(_)
                    ),
                })
                .collect(),
        };
        let mut args = vec![self.site(site, *ident_pos)];
        args.extend(cmd.args[1..].iter().map(|a| self.expr(a)));
        CommandNode { pos: cmd.pos, args }
    }

    fn expr(&mut self, e: &Expr) -> Expr {
        match e {
            Expr::Field(pos, fields) => self.field(e, *pos, fields, Expr::Dot(*pos)),
            Expr::Variable(pos, name, fields) if !fields.is_empty() => self.field(
                e,
                *pos,
                fields,
                Expr::Variable(*pos, name.clone(), Vec::new()),
            ),
            Expr::Chain(pos, inner, fields) => {
                let base = self.expr(inner);
                self.field(e, *pos, fields, base)
            }
            Expr::Identifier(pos, name) if !keeps_name(name) => {
                // A bare function name used as an argument is a call without arguments.
                let site = Site::Call {
                    func: name.to_string(),
                    ident_pos: *pos,
                    command: name.to_string(),
                    command_pos: *pos,
                    args: Vec::new(),
                };
                self.site(site, *pos)
            }
            Expr::Pipe(pos, p) => Expr::Pipe(*pos, self.pipe(p)),
            other => other.clone(),
        }
    }

    /// `receiver.fields…` as a call of a field site on `receiver`.
    fn field(&mut self, original: &Expr, pos: Pos, fields: &[SmolStr], receiver: Expr) -> Expr {
        let site = Site::Field {
            fields: fields.iter().map(|f| f.to_string()).collect(),
            text: self.expr_text(original),
            pos,
        };
        let ident = self.site(site, pos);
        Expr::Pipe(
            pos,
            PipeNode {
                pos,
                decl: Vec::new(),
                commands: vec![CommandNode {
                    pos,
                    args: vec![ident, receiver],
                }],
                is_assign: false,
            },
        )
    }

    /// Go's `CommandNode.String()`.
    fn command_text(&self, cmd: &CommandNode) -> String {
        cmd.args
            .iter()
            .map(|a| match a {
                Expr::Pipe(_, p) => format!("({})", self.pipe_text(p)),
                other => self.expr_text(other),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Go's `PipeNode.String()`.
    fn pipe_text(&self, p: &PipeNode) -> String {
        let mut out = String::new();
        if !p.decl.is_empty() {
            out.push_str(
                &p.decl
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            out.push_str(if p.is_assign { " = " } else { " := " });
        }
        out.push_str(
            &p.commands
                .iter()
                .map(|c| self.command_text(c))
                .collect::<Vec<_>>()
                .join(" | "),
        );
        out
    }

    /// Go's `Node.String()` of an argument.
    fn expr_text(&self, e: &Expr) -> String {
        match e {
            Expr::Dot(_) => ".".to_string(),
            Expr::Field(_, fields) => fields.iter().map(|f| format!(".{f}")).collect(),
            Expr::Variable(_, name, fields) => {
                let mut s = name.to_string();
                for f in fields {
                    s.push('.');
                    s.push_str(f);
                }
                s
            }
            Expr::Identifier(_, name) => name.to_string(),
            Expr::String(pos, value) => self.token_text(*pos).unwrap_or_else(|| go_quote(value)),
            Expr::Number(pos, n) => self.token_text(*pos).unwrap_or_else(|| format!("{n:?}")),
            Expr::Bool(_, b) => b.to_string(),
            Expr::Nil(_) => "nil".to_string(),
            Expr::Pipe(_, p) => self.pipe_text(p),
            Expr::Chain(_, inner, fields) => {
                let mut s = match inner.as_ref() {
                    Expr::Pipe(_, p) => format!("({})", self.pipe_text(p)),
                    other => self.expr_text(other),
                };
                for f in fields {
                    s.push('.');
                    s.push_str(f);
                }
                s
            }
        }
    }

    /// The literal token starting at `pos`, as written.
    fn token_text(&self, pos: Pos) -> Option<String> {
        let rest = self.source.get(pos.offset..)?;
        let mut chars = rest.char_indices();
        let (_, first) = chars.next()?;
        let end = match first {
            '"' => {
                let mut escaped = false;
                rest.char_indices()
                    .skip(1)
                    .find(|&(_, c)| {
                        let close = c == '"' && !escaped;
                        escaped = c == '\\' && !escaped;
                        close
                    })
                    .map(|(i, _)| i + 1)?
            }
            '`' => rest[1..].find('`').map(|i| i + 2)?,
            '\'' => {
                let mut escaped = false;
                rest.char_indices()
                    .skip(1)
                    .find(|&(_, c)| {
                        let close = c == '\'' && !escaped;
                        escaped = c == '\\' && !escaped;
                        close
                    })
                    .map(|(i, _)| i + 1)?
            }
            _ => rest
                .find(|c: char| c.is_whitespace() || matches!(c, ')' | '}' | '|' | '(' | ','))
                .unwrap_or(rest.len()),
        };
        Some(rest[..end].to_string())
    }
}

/// Go's `strconv.Quote` for the printable-ASCII-and-Unicode common case.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `Tree.ErrorContext`: `NAME:LINE:COL` (COL counted in bytes from 0)
/// and the node's text, cut to 20 characters when longer than 20 bytes.
pub fn location(source: &str, name: &str, pos: Pos, text: &str) -> (String, String) {
    let upto = source.get(..pos.offset).unwrap_or(source);
    let line_start = upto.rfind('\n').map_or(0, |i| i + 1);
    let line = 1 + upto.matches('\n').count();
    let col = upto.len() - line_start;
    let context = if text.len() > 20 {
        format!("{}...", text.chars().take(20).collect::<String>())
    } else {
        text.to_string()
    };
    (format!("{name}:{line}:{col}"), context)
}
