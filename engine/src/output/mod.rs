//! Turning reports into what people and machines read: hey's text summary and the JSON report
//! (`render`), and one self-contained HTML page per report (`html_report`).

pub mod html_report;
pub mod render;
