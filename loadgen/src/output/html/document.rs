//! Writes a [`Page`] as one self-contained HTML document, with the workspace's shared chart
//! helper and stylesheet inlined and a Content-Security-Policy that forbids every fetch:
//! nothing leaves the file. Every piece of report text is escaped on the way in.

use std::fmt::Write as _;

use serde_json::json;

use super::page::{Page, Table};

/// No network at all: only the page's own inline script and style, and images from `data:`.
pub const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/// The page as one self-contained HTML document.
pub fn render(page: &Page) -> String {
    let e = |s: &str| webui::escape_html(s).into_owned();
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n{base}\n{own}\n</head>\n<body>\n\
         <header class=\"top\"><h1>{title}</h1><span class=\"meta\">{subtitle}</span></header>\n<main>\n",
        csp = e(CSP),
        title = e(&page.title),
        subtitle = e(&page.subtitle),
        base = webui::inline_style(webui::BASE_CSS),
        own = webui::inline_style(PAGE_CSS),
    );
    for n in &page.notices {
        let class = match n.good {
            Some(true) => "notice good",
            Some(false) => "notice bad",
            None => "notice",
        };
        let _ = writeln!(out, "<p class=\"{class}\">{}</p>", e(&n.text));
    }
    out.push_str("<section class=\"panel row stats\">\n");
    for (label, value) in &page.stats {
        let _ = writeln!(
            out,
            "<span class=\"stat\">{} <b>{}</b></span>",
            e(label),
            e(value)
        );
    }
    out.push_str("</section>\n<section class=\"grid-2 charts\">\n");
    for (i, c) in page.charts.iter().enumerate() {
        let _ = writeln!(
            out,
            "<div class=\"panel\"><h2>{}</h2><div class=\"chart-box\" id=\"chart-{i}\"></div></div>",
            e(&c.title)
        );
    }
    if !page.histogram.is_empty() {
        out.push_str(
            "<div class=\"panel\"><h2>Response time histogram (ms)</h2>\
             <div class=\"chart-box\" id=\"histogram\"></div></div>\n",
        );
    }
    out.push_str("</section>\n");
    if page.charts.is_empty() && page.histogram.is_empty() {
        out.push_str("<p class=\"muted\">No time series was recorded for this run.</p>\n");
    }
    for t in &page.tables {
        table(&mut out, t);
    }
    out.push_str("</main>\n");
    let data = json!({
        "charts": page.charts,
        "markers": page.markers,
        "histogram": {
            "labels": page.histogram.iter().map(|(l, _)| l).collect::<Vec<_>>(),
            "values": page.histogram.iter().map(|(_, n)| n).collect::<Vec<_>>(),
        },
    });
    out.push_str(&webui::inline_script(webui::CHART_JS));
    out.push('\n');
    // Labels are user text (step names, targets): `<` goes in as `\u003c`, and inline_script
    // escapes what the page's own code holds.
    out.push_str(&webui::inline_script(&format!(
        "var REPORT = {};\n{PAGE_JS}",
        script_json(&data)
    )));
    out.push_str("\n</body>\n</html>\n");
    out
}

/// `value` as JSON for an inline script, every `<` written `\u003c`. JSON puts `<` only
/// inside strings, so this is exact, and no label can start markup whatever it holds.
fn script_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

fn table(out: &mut String, t: &Table) {
    let e = |s: &str| webui::escape_html(s).into_owned();
    // A table of two or three columns reads better narrow than spread over the page.
    let narrow = if t.columns.len() <= 3 {
        " class=\"narrow\""
    } else {
        ""
    };
    let _ = write!(
        out,
        "<section class=\"panel table\"><h2>{}</h2>\n<table{narrow}>\n<tr>",
        e(&t.title)
    );
    for c in &t.columns {
        let _ = write!(out, "<th>{}</th>", e(c));
    }
    out.push_str("</tr>\n");
    if t.rows.is_empty() {
        let _ = writeln!(
            out,
            "<tr><td class=\"muted\" colspan=\"{}\">none</td></tr>",
            t.columns.len()
        );
    }
    for row in &t.rows {
        out.push_str("<tr>");
        for c in row {
            let mut class = Vec::new();
            if c.num {
                class.push("num");
            }
            class.extend(c.class);
            if class.is_empty() {
                let _ = write!(out, "<td>{}</td>", e(&c.text));
            } else {
                let _ = write!(out, "<td class=\"{}\">{}</td>", class.join(" "), e(&c.text));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</section>\n");
}

/// Draws the charts from `REPORT` with the shared helper, and again when the window is resized.
/// (Public so the golden files can leave it out, as they leave out `webui`'s shared assets.)
pub const PAGE_JS: &str = r#"(function () {
  'use strict';
  var W = window.WebUI;
  var markers = REPORT.markers.map(function (m) {
    return { t: m.t_secs * 1000, label: m.label, short: m.short };
  });
  function draw() {
    REPORT.charts.forEach(function (c, i) {
      var box = document.getElementById('chart-' + i);
      var t = c.t_secs.map(function (s) { return s * 1000; });
      W.lineChart(box, {
        t: t, from: 0, to: t.length ? t[t.length - 1] : 1, elapsed: true,
        series: c.series, unit: c.unit, markers: markers, title: c.title, height: 200
      });
    });
    var h = document.getElementById('histogram');
    if (h) W.barChart(h, {
      labels: REPORT.histogram.labels, values: REPORT.histogram.values,
      title: 'response time histogram', height: 200
    });
  }
  draw();
  var pending;
  window.addEventListener('resize', function () {
    clearTimeout(pending);
    pending = setTimeout(draw, 100);
  });
})();"#;

/// What the report adds to the shared stylesheet.
pub const PAGE_CSS: &str = "main > section { margin-bottom: 12px; }
.stats { gap: 18px; }
.notice.good { background: #dcf3e4; border-color: #8cc9a3; }
.notice.bad { background: #fbe1df; border-color: #e0a29c; }
section.table { overflow-x: auto; }
table.narrow { width: auto; min-width: 360px; }
td.good { color: #0a7a38; font-weight: 600; }
td.bad { color: #b3261e; font-weight: 600; }
";

#[cfg(test)]
mod tests {
    use super::super::page::{Cell, Page, Table};
    use super::render;

    #[test]
    fn text_from_the_report_is_escaped_and_nothing_is_fetched() {
        let page = Page {
            title: "t <script>".into(),
            tables: vec![Table {
                title: "x".into(),
                columns: vec!["<b>".into()],
                rows: vec![vec![Cell::text("</script><img src=http://x>")]],
            }],
            ..Page::default()
        };
        let html = render(&page);
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("t &lt;script&gt;"));
        assert!(
            html.contains("default-src &#39;none&#39;"),
            "the policy, attribute-escaped"
        );
        assert!(!html.contains("src=\"http"), "no external script or image");
        assert!(
            !html.contains("href=\"http"),
            "no external stylesheet or link"
        );
    }
}
