//! The files the generator owns under `scenarios/slo/`: the real rules, the time-compressed copy
//! and the promtool tests of both. A test compares them with the checked-in files byte for byte
//! and rewrites them when `UPDATE_RULES=1` is set.

use crate::duration::Compression;
use crate::rules::{CompressionError, rules};
use crate::spec::Spec;
use crate::testgen::rule_tests;

/// The real rules, relative to `scenarios/slo/`.
pub const RULES: &str = "rules.yml";

/// The rules compressed by [`Compression::E2E`], relative to `scenarios/slo/`.
pub fn compressed_rules() -> String {
    format!("rules.compressed-{}x.yml", Compression::E2E.factor())
}

/// One generated file: path relative to `scenarios/slo/`, and contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: String,
    pub contents: String,
}

/// Every generated file, in a fixed order.
pub fn generated_files(spec: &Spec) -> Result<Vec<GeneratedFile>, CompressionError> {
    let mut files = vec![
        GeneratedFile {
            path: RULES.into(),
            contents: rules(spec, Compression::NONE)?,
        },
        GeneratedFile {
            path: compressed_rules(),
            contents: rules(spec, Compression::E2E)?,
        },
    ];
    for test in rule_tests(spec, Compression::NONE, &format!("../{RULES}"))? {
        files.push(GeneratedFile {
            path: format!("tests/{}", test.name),
            contents: test.contents,
        });
    }
    let dir = format!("compressed-{}x", Compression::E2E.factor());
    for test in rule_tests(
        spec,
        Compression::E2E,
        &format!("../../{}", compressed_rules()),
    )? {
        files.push(GeneratedFile {
            path: format!("tests/{dir}/{}", test.name),
            contents: test.contents,
        });
    }
    Ok(files)
}
