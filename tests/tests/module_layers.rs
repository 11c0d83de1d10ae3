//! Imports run one way: no module of `loadgen` or `mockserver` may reach, through `crate::`,
//! `super::` or (in the crate root) bare module paths, a module that reaches back to it.
//!
//! A module is a top-level file (`src/plan.rs`) or folder (`src/journey/`), and the crate root
//! (`lib.rs`, minus its `mod` and `pub use` lines) is one more node. References are read from the
//! code itself, not only from `use` lines: grouped imports (`use crate::{a, b::c}`), paths in
//! expressions and attributes (`crate::cli::parse_pair` in a `#[arg]`), `super::` from nested and
//! inline modules. Comments, strings and char literals are skipped first, so a doc comment that
//! names `crate::x` is not an import. The checker's own tests run it on small made-up trees so it
//! cannot pass by finding nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crate root's node name.
const ROOT: &str = "(lib.rs)";

/// A lexical token: only what path-reading needs.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Semi,
    Other,
}

/// Tokens with their 1-based line numbers. Comments, string, byte-string, raw-string and char
/// literals become nothing (or `Other`); lifetimes are not mistaken for chars.
fn lex(src: &str) -> Vec<(Tok, usize)> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let n = b.len();
    let count_lines = |from: usize, to: usize| b[from..to].iter().filter(|&&c| c == b'\n').count();
    while i < n {
        let c = b[i];
        match c {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < n && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let start = i;
                let mut depth = 0;
                while i < n {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                line += count_lines(start, i.min(n));
            }
            b'"' => {
                let start = i;
                i = skip_string(b, i + 1);
                line += count_lines(start, i.min(n));
                out.push((Tok::Other, line));
            }
            b'\'' => {
                // A char literal is 'x', '\n', '\u{..}'; anything else is a lifetime or label.
                if b.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < n && b[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else if let Some(len) = char_len(&b[i + 1..]) {
                    if b.get(i + 1 + len) == Some(&b'\'') {
                        i += len + 2;
                    } else {
                        i += 1;
                    }
                } else {
                    i += 1;
                }
                out.push((Tok::Other, line));
            }
            b':' if b.get(i + 1) == Some(&b':') => {
                out.push((Tok::PathSep, line));
                i += 2;
            }
            c @ (b'{' | b'}' | b',' | b';') => {
                let tok = match c {
                    b'{' => Tok::Open,
                    b'}' => Tok::Close,
                    b',' => Tok::Comma,
                    _ => Tok::Semi,
                };
                out.push((tok, line));
                i += 1;
            }
            c if c == b'_' || c.is_ascii_alphabetic() => {
                let start = i;
                while i < n && (b[i] == b'_' || b[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                let word = &src[start..i];
                // Raw strings r"..", r#".."#, byte strings b"..", br#".."#.
                if matches!(word, "r" | "b" | "br" | "c" | "cr")
                    && matches!(b.get(i), Some(b'"' | b'#'))
                {
                    let mut hashes = 0;
                    while b.get(i) == Some(&b'#') {
                        hashes += 1;
                        i += 1;
                    }
                    if b.get(i) == Some(&b'"') {
                        let from = i;
                        if word.contains('r') {
                            i = skip_raw(b, i + 1, hashes);
                        } else {
                            i = skip_string(b, i + 1);
                        }
                        line += count_lines(from, i.min(n));
                        out.push((Tok::Other, line));
                        continue;
                    }
                }
                // Raw identifiers: r#type.
                out.push((Tok::Ident(word.trim_start_matches("r#").to_string()), line));
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                out.push((Tok::Other, line));
                i += 1;
            }
        }
    }
    out
}

fn char_len(b: &[u8]) -> Option<usize> {
    let first = *b.first()?;
    Some(match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    })
}

/// Index just past the closing quote of a string whose body starts at `i`.
fn skip_string(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// Index just past `"` followed by `hashes` `#`s.
fn skip_raw(b: &[u8], mut i: usize, hashes: usize) -> usize {
    while i < b.len() {
        if b[i] == b'"'
            && b[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == b'#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}

/// One source file: its path from `src/`, and its text.
#[derive(Debug, Clone)]
pub struct File {
    pub path: String,
    pub text: String,
}

/// Which top-level module a file belongs to, and its module path inside the crate.
fn module_path(path: &str) -> Vec<String> {
    let trimmed = path.trim_end_matches(".rs");
    let mut parts: Vec<String> = trimmed.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] {
        parts.clear();
    }
    parts
}

/// Where one module refers to another: the first place seen, for the message.
type Edges = BTreeMap<(String, String), String>;

/// The module graph of a crate's library. At every depth, the children of one module and that
/// module's own file (its `mod.rs`, or `lib.rs` at the top, named `ROOT` or `(path)`) are the
/// nodes of one graph, and a reference is an edge of the graph where its two ends part.
pub struct Graph {
    /// The crate root's modules.
    pub modules: BTreeSet<String>,
    /// The top level's edges (the crate root's modules and `ROOT`).
    pub edges: Edges,
    /// Every level's edges, by the module path whose children they join (`[]` is the top).
    pub levels: BTreeMap<Vec<String>, Edges>,
}

/// A node's name at level `parent`: the child's path, or the parent's own file.
fn node(parent: &[String], child: Option<&String>) -> String {
    match child {
        Some(c) => parent
            .iter()
            .chain([c])
            .cloned()
            .collect::<Vec<_>>()
            .join("::"),
        None if parent.is_empty() => ROOT.to_string(),
        None => format!("({}/mod.rs)", parent.join("/")),
    }
}

/// Builds the graph from the library's files (`lib.rs` and everything under it; `main.rs` and
/// the files only it declares are a different crate and are left out by the caller).
pub fn graph(files: &[File]) -> Graph {
    // Every module a file stands for, and every folder module above it.
    let mut mods: BTreeSet<Vec<String>> = BTreeSet::new();
    for f in files {
        let mut m = module_path(&f.path);
        while !m.is_empty() {
            mods.insert(m.clone());
            m.pop();
        }
    }
    // Top-level modules as lib.rs declares them: `mod x;`, `pub mod x;`, `mod x { .. }`.
    let lib = files.iter().find(|f| f.path == "lib.rs");
    let lib_toks = lib.map(|f| lex(&f.text)).unwrap_or_default();
    let mut modules = BTreeSet::new();
    for w in lib_toks.windows(2) {
        if let (Tok::Ident(m), Tok::Ident(name)) = (&w[0].0, &w[1].0) {
            if m == "mod" {
                modules.insert(name.clone());
                mods.insert(vec![name.clone()]);
            }
        }
    }
    // Re-exports (`pub use plan::Plan;` in lib.rs, `pub use self::x::Y;` in a mod.rs) resolve
    // `crate::Plan` to module `plan`: by module, item name -> the child it comes from.
    let mut reexports: BTreeMap<Vec<String>, BTreeMap<String, String>> = BTreeMap::new();
    for f in files {
        let here = module_path(&f.path);
        if !(f.path == "lib.rs" || f.path.ends_with("mod.rs")) {
            continue;
        }
        let toks = lex(&f.text);
        for (i, w) in toks.windows(2).enumerate() {
            if !(w[0].0 == Tok::Ident("pub".into()) && w[1].0 == Tok::Ident("use".into())) {
                continue;
            }
            for (path, _) in use_paths(&toks[i + 2..]) {
                let Some(abs) = absolute(&path, &here, &mods) else {
                    continue;
                };
                let (Some(last), true) = (abs.last(), abs.len() > here.len()) else {
                    continue;
                };
                if abs.starts_with(&here) && mods.contains(&abs[..=here.len()]) {
                    reexports
                        .entry(here.clone())
                        .or_default()
                        .insert(last.clone(), abs[here.len()].clone());
                }
            }
        }
    }
    let mut levels: BTreeMap<Vec<String>, Edges> = BTreeMap::new();
    for f in files {
        let from = module_path(&f.path);
        let toks = lex(&f.text);
        for (full, line) in references(&toks, &from, &mods) {
            let to = resolve(&full, &mods, &reexports);
            let k = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            let (a, b) = (from.get(k), to.get(k));
            if a.is_none() && b.is_none() {
                continue;
            }
            let parent = from[..k].to_vec();
            levels
                .entry(parent.clone())
                .or_default()
                .entry((node(&parent, a), node(&parent, b)))
                .or_insert_with(|| format!("{}:{line}", f.path));
        }
    }
    let edges = levels.get(&Vec::new()).cloned().unwrap_or_default();
    Graph {
        modules,
        edges,
        levels,
    }
}

/// A `use` path as written in module `here`, made absolute (`crate::`, `self::`, `super::`, or
/// a bare child module); `None` for an external crate's path.
fn absolute(path: &[String], here: &[String], mods: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    let first = path.first()?;
    let mut base: Vec<String> = match first.as_str() {
        "crate" => return Some(path[1..].to_vec()),
        "self" => here.to_vec(),
        "super" => {
            let mut b = here.to_vec();
            let mut rest = path;
            while rest.first().is_some_and(|s| s == "super") {
                b.pop();
                rest = &rest[1..];
            }
            b.extend(rest.iter().cloned());
            return Some(b);
        }
        w if mods.contains(
            &here
                .iter()
                .cloned()
                .chain([w.to_string()])
                .collect::<Vec<_>>(),
        ) =>
        {
            return Some(here.iter().chain(path).cloned().collect());
        }
        _ => return None,
    };
    base.extend(path[1..].iter().cloned());
    Some(base)
}

/// The module an absolute path lands in: its longest prefix that is a module, stepping through
/// re-exports (`crate::Sinks` is in `load` when lib.rs says `pub use load::Sinks`).
fn resolve(
    full: &[String],
    mods: &BTreeSet<Vec<String>>,
    reexports: &BTreeMap<Vec<String>, BTreeMap<String, String>>,
) -> Vec<String> {
    let mut cur: Vec<String> = Vec::new();
    for seg in full {
        let mut next = cur.clone();
        next.push(seg.clone());
        if mods.contains(&next) {
            cur = next;
        } else if let Some(child) = reexports.get(&cur).and_then(|r| r.get(seg)) {
            cur.push(child.clone());
            break;
        } else {
            break;
        }
    }
    cur
}

/// Paths of a `use` tree starting at `toks` (after `use`), up to its `;`: each with the line.
fn use_paths(toks: &[(Tok, usize)]) -> Vec<(Vec<String>, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    tree(toks, &mut i, Vec::new(), &mut out);
    out
}

/// Reads one path tree: `a::b::{c, d::e}`; pushes every leaf path.
fn tree(
    toks: &[(Tok, usize)],
    i: &mut usize,
    mut prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, usize)>,
) {
    loop {
        match toks.get(*i) {
            Some((Tok::Ident(s), line)) => {
                prefix.push(s.clone());
                *i += 1;
                if toks.get(*i).map(|t| &t.0) == Some(&Tok::PathSep) {
                    *i += 1;
                    continue;
                }
                out.push((prefix, *line));
                return;
            }
            Some((Tok::Open, _)) => {
                *i += 1;
                loop {
                    match toks.get(*i).map(|t| &t.0) {
                        Some(Tok::Close) => {
                            *i += 1;
                            return;
                        }
                        Some(Tok::Comma) => *i += 1,
                        None | Some(Tok::Semi) => return,
                        _ => {
                            let before = *i;
                            tree(toks, i, prefix.clone(), out);
                            // `as name` and `*` are not paths: step over them.
                            while !matches!(
                                toks.get(*i).map(|t| &t.0),
                                None | Some(Tok::Comma | Tok::Close | Tok::Semi)
                            ) {
                                *i += 1;
                            }
                            if *i == before {
                                *i += 1;
                            }
                        }
                    }
                }
            }
            _ => {
                if !prefix.is_empty() {
                    let line = toks.get(*i).map_or(0, |t| t.1);
                    out.push((prefix, line));
                }
                return;
            }
        }
    }
}

/// Every path a file's code reaches through `crate::`, `super::`, `self::` or (in a module's
/// own file) bare child-module paths: made absolute from the crate root, with its line.
fn references(
    toks: &[(Tok, usize)],
    file_path: &[String],
    mods: &BTreeSet<Vec<String>>,
) -> Vec<(Vec<String>, usize)> {
    let mut out = Vec::new();
    // Inline `mod name { .. }` blocks deepen the module path for `super::`.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut pending_mod: Option<String> = None;
    let mut i = 0;
    while i < toks.len() {
        let (tok, _) = &toks[i];
        match tok {
            Tok::Open => {
                depth += 1;
                if let Some(name) = pending_mod.take() {
                    inline.push((name, depth));
                }
            }
            Tok::Close => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Semi => pending_mod = None,
            Tok::Ident(w) if w == "mod" => {
                if let Some((Tok::Ident(name), _)) = toks.get(i + 1) {
                    pending_mod = Some(name.clone());
                }
            }
            _ => {}
        }
        let preceded_by_sep = i > 0 && toks[i - 1].0 == Tok::PathSep;
        let Tok::Ident(word) = tok else {
            i += 1;
            continue;
        };
        if preceded_by_sep || toks.get(i + 1).map(|t| &t.0) != Some(&Tok::PathSep) {
            i += 1;
            continue;
        }
        let mut here: Vec<String> = file_path.to_vec();
        here.extend(inline.iter().map(|(n, _)| n.clone()));
        // The module path the reference starts from, and where its own segments begin.
        let (base, mut j): (Option<Vec<String>>, usize) = match word.as_str() {
            "crate" => (Some(Vec::new()), i + 2),
            "self" => (Some(here.clone()), i + 2),
            "super" => {
                let mut base = here.clone();
                let mut j = i;
                while matches!(toks.get(j), Some((Tok::Ident(w), _)) if w == "super")
                    && toks.get(j + 1).map(|t| &t.0) == Some(&Tok::PathSep)
                {
                    base.pop();
                    j += 2;
                }
                (Some(base), j)
            }
            // In a module's own file, `plan::Plan` and `use plan::Plan` name its child `plan`.
            w if mods.contains(
                &here
                    .iter()
                    .cloned()
                    .chain([w.to_string()])
                    .collect::<Vec<_>>(),
            ) =>
            {
                (Some(here.clone()), i)
            }
            _ => (None, i + 1),
        };
        if let Some(base) = base {
            let mut paths = Vec::new();
            tree(toks, &mut j, Vec::new(), &mut paths);
            for (p, line) in paths {
                let mut full: Vec<String> = base.iter().cloned().chain(p).collect();
                // `b::{self, ..}` names `b`; `crate::{self as me}` names nothing new.
                if full.last().is_some_and(|s| s == "self") {
                    full.pop();
                }
                if !full.is_empty() && !full.iter().any(|s| s == "self" || s == "super") {
                    out.push((full, line));
                }
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// The cycles of the graph, one per strongly connected component of more than one module,
/// each as a closed path `a -> b -> ... -> a` with where each step is taken.
pub fn cycles(g: &Graph) -> Vec<String> {
    g.levels.values().flat_map(level_cycles).collect()
}

/// The cycles among the nodes of one level.
fn level_cycles(edges: &Edges) -> Vec<String> {
    let mut adj: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        adj.entry(a).or_default().push(b);
    }
    let nodes: BTreeSet<&str> = edges
        .keys()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    let mut out = Vec::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for &start in &nodes {
        if done.contains(start) {
            continue;
        }
        // Shortest path back to `start`, breadth first, if any.
        let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut found = None;
        while let Some(n) = queue.pop_front() {
            for &m in adj.get(n).into_iter().flatten() {
                if m == start {
                    found = Some(n);
                    break;
                }
                if !prev.contains_key(m) && m != start {
                    prev.insert(m, n);
                    queue.push_back(m);
                }
            }
            if found.is_some() {
                break;
            }
        }
        let Some(last) = found else { continue };
        // `last` back to `start` through the breadth-first predecessors, then forwards.
        let mut path = vec![last];
        while let Some(&p) = prev.get(path.last().unwrap()) {
            path.push(p);
        }
        path.reverse();
        path.push(start);
        done.extend(path.iter().copied());
        let steps: Vec<String> = path
            .windows(2)
            .map(|w| {
                let at = &edges[&(w[0].to_string(), w[1].to_string())];
                format!("{} -> {} ({at})", w[0], w[1])
            })
            .collect();
        out.push(format!(
            "{}\n    {}",
            path.join(" -> "),
            steps.join("\n    ")
        ));
    }
    out
}

/// Reads the library files of the crate at `src`: `lib.rs` and every `.rs` under a folder or
/// file that `lib.rs` declares (so `main.rs` and the binary's own modules stay out).
fn read_library(src: &Path) -> Vec<File> {
    let mut files = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(src)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                files.push(File {
                    path: rel,
                    text: std::fs::read_to_string(&path).unwrap(),
                });
            }
        }
    }
    let lib = files.iter().find(|f| f.path == "lib.rs").cloned();
    let declared = lib.map(|l| graph(&[l]).modules).unwrap_or_default();
    files.retain(|f| {
        f.path == "lib.rs"
            || module_path(&f.path)
                .first()
                .is_some_and(|m| declared.contains(m))
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn crate_src(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join(name)
        .join("src")
}

fn check_crate(name: &str) -> Result<Graph, String> {
    let files = read_library(&crate_src(name));
    let g = graph(&files);
    // Not vacuous: the crate has modules and they use each other.
    assert!(
        g.modules.len() >= 4,
        "{name}: found modules {:?}",
        g.modules
    );
    assert!(
        g.edges.len() >= 4,
        "{name}: found only {} references",
        g.edges.len()
    );
    let c = cycles(&g);
    if c.is_empty() {
        Ok(g)
    } else {
        Err(format!(
            "{name} has import cycles between its modules (a module must not import one that \
             imports it; move the shared piece one layer down):\n  {}",
            c.join("\n  ")
        ))
    }
}

#[test]
fn loadgen_modules_import_one_way() {
    let g = check_crate("loadgen").unwrap_or_else(|e| panic!("{e}"));
    check_layout("loadgen", &g);
    // The command line is the top floor under the runner: nothing else reads a flag.
    for ((from, to), at) in &g.edges {
        let allowed = match to.as_str() {
            "cli" => ["runner", ROOT].contains(&from.as_str()),
            "runner" => from == ROOT,
            _ => true,
        };
        assert!(
            allowed,
            "loadgen: {from} imports {to} ({at}); only the runner may"
        );
    }
}

#[test]
fn engine_modules_import_one_way() {
    let g = check_crate("engine").unwrap_or_else(|e| panic!("{e}"));
    check_layout("engine", &g);
    // Folders are checked too: the engine has nested levels, and they hold edges.
    let nested: usize = g
        .levels
        .iter()
        .filter(|(p, _)| !p.is_empty())
        .map(|(_, e)| e.len())
        .sum();
    assert!(nested >= 10, "engine: only {nested} nested references");
}

#[test]
fn the_other_crates_import_one_way_at_every_depth() {
    for name in ["mock-server", "slo", "scenarios"] {
        if let Err(e) = check_crate(name) {
            panic!("{e}");
        }
    }
}

/// The engine's dependencies say what it is: no command line, no mock, no Prometheus rules.
#[test]
fn the_engine_depends_on_no_command_line_mock_or_slo() {
    let manifest = std::fs::read_to_string(crate_src("engine").join("../Cargo.toml")).unwrap();
    let deps: Vec<&str> = manifest
        .split("[dependencies]")
        .nth(1)
        .expect("engine/Cargo.toml has [dependencies]")
        .split("\n[")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split(['.', ' ', '=']).next())
        .filter(|n| !n.is_empty() && !n.starts_with('#'))
        .collect();
    assert!(
        deps.contains(&"tokio") && deps.contains(&"hyper"),
        "{deps:?}"
    );
    for banned in ["clap", "mock-server", "slo", "loadgen", "anyhow"] {
        assert!(!deps.contains(&banned), "engine depends on {banned}");
    }
}

/// No source folder holds more than 12 `.rs` files side by side: past that, a folder is a
/// list, not a shape.
#[test]
fn no_source_folder_holds_more_than_twelve_files() {
    let root = crate_src("loadgen").join("../..");
    let mut crowded = Vec::new();
    for name in e2e::CRATES {
        let mut stack = vec![root.join(name).join("src")];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut files = 0;
            for e in entries {
                let path = e.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|x| x == "rs") {
                    files += 1;
                }
            }
            if files > 12 {
                crowded.push(format!("{} ({files})", dir.display()));
            }
        }
    }
    assert!(crowded.is_empty(), "folders over 12 files: {crowded:?}");
}

/// The modules named in the `# Layout` section of a crate root's `//!`, in the order named.
fn layout_order(lib: &str, modules: &BTreeSet<String>) -> Vec<String> {
    let mut order = Vec::new();
    let mut inside = false;
    for line in lib.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            if inside {
                break;
            }
            continue;
        };
        if doc.trim_start().starts_with('#') {
            inside = doc.trim() == "# Layout";
            continue;
        }
        if !inside {
            continue;
        }
        for (i, part) in doc.split('`').enumerate() {
            if i % 2 == 1 && modules.contains(part) && !order.iter().any(|m| m == part) {
                order.push(part.to_string());
            }
        }
    }
    order
}

/// Every module is named in `lib.rs`'s Layout, and imports only modules named before it.
fn check_layout(name: &str, g: &Graph) {
    let lib = std::fs::read_to_string(crate_src(name).join("lib.rs")).unwrap();
    let order = layout_order(&lib, &g.modules);
    let unplaced: Vec<_> = g.modules.iter().filter(|m| !order.contains(m)).collect();
    assert!(
        unplaced.is_empty(),
        "{name}: lib.rs's Layout does not place {unplaced:?}"
    );
    let rank = |m: &str| order.iter().position(|o| o == m);
    for ((from, to), at) in &g.edges {
        if let (Some(f), Some(t)) = (rank(from), rank(to)) {
            assert!(
                t < f,
                "{name}: {from} imports {to} ({at}), which lib.rs's Layout puts above it"
            );
        }
    }
}

#[test]
fn layout_order_reads_the_named_modules_in_order() {
    let modules: BTreeSet<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    let lib = "//! Intro `c`.\n//!\n//! # Layout\n//!\n//! 1. `b` (uses `x::Y`), `a`\n//! 2. `c`, `b`\n//!\n//! # Other\n//! `a`\npub mod a;";
    assert_eq!(layout_order(lib, &modules), ["b", "a", "c"]);
}

/// A made-up crate from (path, text) pairs.
fn fake(files: &[(&str, &str)]) -> Graph {
    let files: Vec<File> = files
        .iter()
        .map(|(p, t)| File {
            path: p.to_string(),
            text: t.to_string(),
        })
        .collect();
    graph(&files)
}

fn edge_set(g: &Graph) -> Vec<String> {
    g.edges.keys().map(|(a, b)| format!("{a}->{b}")).collect()
}

#[test]
fn a_dag_passes() {
    let g = fake(&[
        (
            "lib.rs",
            "pub mod a;\npub mod b;\npub mod c;\npub use a::Thing;\n",
        ),
        ("a.rs", "use crate::{b::X, c};\nfn f() { crate::c::g(); }"),
        ("b.rs", "use super::c::Y;"),
        (
            "c.rs",
            "//! Not a path: crate::a::Thing\nfn g() { let s = \"crate::a::x\"; }",
        ),
    ]);
    assert_eq!(edge_set(&g), ["(lib.rs)->a", "a->b", "a->c", "b->c"]);
    assert!(cycles(&g).is_empty(), "{:?}", cycles(&g));
}

#[test]
fn a_cycle_is_found_and_named() {
    let g = fake(&[
        ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
        ("a.rs", "use crate::b;"),
        ("b/mod.rs", "mod inner;"),
        ("b/inner.rs", "fn f() -> super::super::c::T { todo!() }"),
        ("c.rs", "#[arg(value_parser = crate::a::parse)]\nstruct S;"),
    ]);
    let c = cycles(&g);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].starts_with("a -> b -> c -> a"), "{}", c[0]);
    assert!(c[0].contains("b/inner.rs:1"), "{}", c[0]);
    assert!(c[0].contains("c.rs:1"), "{}", c[0]);
}

#[test]
fn grouped_nested_imports_and_the_root_count() {
    let g = fake(&[
        (
            "lib.rs",
            "pub mod a;\npub mod b;\npub const LIMIT: u32 = 1;\nfn run() { b::go(); }",
        ),
        (
            "a.rs",
            "use crate::{\n    self as me,\n    b::{self, deep::{X, Y as Z}},\n};\nfn f() { let _ = crate::LIMIT; }",
        ),
        ("b.rs", "use crate::a::*;"),
    ]);
    assert_eq!(edge_set(&g), ["(lib.rs)->b", "a->(lib.rs)", "a->b", "b->a"]);
    // a <-> b and a -> lib.rs -> b -> a are one knot: it is reported once, as a closed path
    // whose every step is a real reference.
    let c = cycles(&g);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].contains("b -> a (b.rs:1)"), "{}", c[0]);
}

#[test]
fn inline_test_modules_and_literals_do_not_make_edges() {
    let g = fake(&[
        ("lib.rs", "pub mod a;\npub mod b;"),
        (
            "a.rs",
            "fn f() {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use super::super::b::T;\n}\n\
             const C: char = '{';\nfn g<'a>(x: &'a str) -> &'a str { x }\n\
             const R: &str = r#\"crate::b::x \"quoted\" \"#;\n/* crate::b /* nested */ crate::b */",
        ),
        ("b.rs", "fn h() { let _ = 'x'; let _ = b\"crate::a\"; }"),
    ]);
    // `super::super::b` from `a::tests` is `crate::b`: a real reference; nothing else is.
    assert_eq!(edge_set(&g), ["a->b"]);
    assert!(cycles(&g).is_empty());
}

#[test]
fn a_circle_between_siblings_in_a_folder_is_found() {
    let g = fake(&[
        ("lib.rs", "pub mod w;\npub mod top;"),
        ("top.rs", "use crate::w::a::X;"),
        ("w/mod.rs", "pub mod a;\npub mod b;\npub use self::a::X;"),
        ("w/a.rs", "use super::b::Y;\npub struct X;"),
        (
            "w/b.rs",
            "pub struct Y;\nfn f() -> crate::w::a::X { todo!() }",
        ),
    ]);
    // The top level is clean: `top` reaches into `w` from outside.
    assert_eq!(edge_set(&g), ["top->w"]);
    let c = cycles(&g);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].starts_with("w::a -> w::b -> w::a"), "{}", c[0]);
    assert!(c[0].contains("w/b.rs:2"), "{}", c[0]);
}

#[test]
fn a_child_using_its_folders_own_file_that_uses_it_is_a_circle() {
    let g = fake(&[
        ("lib.rs", "pub mod load;\npub use load::Sinks;"),
        (
            "load/mod.rs",
            "mod worker;\npub struct Sinks;\nfn run() { worker::go(); }",
        ),
        ("load/worker.rs", "pub fn go() { let _ = crate::Sinks; }"),
    ]);
    let c = cycles(&g);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].contains("(load/mod.rs) -> load::worker"), "{}", c[0]);
    // Without the call back, the folder is a tree.
    let g = fake(&[
        ("lib.rs", "pub mod load;\npub use load::Sinks;"),
        (
            "load/mod.rs",
            "mod worker;\npub struct Sinks;\nfn run() { worker::go(); }",
        ),
        ("load/worker.rs", "pub fn go() {}"),
    ]);
    assert!(cycles(&g).is_empty(), "{:?}", cycles(&g));
    assert_eq!(g.levels[&vec!["load".to_string()]].len(), 1);
}
