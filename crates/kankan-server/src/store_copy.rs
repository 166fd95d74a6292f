//! `kankan admin store copy`: moves a household box's database to another engine (SQLite to
//! PostgreSQL, or back), then checks the copy: the row count of every table on both sides, and
//! a sample of accounts whose key unwraps and whose contact decrypts to the same text on both
//! sides (with this server's master key, so a copy made for another key is caught too). Blobs
//! stay where they are: both databases name the same objects.

use std::sync::Arc;

use anyhow::{Context, bail};
use kankan_base::AccountId;
use kankan_core::KeyVault;
use kankan_crypto::Keyring;
use kankan_db::{CopyReport, SqlStore, TABLES};

/// What the copy moved and what its check read.
#[derive(Debug)]
pub struct CopyOutcome {
    pub report: CopyReport,
    /// Accounts whose contact decrypted to the same text on both sides.
    pub decrypted: usize,
}

/// Copies `from` into `to` (migrated here if needed; it must hold no rows) and checks it.
pub async fn copy(
    keyring: &Keyring,
    from: &str,
    to: &str,
    sample: u32,
) -> anyhow::Result<CopyOutcome> {
    let source = SqlStore::open(from).await.context("opening the source database")?;
    let pending = kankan_db::Store::pending_migrations(&source).await?;
    if !pending.is_empty() {
        bail!(
            "the source database is not migrated to this version ({} pending): run `kankan migrate` on it first",
            pending.len()
        );
    }
    // Before anything is written: the sample must open with this master key.
    let theirs = source.sample_accounts(sample).await?;
    let source_vault = KeyVault::new(Arc::new(source.clone()), keyring.clone());
    let mut contacts = Vec::with_capacity(theirs.len());
    for &id in &theirs {
        contacts.push(contact_of(&source, &source_vault, id).await.with_context(|| {
            format!("account {id} does not decrypt in the source: wrong master key?")
        })?);
    }
    let target = SqlStore::open(to).await.context("opening the target database")?;
    kankan_db::Store::migrate(&target).await.context("migrating the target database")?;
    let report = source.copy_to(&target).await.context("copying")?;
    for table in TABLES {
        let (a, b) = (source.count(table).await?, target.count(table).await?);
        if a != b {
            bail!("check failed: {table} has {a} rows in the source and {b} in the copy");
        }
    }
    let ours = target.sample_accounts(sample).await?;
    if ours != theirs {
        bail!("check failed: the sample of accounts differs");
    }
    let target_vault = KeyVault::new(Arc::new(target.clone()), keyring.clone());
    for (&id, their_contact) in ours.iter().zip(&contacts) {
        let copied = contact_of(&target, &target_vault, id)
            .await
            .with_context(|| format!("check failed: account {id} does not decrypt in the copy"))?;
        if &copied != their_contact {
            bail!("check failed: account {id} reads differently in the copy");
        }
    }
    source.close().await;
    target.close().await;
    Ok(CopyOutcome { report, decrypted: ours.len() })
}

/// The account's contact, read from `store` and decrypted with the key `vault` unwraps.
async fn contact_of(store: &SqlStore, vault: &KeyVault, id: AccountId) -> anyhow::Result<String> {
    let account =
        kankan_db::AccountStore::account(store, id).await?.context("the account is gone")?;
    Ok(vault.key_of(&account)?.open_string("contact", &account.contact_enc)?)
}
