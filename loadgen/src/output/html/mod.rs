//! `--html FILE`: a run's report as one self-contained HTML page that opens offline and can be
//! kept and shared. Each report family turns its report into a [`Page`] (`hey`, `journey`,
//! `canary`, `timeline`), from the pieces they share (`parts`); `document` writes the page.

pub mod canary;
mod document;
pub mod hey;
pub mod journey;
mod page;
mod parts;
pub mod timeline;

use std::io::{self, Write};

pub use self::document::{CSP, PAGE_CSS, PAGE_JS, render};
pub use self::page::{Cell, Chart, Marker, Notice, Page, Series, Table};

/// Writes `page` as its HTML document.
pub fn write(w: &mut dyn Write, page: &Page) -> io::Result<()> {
    w.write_all(render(page).as_bytes())
}
