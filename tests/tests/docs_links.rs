//! The docs hold together: every relative link in the README, the guide's pages under `docs/`
//! and the crates' READMEs points at a file that exists and, with `#anchor`, at a heading that
//! page has (GitHub's slugs); the README stays a front page of at most 250 lines. The checker's
//! own test runs it on made-up pages, so it cannot pass by finding no link.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `](target)` links of a Markdown text, outside fenced code blocks and inline code.
fn links(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in md.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Drop inline code spans, then read `](...)`.
        let prose: String = line
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, s)| s)
            .collect::<Vec<_>>()
            .join(" ");
        let mut rest = prose.as_str();
        while let Some(i) = rest.find("](") {
            rest = &rest[i + 2..];
            if let Some(end) = rest.find(')') {
                out.push(rest[..end].to_string());
                rest = &rest[end..];
            }
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(md: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in md.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.push(slug(line.trim_start_matches('#')));
        }
    }
    out
}

/// Every broken link of the page at `page` (read with `read`), as "page: target (why)".
fn broken(page: &Path, read: &dyn Fn(&Path) -> Option<String>) -> Vec<String> {
    let text = read(page).unwrap_or_else(|| panic!("{} is missing", page.display()));
    let dir = page.parent().unwrap();
    let mut out = Vec::new();
    for link in links(&text) {
        if link.contains("://") || link.starts_with("mailto:") {
            continue;
        }
        let (file, anchor) = link.split_once('#').unwrap_or((&link, ""));
        let target = if file.is_empty() {
            page.to_path_buf()
        } else {
            dir.join(file)
        };
        // Pictures are not text: a path that exists is enough for them.
        let exists = read(&target).is_some() || target.exists();
        if !exists {
            out.push(format!("{}: {link} (no such file)", page.display()));
        } else if !anchor.is_empty() {
            let body = read(&target).unwrap_or_default();
            if !anchors(&body).iter().any(|a| a == anchor) {
                out.push(format!("{}: {link} (no such heading)", page.display()));
            }
        }
    }
    out
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let read = |p: &Path| std::fs::read_to_string(p).ok();
    let pages = e2e::doc_pages();
    let mut bad = Vec::new();
    let mut seen = 0;
    for p in &pages {
        seen += links(&read(p).unwrap_or_default()).len();
        bad.extend(broken(p, &read));
    }
    assert!(bad.is_empty(), "broken links:\n  {}", bad.join("\n  "));
    // Not vacuous: the front page links the guide, and the guide links back and around.
    assert!(seen >= 30, "only {seen} links in {} pages", pages.len());
}

#[test]
fn the_readme_is_a_front_page_that_links_every_guide_page() {
    let root = workspace();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let n = readme.lines().count();
    assert!(n <= 250, "README.md has {n} lines; move detail to docs/");
    let linked = links(&readme);
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "md") {
            let name = format!("docs/{}", p.file_name().unwrap().to_string_lossy());
            assert!(
                linked
                    .iter()
                    .any(|l| l.split('#').next() == Some(name.as_str())),
                "README.md does not link {name}"
            );
        }
    }
}

#[test]
fn the_checker_finds_missing_files_and_headings() {
    let files = [
        (
            "/d/a.md",
            "# A\n## The swarm page (`journey --web`)\n[b](b.md#top) [x](missing.md)\n\
             `[no](code.md)`\n```\n[no](fenced.md)\n```\n[self](#the-swarm-page-journey---web) \
             [bad](#nope) [web](https://example.com/x)",
        ),
        ("/d/b.md", "# Top\ntext"),
    ];
    let read = |p: &Path| {
        files
            .iter()
            .find(|(n, _)| Path::new(n) == p)
            .map(|(_, t)| t.to_string())
    };
    let bad = broken(Path::new("/d/a.md"), &read);
    assert_eq!(
        bad,
        [
            "/d/a.md: missing.md (no such file)",
            "/d/a.md: #nope (no such heading)"
        ]
    );
    assert_eq!(
        slug("Walkthrough: the Serverless Journey, locally"),
        "walkthrough-the-serverless-journey-locally"
    );
}
