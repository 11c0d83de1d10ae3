//! The pieces every web page of the workspace shares, so there is one copy of each: the
//! hand-written SVG chart helper (`chart.js`), the base stylesheet, the security headers a page
//! served to a room or the Internet needs, HTML escaping, the request [`guard`] that keeps
//! pages on other sites from driving these servers, and the fixed-size [`ring`] a server keeps
//! its charts' history in.
//!
//! The assets are plain files embedded at compile time: no build step, no CDN, nothing fetched
//! at view time. A server hands them out by name with [`asset`]; a self-contained HTML report
//! inlines them with [`inline_script`] and [`inline_style`] instead.

pub mod guard;
pub mod ring;

use std::borrow::Cow;

/// One embedded file, with the `Content-Type` to serve it under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    pub name: &'static str,
    pub body: &'static str,
    pub content_type: &'static str,
}

/// The chart helper: a classic script that defines `window.WebUI` (`lineChart`, `h`, formats).
pub const CHART_JS: &str = include_str!("../assets/chart.js");
/// Layout, panels, charts and forms, in one light theme readable on a projector.
pub const BASE_CSS: &str = include_str!("../assets/base.css");

/// The shared assets, under the names pages link them by.
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "chart.js",
        body: CHART_JS,
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        name: "base.css",
        body: BASE_CSS,
        content_type: "text/css; charset=utf-8",
    },
];

/// A shared asset by name (`chart.js`, `base.css`).
pub fn asset(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// The `Content-Type` for a file name, by extension, for a page's own assets.
pub fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// The Content-Security-Policy of a served page: scripts, styles and data from the page's own
/// origin only, no inline script, no framing, no forms posting elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// Headers every page and asset is served with (name, value), CSP included.
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
];

/// Sets a served page's or asset's type, the [`SECURITY_HEADERS`] and `no-store`: the data
/// changes every second and the assets with every build, so nothing may be cached.
pub fn secure_headers(h: &mut http::HeaderMap, content_type: &'static str) {
    use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue};
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in SECURITY_HEADERS {
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Escapes text for an HTML element or a quoted attribute value.
pub fn escape_html(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A `<script>` element carrying `source` inline, for a self-contained HTML file.
///
/// The HTML tokenizer ends a script at `</script`, and after `<!--` a `<script` makes it skip
/// the next `</script>` (the "double escaped" state), leaving the element open. So each of
/// `</`, `<!--` and `<script` (any case) gets a backslash after its `<`: inside a JS string,
/// where embedded data puts them, `\/`, `\!` and `\s` read as the characters themselves.
pub fn inline_script(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + 20);
    out.push_str("<script>\n");
    let mut rest = source;
    while let Some(at) = rest.find('<') {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        out.push('<');
        let after = &tail[1..];
        let opens = after.starts_with('/')
            || after.starts_with("!--")
            || after
                .get(..6)
                .is_some_and(|w| w.eq_ignore_ascii_case("script"));
        if opens {
            out.push('\\');
        }
        rest = after;
    }
    out.push_str(rest);
    out.push_str("\n</script>");
    out
}

/// A `<style>` element carrying `source` inline, for a self-contained HTML file.
pub fn inline_style(source: &str) -> String {
    format!("<style>\n{}\n</style>", source.replace("</", "<\\/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        assert_eq!(
            escape_html(r#"<img src=x onerror="a('b')">&"#),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
        assert!(matches!(escape_html("plain 5 ms"), Cow::Borrowed(_)));
    }

    #[test]
    fn inlined_sources_cannot_close_their_element() {
        let s = inline_script("const x = '</script><script>alert(1)</script>';");
        assert_eq!(s.matches("</script>").count(), 1, "{s}");
        // Issue 24, item 7: `<!--` then `<script` kept the element open past its end tag.
        let s = inline_script("var L = '<!--<script>', M = '<!--<SCRIPT ', N = 'a<b';");
        assert_eq!(
            s,
            "<script>\nvar L = '<\\!--<\\script>', M = '<\\!--<\\SCRIPT ', N = 'a<b';\n</script>"
        );
        assert!(!s.contains("<!--") && !s.to_ascii_lowercase()[1..].contains("<script"));

        assert!(inline_style("a::after{content:'</style>'}").ends_with("'}\n</style>"));
    }

    #[test]
    fn assets_are_found_by_name_with_their_type() {
        let js = asset("chart.js").unwrap();
        assert!(js.content_type.starts_with("text/javascript"));
        assert!(js.body.contains("lineChart"));
        assert!(asset("base.css").unwrap().body.contains(".panel"));
        assert_eq!(asset("../Cargo.toml"), None);
        assert_eq!(content_type("console.html"), "text/html; charset=utf-8");
    }

    #[test]
    fn the_policy_allows_no_inline_script() {
        let script_src = CSP
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap();
        assert_eq!(script_src, "script-src 'self'");
        assert!(!CSP.contains("unsafe"));
    }
}
