//! Migrations: the embedded list matches the files, and each file explains itself.

#[test]
fn every_migration_file_is_embedded_in_order_and_documented_for_both_engines() {
    let embedded: Vec<String> =
        kankan_db::MIGRATIONS.iter().map(|m| format!("{}.sql", m.name)).collect();
    for engine in ["sqlite", "postgres"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(engine);
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("migrations dir")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        files.sort();
        assert_eq!(files, embedded, "{engine}: every step is written for both engines");
    }
    // Numbers are reserved per feature in advance, so one may be skipped: increasing is enough.
    let mut previous = 0;
    for m in kankan_db::MIGRATIONS {
        assert!(m.version > previous, "versions increase: {} after {previous}", m.version);
        previous = m.version;
        assert!(m.name.starts_with(&format!("{:04}_", m.version)));
        assert!(m.sqlite.trim_start().starts_with("--"), "{} starts with a comment", m.name);
        assert!(m.postgres.trim_start().starts_with("--"), "{} starts with a comment", m.name);
    }
}

#[tokio::test]
async fn migrating_twice_applies_nothing_the_second_time() {
    let (s, _dir) = crate::store().await;
    assert!(s.migrate().await.expect("again").is_empty());
    assert!(s.pending_migrations().await.expect("pending").is_empty());
}

#[tokio::test]
async fn unsupported_database_urls_are_refused() {
    let err = kankan_db::open("mysql://x").await.err().expect("refused");
    assert!(err.to_string().contains("sqlite:// or postgres://"), "{err}");
}
