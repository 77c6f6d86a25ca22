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
        .map_err(|e| go_parse_error(name, &e))?;
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
    let mut undefined: Option<(usize, usize, String)> = None;
    for tree in std::iter::once(&main).chain(defines.iter().map(|(_, l)| l)) {
        walk_list(tree, &mut |pos_offset, line, ident| {
            if !funcs::is_defined(ident) && undefined.as_ref().is_none_or(|u| pos_offset < u.0) {
                undefined = Some((pos_offset, line, ident.to_string()));
            }
        });
    }
    if let Some((_, line, ident)) = undefined {
        return Err(format!(
            "template: {name}:{line}: function {} not defined",
            super::sites::go_quote(&ident)
        ));
    }
    Ok(Parsed { main, defines })
}

/// Go's `template: NAME:LINE: message` for a gotmpl parse error.
fn go_parse_error(name: &str, e: &GoError) -> String {
    match e {
        GoError::Parse { line, message, .. } | GoError::Lex { line, message, .. } => {
            format!("template: {name}:{line}: {message}")
        }
        other => format!("template: {name}: {other}"),
    }
}

type Visit<'a> = dyn FnMut(usize, usize, &str) + 'a;

fn walk_list(list: &ListNode, visit: &mut Visit<'_>) {
    for node in &list.nodes {
        match node {
            Node::Action(a) => walk_pipe(&a.pipe, visit),
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                walk_pipe(&b.pipe, visit);
                walk_list(&b.body, visit);
                if let Some(e) = &b.else_body {
                    walk_list(e, visit);
                }
            }
            Node::Template(t) => {
                if let Some(p) = &t.pipe {
                    walk_pipe(p, visit);
                }
            }
            Node::List(l) => walk_list(l, visit),
            _ => {}
        }
    }
}

fn walk_pipe(pipe: &PipeNode, visit: &mut Visit<'_>) {
    for cmd in &pipe.commands {
        for arg in &cmd.args {
            walk_expr(arg, visit);
        }
    }
}

fn walk_expr(e: &Expr, visit: &mut Visit<'_>) {
    match e {
        Expr::Identifier(pos, name) => visit(pos.offset, pos.line, name),
        Expr::Pipe(_, p) => walk_pipe(p, visit),
        Expr::Chain(_, inner, _) => walk_expr(inner, visit),
        _ => {}
    }
}
