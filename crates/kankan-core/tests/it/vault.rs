//! The key vault is the one place account keys are unwrapped: no other source file of the
//! workspace calls the keyring's unwrap (kankan-crypto, which defines it, aside).

use std::path::{Path, PathBuf};

fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn account_keys_are_unwrapped_only_by_the_key_vault() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in std::fs::read_dir(&crates).expect("crates").flatten() {
        let src = krate.path().join("src");
        if src.is_dir() && krate.file_name() != "kankan-crypto" {
            rust_sources(&src, &mut files);
        }
    }
    assert!(files.len() > 50, "the workspace's sources were read: {}", files.len());
    let vault = crates.join("kankan-core/src/vault.rs").canonicalize().expect("vault.rs");
    let callers: Vec<String> = files
        .iter()
        .filter(|f| f.canonicalize().ok().as_ref() != Some(&vault))
        .filter(|f| std::fs::read_to_string(f).unwrap_or_default().contains("unwrap_account_key("))
        .map(|f| f.display().to_string())
        .collect();
    assert!(callers.is_empty(), "account keys unwrapped outside the key vault: {callers:?}");
    let own = std::fs::read_to_string(&vault).expect("vault");
    assert!(own.contains("unwrap_account_key("), "the vault itself unwraps them");
}
