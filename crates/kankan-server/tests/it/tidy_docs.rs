//! Tidy: what ARCHITECTURE.md, README.md and docs/privacy/promises.md name exists (and one
//! check of the code beside them: account keys are unwrapped only by the key vault).
//!
//! The rules, applied to code spans (`backticked` text outside ``` fences):
//! - **Path**: a span containing `/` that ends in `/` or a file extension, or whose first
//!   component is an entry of the repository root (`scripts/test`, `.ci/run`). In `file::name`
//!   the path is the part before `::`. Not paths: spans with whitespace, `{`, `<`, `*`, `...` or
//!   `://` (templates, commands, URLs), starting with `/` (HTTP routes) or `../` (outside the
//!   repository), or under the data directory the server writes at run time (`DATA_DIR`).
//!   Outside code spans, `docs/...` words and Markdown link targets are paths too.
//! - A path exists relative to one of, in order: the repository root; `crates/`; the crate of
//!   the ARCHITECTURE.md `### \`kankan-xxx\`` section it is under (`crates/<crate>/`, then its
//!   `src/`); a crate named in an earlier span of the same paragraph or table cell (likewise);
//!   any directory above a path named earlier in the same paragraph or table cell
//!   (`pages/messages.js` after `web/js/pages/playback.js`, `recording/keys.rs` after
//!   `kankan-core/src/recording/segfile.rs`); or, for the layout every crate shares
//!   (`GENERIC`, such as `tests/it/main.rs`), any crate. A bare relative path with none of these
//!   (`recording/playback.rs` alone in a cell) is ambiguous, so it fails: name its crate.
//! - **Crate**: a span that is a `kankan-xxx` name, or starts with `kankan_xxx::`, names a
//!   directory under `crates/` or a binary one of them declares (`kankan-cam`); and every
//!   directory under `crates/` has a `### \`kankan-xxx\`` section in ARCHITECTURE.md.
//! - **Promise tests**: in promises.md, a `file.rs::name` span names a function `name` in that
//!   file (a path when it has a `/`, else any file so named under `crates/`), and
//!   `module::tests::name` a function in `module.rs` or `module/mod.rs`; the bare `snake_case`
//!   names of the "Proven by" column name a function in some `.rs` file under `crates/`.

use std::path::{Path, PathBuf};

const DOCS: [&str; 3] = ["ARCHITECTURE.md", "README.md", "docs/privacy/promises.md"];
/// README's "Where data lives": files the server writes in its data directory, not sources.
const DATA_DIR: [&str; 6] =
    ["kankan-data/", "kankan-demo/", "blobs/", "journal/", "album-staging/", "tls/"];
/// Paths every crate's layout has; named without a crate.
const GENERIC: [&str; 1] = ["tests/it/main.rs"];
/// Column of promises.md's table that names the tests.
const PROVEN_BY: usize = 4;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A paragraph or a table cell, with the crate of its code-map section and its column.
struct Unit {
    text: String,
    section_crate: Option<String>,
    column: Option<usize>,
}

/// Splits a document into paragraphs and table cells, leaving out fenced code.
fn units(doc: &str) -> Vec<Unit> {
    let (mut out, mut para, mut krate, mut fenced) = (Vec::new(), String::new(), None, false);
    let flush = |out: &mut Vec<Unit>, para: &mut String, krate: &Option<String>| {
        if !para.trim().is_empty() {
            out.push(Unit {
                text: std::mem::take(para),
                section_crate: krate.clone(),
                column: None,
            });
        }
    };
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            flush(&mut out, &mut para, &krate);
        } else if fenced {
        } else if line.trim().is_empty() {
            flush(&mut out, &mut para, &krate);
        } else if line.starts_with('#') {
            flush(&mut out, &mut para, &krate);
            krate = line
                .strip_prefix("### `")
                .and_then(|h| h.split('`').next())
                .filter(|c| c.starts_with("kankan-"))
                .map(String::from);
            para.push_str(line);
            para.push('\n');
        } else if line.starts_with('|') {
            flush(&mut out, &mut para, &krate);
            for (column, cell) in line.split('|').enumerate() {
                let (text, section_crate) = (cell.to_string(), krate.clone());
                out.push(Unit { text, section_crate, column: Some(column) });
            }
        } else {
            para.push_str(line);
            para.push('\n');
        }
    }
    flush(&mut out, &mut para, &krate);
    out
}

/// The code spans of a unit, whitespace normalised, and the text outside them.
fn spans(text: &str) -> (Vec<String>, String) {
    let (mut code, mut prose) = (Vec::new(), String::new());
    for (i, piece) in text.split('`').enumerate() {
        if i % 2 == 1 {
            code.push(piece.split_whitespace().collect::<Vec<_>>().join(" "));
        } else {
            prose.push_str(piece);
            prose.push(' ');
        }
    }
    (code, prose)
}

fn is_crate_name(s: &str) -> bool {
    s.strip_prefix("kankan-").is_some_and(|rest| {
        !rest.is_empty()
            && rest.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    })
}

/// The repository path a code span names, if it names one (see the rules above).
fn path_of(root: &Path, span: &str) -> Option<String> {
    let p = span.split("::").next().unwrap_or(span);
    let template = ["{", "<", "*", "...", "://"].iter().any(|t| p.contains(t));
    if template || p.contains(char::is_whitespace) || !p.contains('/') || p.starts_with('/') {
        return None;
    }
    if p.starts_with("../") || DATA_DIR.iter().any(|d| p.starts_with(d)) {
        return None;
    }
    let last = p.rsplit('/').next().unwrap_or_default();
    let extension = last.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && !ext.is_empty() && ext.chars().all(|c| c.is_ascii_alphanumeric())
    });
    let first = p.split('/').next().unwrap_or_default();
    let top_level = !first.is_empty() && first != "." && root.join(first).exists();
    (p.ends_with('/') || extension || top_level).then(|| p.to_string())
}

/// Every `docs/...` word and Markdown link target of prose.
fn prose_paths(prose: &str) -> Vec<String> {
    let trim = |s: &str| s.trim_end_matches(['.', ',', ';', ':']).to_string();
    let mut out: Vec<String> = prose
        .split(|c: char| c.is_whitespace() || "()[]".contains(c))
        .filter(|w| w.starts_with("docs/"))
        .map(trim)
        .collect();
    for link in prose.split("](").skip(1) {
        let target = link.split(')').next().unwrap_or_default();
        if !target.contains("://") && !target.starts_with('#') && !target.is_empty() {
            out.push(trim(target));
        }
    }
    out
}

fn crate_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .expect("crates/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    dirs.sort();
    dirs
}

/// Where `path` is, trying `bases` in order; generic paths may be in any crate.
fn resolve(bases: &[PathBuf], crates: &[PathBuf], path: &str) -> Option<PathBuf> {
    let generic = GENERIC.contains(&path);
    let any_crate = crates.iter().filter(|_| generic);
    bases.iter().chain(any_crate).map(|b| b.join(path)).find(|p| p.exists())
}

#[test]
fn every_path_the_docs_name_exists() {
    let root = root();
    let crates = crate_dirs(&root);
    let crate_bases =
        |c: &str| [root.join("crates").join(c), root.join("crates").join(c).join("src")];
    let mut stale = Vec::new();
    for doc in DOCS {
        for unit in units(&read(&root.join(doc))) {
            let mut bases = vec![root.clone(), root.join("crates")];
            bases.extend(unit.section_crate.iter().flat_map(|c| crate_bases(c)));
            let (code, prose) = spans(&unit.text);
            let named = code.iter().map(|span| (span, path_of(&root, span)));
            let in_prose = prose_paths(&prose).into_iter().map(|p| (&unit.text, Some(p)));
            for (span, path) in named.chain(in_prose) {
                if is_crate_name(span) {
                    bases.extend(crate_bases(span));
                }
                let Some(path) = path else { continue };
                match resolve(&bases, &crates, &path) {
                    // What follows may be written relative to any directory above it.
                    Some(p) => bases.extend(
                        p.ancestors().filter(|a| a.starts_with(&root)).map(Path::to_path_buf),
                    ),
                    None => stale.push(format!("{doc}: `{path}`")),
                }
            }
        }
    }
    assert!(stale.is_empty(), "paths named in the docs that do not exist:\n{}", stale.join("\n"));
}

/// The crates (directory names under `crates/`) and the binaries they declare.
fn crates_and_binaries(root: &Path) -> (Vec<String>, Vec<String>) {
    let (mut crates, mut binaries) = (Vec::new(), Vec::new());
    for dir in crate_dirs(root) {
        crates.push(dir.file_name().expect("name").to_string_lossy().into_owned());
        for bin in read(&dir.join("Cargo.toml")).split("[[bin]]").skip(1) {
            let name = bin.lines().find_map(|l| l.trim().strip_prefix("name = \""));
            binaries.extend(name.map(|n| n.trim_end_matches('"').to_string()));
        }
    }
    (crates, binaries)
}

#[test]
fn every_crate_the_docs_name_exists() {
    let root = root();
    let (crates, binaries) = crates_and_binaries(&root);
    let mut unknown = Vec::new();
    for doc in DOCS {
        for unit in units(&read(&root.join(doc))) {
            for span in spans(&unit.text).0 {
                let named = match span.split_once("::") {
                    Some((head, _)) if head.starts_with("kankan_") => head.replace('_', "-"),
                    _ if is_crate_name(&span) => span.clone(),
                    _ => continue,
                };
                if !crates.contains(&named) && !binaries.contains(&named) {
                    unknown.push(format!("{doc}: `{span}`"));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "crates named in the docs that do not exist:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn every_crate_has_a_section_in_the_code_map() {
    let root = root();
    let architecture = read(&root.join("ARCHITECTURE.md"));
    let undocumented: Vec<String> = crates_and_binaries(&root)
        .0
        .into_iter()
        .filter(|c| !architecture.lines().any(|l| l.starts_with(&format!("### `{c}`"))))
        .collect();
    assert!(
        undocumented.is_empty(),
        "crates without a ### section in ARCHITECTURE.md: {undocumented:?}"
    );
}

/// Every Rust source under `dir`, with its text.
fn rust_files(dir: &Path) -> Vec<(PathBuf, String)> {
    kankan_testkit::files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            let text = read(&p);
            (p, text)
        })
        .collect()
}

fn defines(source: &str, name: &str) -> bool {
    source.contains(&format!("fn {name}(")) || source.contains(&format!("fn {name}<"))
}

/// Whether a source file is one a citation names.
type InFile<'a> = Box<dyn Fn(&Path) -> bool + 'a>;

/// The privacy promises and the threat model (docs/security.md) cite the tests that prove
/// them; each must exist.
#[test]
fn every_test_a_privacy_promise_or_the_threat_model_cites_exists() {
    let root = root();
    let sources = rust_files(&root.join("crates"));
    let named = |p: &Path, file: &str| p.file_name().is_some_and(|n| n == file);
    let mut missing = Vec::new();
    let docs = [read(&root.join("docs/privacy/promises.md")), read(&root.join("docs/security.md"))];
    for unit in docs.iter().flat_map(|d| units(d)) {
        for span in spans(&unit.text).0 {
            let parts: Vec<&str> = span.split("::").collect();
            let snake = |s: &str| {
                s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            };
            let (name, in_file): (&str, InFile) = match parts[..] {
                [file, name] if file.ends_with(".rs") && file.contains('/') => {
                    let full = [root.clone(), root.join("crates")].map(|b| b.join(file));
                    (name, Box::new(move |p: &Path| full.iter().any(|f| f == p)))
                }
                [file, name] if file.ends_with(".rs") => {
                    (name, Box::new(move |p: &Path| named(p, file)))
                }
                [module, "tests", name] if snake(module) => (
                    name,
                    Box::new(move |p: &Path| {
                        named(p, &format!("{module}.rs"))
                            || (named(p, "mod.rs") && p.parent().is_some_and(|d| named(d, module)))
                    }),
                ),
                [name] if unit.column == Some(PROVEN_BY) && name.contains('_') && snake(name) => {
                    (name, Box::new(|_: &Path| true))
                }
                _ => continue,
            };
            if !sources.iter().any(|(path, source)| in_file(path) && defines(source, name)) {
                missing.push(span.clone());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "tests the privacy promises or docs/security.md cite that do not exist:\n{}",
        missing.join("\n")
    );
}

/// Not a document, but the same kind of check: the key vault is the one place account keys
/// are unwrapped; no other source file of the workspace calls the keyring's unwrap
/// (kankan-crypto, which defines it, aside).
#[test]
fn account_keys_are_unwrapped_only_by_the_key_vault() {
    let crates = root().join("crates");
    let sources = rust_files(&crates);
    assert!(sources.len() > 50, "the workspace's sources were read: {}", sources.len());
    let vault = crates.join("kankan-core/src/vault.rs");
    let crypto = crates.join("kankan-crypto");
    let callers: Vec<String> = sources
        .iter()
        .filter(|(p, _)| {
            *p != vault
                && !p.starts_with(&crypto)
                && p.components().all(|c| c.as_os_str() != "tests")
        })
        .filter(|(_, text)| text.contains("unwrap_account_key("))
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(callers.is_empty(), "account keys unwrapped outside the key vault: {callers:?}");
    assert!(read(&vault).contains("unwrap_account_key("), "the vault itself unwraps them");
}

/// The same kind of check: MACs and tokens a client sends are compared by one function,
/// `kankan_base::constant_time_eq`; no source writes its own XOR-fold comparison (three
/// did: the media link's signature, the rotated device secret's MAC, the metrics token).
#[test]
fn secrets_are_compared_only_by_the_one_constant_time_function() {
    let crates = root().join("crates");
    let sources = rust_files(&crates);
    let home = crates.join("kankan-base/src/secret.rs");
    // Spelled in two halves so that this test does not find itself.
    let needle = concat!("| (x ^ ", "y)");
    let copies: Vec<String> = sources
        .iter()
        .filter(|(p, text)| *p != home && text.contains(needle))
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(copies.is_empty(), "hand-written constant-time comparisons: {copies:?}");
    assert!(read(&home).contains(needle), "the one comparison lives in kankan-base");
}
