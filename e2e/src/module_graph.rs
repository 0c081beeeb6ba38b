//! The module graph of a crate, read from its sources, and the circles in it.
//!
//! Rule (`docs/architecture.md`, "No circles"): within one parent module, the sibling modules
//! (files or directories) must not depend on each other in a circle. `a` depends on `b` when any
//! file under `a` names a path under `b` through `crate::…` or `super::…` (in a `use` or inline,
//! test modules included). A child naming its parent (`use super::*`, a type its `mod.rs`
//! defines) or a parent naming its child is not a sibling edge: a parent holds what its children
//! share.
//!
//! This is a text scan, not name resolution: comments and string literals are skipped, a path is
//! resolved to the deepest existing module file it names, and `use a::b` of a name brought in by an
//! earlier `use crate::a` is not followed (the earlier `use` already made the edge). Good enough
//! to keep the crates of this workspace free of circles; `cargo test -p lattice-e2e --test
//! module_cycles` runs it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// A module path from the crate root (`["reconcile", "record"]`); empty for the root.
pub type ModulePath = Vec<String>;

/// One reference from a file to another module.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    /// The module whose file holds the reference.
    pub from: ModulePath,
    /// The deepest module the referenced path names.
    pub to: ModulePath,
    /// The path as written, for reports (`crate::status::Condition`).
    pub written: String,
}

/// A circle among the children of one module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Circle {
    /// The common parent (`crate` for the root).
    pub parent: ModulePath,
    /// The siblings in the circle, sorted.
    pub members: Vec<String>,
    /// The references that make the sibling edges inside the circle.
    pub evidence: Vec<Reference>,
}

impl fmt::Display for Circle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "circle among the children of {}: {}",
            display_path(&self.parent),
            self.members.join(" <-> ")
        )?;
        for r in &self.evidence {
            writeln!(
                f,
                "  {} names {} ({})",
                display_path(&r.from),
                display_path(&r.to),
                r.written
            )?;
        }
        Ok(())
    }
}

/// `crate::a::b`.
pub fn display_path(path: &[String]) -> String {
    std::iter::once("crate")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("::")
}

/// Why a crate could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct ReadError {
    /// The file or directory.
    pub path: PathBuf,
    /// The I/O error.
    pub source: std::io::Error,
}

/// The modules of the library crate rooted at `src/lib.rs`, by file: `src/a.rs` and `src/a/mod.rs`
/// are `a`, `src/a/b.rs` is `a::b`. `src/bin/` and `src/main.rs` are other crates and skipped.
pub fn read_crate(src: &Path) -> Result<BTreeMap<ModulePath, String>, ReadError> {
    let mut files = BTreeMap::new();
    collect(src, src, &mut files)?;
    Ok(files)
}

fn collect(
    src: &Path,
    dir: &Path,
    files: &mut BTreeMap<ModulePath, String>,
) -> Result<(), ReadError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ReadError {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ReadError {
            path: dir.to_path_buf(),
            source,
        })?;
        paths.push(entry.path());
    }
    paths.sort();
    for path in paths {
        let relative = path.strip_prefix(src).unwrap_or(&path);
        if relative == Path::new("bin") || relative == Path::new("main.rs") {
            continue;
        }
        if path.is_dir() {
            collect(src, &path, files)?;
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let mut module: ModulePath = relative
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if module.last().is_some_and(|l| l == "mod") || module == ["lib"] {
            module.pop();
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ReadError {
            path: path.clone(),
            source,
        })?;
        files.insert(module, text);
    }
    Ok(())
}

/// Every `crate::…` and `super::…` reference in `files`, resolved to the deepest module that
/// exists.
pub fn references(files: &BTreeMap<ModulePath, String>) -> Vec<Reference> {
    let modules: BTreeSet<&ModulePath> = files.keys().collect();
    let mut out = Vec::new();
    for (module, text) in files {
        for (inline, written) in raw_paths(&strip_comments_and_strings(text)) {
            let mut base = module.clone();
            base.extend(inline.iter().cloned());
            let Some(segments) = absolute(&base, &written) else {
                continue;
            };
            let mut to: ModulePath = Vec::new();
            for segment in segments {
                let mut next = to.clone();
                next.push(segment);
                if modules.contains(&next) {
                    to = next;
                } else {
                    break;
                }
            }
            out.push(Reference {
                from: module.clone(),
                to,
                written: written.join("::"),
            });
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The circles among siblings, given the references.
pub fn circles(references: &[Reference]) -> Vec<Circle> {
    // parent -> sibling -> siblings it depends on, with the evidence.
    let mut graphs: BTreeMap<ModulePath, BTreeMap<String, BTreeMap<String, Vec<&Reference>>>> =
        BTreeMap::new();
    for r in references {
        let common = r.from.iter().zip(&r.to).take_while(|(a, b)| a == b).count();
        if common == r.from.len() || common == r.to.len() {
            continue; // the same module, or an ancestor and its descendant
        }
        let parent = r.from[..common].to_vec();
        let (a, b) = (r.from[common].clone(), r.to[common].clone());
        graphs
            .entry(parent)
            .or_default()
            .entry(a)
            .or_default()
            .entry(b)
            .or_default()
            .push(r);
    }
    let mut found = Vec::new();
    for (parent, graph) in graphs {
        for component in strongly_connected(&graph) {
            if component.len() < 2 {
                continue;
            }
            let members: BTreeSet<&String> = component.iter().collect();
            let mut evidence: Vec<Reference> = Vec::new();
            for (a, targets) in &graph {
                if !members.contains(a) {
                    continue;
                }
                for (b, refs) in targets {
                    if members.contains(b) {
                        evidence.extend(refs.iter().map(|r| (*r).clone()));
                    }
                }
            }
            let mut members: Vec<String> = component;
            members.sort();
            found.push(Circle {
                parent: parent.clone(),
                members,
                evidence,
            });
        }
    }
    found
}

/// Tarjan's algorithm over a small graph.
fn strongly_connected<V>(graph: &BTreeMap<String, BTreeMap<String, V>>) -> Vec<Vec<String>> {
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a, V>(
        v: &'a str,
        graph: &'a BTreeMap<String, BTreeMap<String, V>>,
        s: &mut State<'a>,
    ) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in graph.get(v).into_iter().flat_map(BTreeMap::keys) {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(w, graph, s);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            s.out.push(component);
        }
    }
    let mut s = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(v, graph, &mut s);
        }
    }
    s.out
}

/// `crate::a::b` or `super::…::x` written in module `base` as absolute segments.
fn absolute(base: &[String], written: &[String]) -> Option<Vec<String>> {
    let mut segments = written.iter().peekable();
    let mut path: Vec<String> = match segments.peek().map(|s| s.as_str()) {
        Some("crate") => {
            segments.next();
            Vec::new()
        }
        Some("super") => {
            let mut path = base.to_vec();
            while segments.peek().is_some_and(|s| *s == "super") {
                segments.next();
                path.pop()?;
            }
            path
        }
        _ => return None,
    };
    path.extend(segments.cloned());
    Some(path)
}

/// The source with comments, string and char literals blanked (newlines kept).
fn strip_comments_and_strings(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // raw string r"…" or r#"…"#
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                match chars.get(j) {
                    None => break,
                    Some('"') if (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) => {
                        j += 1 + hashes;
                        break;
                    }
                    Some(_) => j += 1,
                }
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // a char literal ('x', '\n', '\u{1F600}') or a lifetime ('a)
            if next == Some('\\') {
                let mut j = i + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Every path starting with `crate::` or `super::` in stripped source, with group imports
/// (`use crate::a::{b, c::d}`) expanded, each with the inline modules (`mod tests { … }`) it sits
/// in.
fn raw_paths(text: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let tokens = tokenize(text);
    let mut out = Vec::new();
    let mut inline: Vec<(String, usize)> = Vec::new(); // (name, brace depth inside it)
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        match t {
            "{" => depth += 1,
            "}" => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            "mod" if tokens.get(i + 2).is_some_and(|t| t == "{") => {
                inline.push((tokens[i + 1].clone(), depth + 1));
            }
            "crate" | "super" if tokens.get(i + 1).is_some_and(|t| t == "::") => {
                let preceded_by_path = i > 0 && tokens[i - 1] == "::";
                if !preceded_by_path {
                    let modules: Vec<String> = inline.iter().map(|(n, _)| n.clone()).collect();
                    let (paths, end) = path_at(&tokens, i);
                    out.extend(paths.into_iter().map(|p| (modules.clone(), p)));
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Reads the path starting at token `start`; returns the expanded paths and the index after it.
fn path_at(tokens: &[String], start: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = vec![tokens[start].clone()];
    let mut i = start + 1;
    while tokens.get(i).is_some_and(|t| t == "::") {
        match tokens.get(i + 1).map(String::as_str) {
            Some("{") => {
                let (groups, end) = group_at(tokens, i + 1);
                let paths = groups
                    .into_iter()
                    .map(|g| prefix.iter().cloned().chain(g).collect())
                    .collect();
                return (paths, end);
            }
            Some(t) if is_ident(t) => {
                prefix.push(t.to_string());
                i += 2;
            }
            _ => break,
        }
    }
    (vec![prefix], i)
}

/// Reads `{ a, b::c, d::{e, f}, self }` at token `start` (the `{`).
fn group_at(tokens: &[String], start: usize) -> (Vec<Vec<String>>, usize) {
    let mut out = Vec::new();
    let mut i = start + 1;
    let mut current: Vec<String> = Vec::new();
    while let Some(t) = tokens.get(i) {
        match t.as_str() {
            "}" => {
                if !current.is_empty() {
                    out.push(current);
                }
                return (out, i + 1);
            }
            "," => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                i += 1;
            }
            "::" => {
                if tokens.get(i + 1).is_some_and(|t| t == "{") {
                    let (inner, end) = group_at(tokens, i + 1);
                    out.extend(
                        inner
                            .into_iter()
                            .map(|g| current.iter().cloned().chain(g).collect()),
                    );
                    current.clear();
                    i = end;
                } else {
                    i += 1;
                }
            }
            "as" => i += 2, // `x as y`: the alias names nothing new
            "self" => i += 1,
            t if is_ident(t) => {
                current.push(t.to_string());
                i += 1;
            }
            _ => i += 1,
        }
    }
    (out, i)
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && t.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Identifiers, `::`, and single punctuation characters.
fn tokenize(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".to_string());
            i += 2;
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn krate(files: &[(&str, &str)]) -> BTreeMap<ModulePath, String> {
        files
            .iter()
            .map(|(path, text)| {
                let module = if path.is_empty() {
                    Vec::new()
                } else {
                    path.split("::").map(str::to_string).collect()
                };
                (module, text.to_string())
            })
            .collect()
    }

    fn circle_members(files: &[(&str, &str)]) -> Vec<(String, Vec<String>)> {
        circles(&references(&krate(files)))
            .into_iter()
            .map(|c| (display_path(&c.parent), c.members))
            .collect()
    }

    #[test]
    fn two_siblings_naming_each_other_are_a_circle() {
        let found = circle_members(&[
            ("", "pub mod a; pub mod b;"),
            ("a", "use crate::b::Thing;"),
            (
                "b",
                "pub struct Thing; fn f() -> crate::a::Other { todo!() }",
            ),
        ]);
        assert_eq!(
            found,
            vec![("crate".to_string(), vec!["a".into(), "b".into()])]
        );
    }

    #[test]
    fn a_circle_through_children_of_siblings_counts_at_the_siblings() {
        // status -> reconcile::record -> admission::outcome -> status
        let found = circle_members(&[
            ("", ""),
            ("status", "use crate::reconcile::record::AttemptStatus;"),
            ("reconcile", "pub mod record;"),
            (
                "reconcile::record",
                "use crate::{admission::{CostView, outcome::X}, store};",
            ),
            ("admission", "pub mod outcome;"),
            ("admission::outcome", "use crate::status::Condition;"),
            ("store", ""),
        ]);
        assert_eq!(
            found,
            vec![(
                "crate".to_string(),
                vec!["admission".into(), "reconcile".into(), "status".into()]
            )]
        );
    }

    #[test]
    fn super_paths_resolve_among_the_children_of_one_module() {
        let found = circle_members(&[
            ("", ""),
            ("session", "mod connection; mod dispatch;"),
            ("session::connection", "use super::dispatch::dispatch;"),
            (
                "session::dispatch",
                "use super::super::session::connection::Connection;",
            ),
        ]);
        assert_eq!(
            found,
            vec![(
                "crate::session".to_string(),
                vec!["connection".into(), "dispatch".into()]
            )]
        );
    }

    #[test]
    fn parents_and_children_and_one_way_edges_are_no_circle() {
        let found = circle_members(&[
            ("", ""),
            ("apply", "pub struct Applier; mod remove; use remove::run;"),
            (
                "apply::remove",
                "use crate::apply::Applier; use super::Applier; use crate::store::x;",
            ),
            ("store", "pub fn x() {}"),
            (
                "status",
                "mod tests { use super::*; use crate::apply::Applier; }",
            ),
        ]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn comments_and_strings_make_no_edges() {
        let found = circle_members(&[
            ("", ""),
            (
                "a",
                "// use crate::b::X;\nconst S: &str = \"crate::b::X\"; use crate::b::Y;",
            ),
            (
                "b",
                "/* crate::a::Z */ const R: &str = r#\"crate::a::Z\"#; const C: char = '\"';",
            ),
        ]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn super_in_an_inline_test_module_names_the_file_itself() {
        let found = circle_members(&[
            ("", ""),
            ("x", "pub mod a; pub mod b;"),
            ("x::a", "mod tests { use super::super::b::Y; }"),
            ("x::b", "use crate::x::a::Z;"),
        ]);
        assert_eq!(
            found,
            vec![("crate::x".to_string(), vec!["a".into(), "b".into()])]
        );
    }
}
