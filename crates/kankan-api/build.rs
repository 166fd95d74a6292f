//! Embeds the web app (`web/` at the workspace root) into the binary: generates a table of
//! (path, content type, bytes) so running Kankan needs no separate asset files or Node build.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            println!("cargo:rerun-if-changed={}", p.display());
            out.push(p);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let web = manifest.join("../../web");
    let mut files = Vec::new();
    walk(&web, &mut files);
    let mut src = String::from("pub static ASSETS: &[(&str, &str, &[u8])] = &[\n");
    for f in &files {
        let rel = f.strip_prefix(&web).expect("walked under web/");
        let url = format!("/{}", rel.to_string_lossy().replace('\\', "/"));
        let abs = f.canonicalize().expect("file exists");
        writeln!(src, "    ({url:?}, {:?}, include_bytes!({:?})),", content_type(f), abs)
            .expect("write to string");
    }
    src.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("web_assets.rs");
    std::fs::write(out, src).expect("write generated assets table");
}
