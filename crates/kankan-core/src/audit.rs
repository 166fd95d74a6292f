//! The audit log: every staff action and every access by staff or the system to a user's
//! personal data, in one tamper-evident chain.
//!
//! Each entry (seq, time, actor, action, subject account, detail) is linked to the one before
//! it: `hash = SHA-256(tag || previous hash || canonical encoding)` (`kankan_crypto::chain_hash`,
//! each field length-prefixed). Appends lock the chain's head row in their transaction, so
//! entries written by any number of nodes form one chain. Every [`CHECKPOINT_EVERY`] entries,
//! and at the first entry an hour or more after the last checkpoint, the entry's seq and hash
//! are signed with an HMAC-SHA256 under a key derived from the master key (the `Keyring`'s
//! audit key). An HMAC rather than a public-key signature: the only verifier is the operator,
//! who holds the master key, and anyone able to forge the MAC could read every account anyway.
//! [`verify`] recomputes the chain and checks every checkpoint: an edited entry, a removed one
//! (in the middle, or at the tail up to the last checkpoint) and a forged checkpoint are
//! found. Entries after the last checkpoint can be cut off unseen; the hourly checkpoint bounds
//! how many.
//!
//! The detail never holds personal data in clear: ids, kinds and counts only.

use std::sync::Arc;
use std::time::Duration;

use kankan_base::{AccountId, Clocks, StaffId, Timestamp};
use kankan_crypto::{Keyring, chain_hash};
use kankan_db::{AuditCheckpoint, AuditEntry, AuditHead, NewAuditEntry, Store};

use crate::CoreError;

/// A checkpoint every this many entries.
pub const CHECKPOINT_EVERY: i64 = 64;
/// ... and at the first entry this long after the last checkpoint.
pub const CHECKPOINT_AFTER: Duration = Duration::from_secs(3600);

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A staff member, through the admin API.
    Staff(StaffId),
    /// The server itself, naming the worker or part (`system:jobs`).
    System(&'static str),
    /// The account itself (filing a request, giving a support grant).
    Account(AccountId),
    /// The operator at the command line (`kankan admin ...`), with the machine's user name.
    Operator(String),
}

impl Actor {
    /// The stored form: `staff:<id>`, `system:<name>`, `account:<id>`, `operator:<name>`.
    pub fn encode(&self) -> String {
        match self {
            Actor::Staff(id) => format!("staff:{id}"),
            Actor::System(name) => format!("system:{name}"),
            Actor::Account(id) => format!("account:{id}"),
            Actor::Operator(name) => format!("operator:{name}"),
        }
    }

    /// The operator running this command line process.
    pub fn operator_from_env() -> Actor {
        let name = std::env::var("USER").unwrap_or_default();
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
            .take(64)
            .collect();
        Actor::Operator(if name.is_empty() { "cli".into() } else { name })
    }
}

/// One thing to write in the log.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub actor: &'a Actor,
    /// Stable kebab-case (`staff-login`, `account-banned`, `support-media-link` ...).
    pub action: &'a str,
    pub subject: Option<AccountId>,
    /// Ids, kinds and counts only.
    pub detail: String,
}

/// The canonical encoding of an entry, as hashed.
fn encode(seq: i64, e: &NewAuditEntry) -> [Vec<u8>; 6] {
    [
        seq.to_be_bytes().to_vec(),
        e.at.0.to_be_bytes().to_vec(),
        e.actor.as_bytes().to_vec(),
        e.action.as_bytes().to_vec(),
        e.subject.map(|a| a.to_string()).unwrap_or_default().into_bytes(),
        e.detail.as_bytes().to_vec(),
    ]
}

/// The hash of entry `seq` after an entry whose hash is `prev` (32 zero bytes before the
/// first): what the chain stores, and what a verifier recomputes.
pub fn link(prev: &[u8; 32], seq: i64, e: &NewAuditEntry) -> [u8; 32] {
    let parts = encode(seq, e);
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    chain_hash(prev, &refs)
}

fn checkpoint_parts(seq: i64, hash: &[u8; 32], at: Timestamp) -> [Vec<u8>; 4] {
    [
        b"kankan/audit-checkpoint/v1".to_vec(),
        seq.to_be_bytes().to_vec(),
        hash.to_vec(),
        at.0.to_be_bytes().to_vec(),
    ]
}

fn sign(keyring: &Keyring, seq: i64, hash: &[u8; 32], at: Timestamp) -> Vec<u8> {
    let parts = checkpoint_parts(seq, hash, at);
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    keyring.audit_checkpoint_mac(&refs).to_vec()
}

/// Whether a checkpoint is due at entry `seq` written `now`, after `head`.
fn checkpoint_due(head: &AuditHead, seq: i64, now: Timestamp) -> bool {
    seq % CHECKPOINT_EVERY == 0
        || match head.checkpoint_at {
            None => true,
            Some(at) => at.plus(CHECKPOINT_AFTER) <= now,
        }
}

/// Appends to the audit log. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    store: Arc<dyn Store>,
    keyring: Keyring,
    clock: Clocks,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

impl AuditLog {
    pub fn new(store: Arc<dyn Store>, keyring: Keyring, clock: Clocks) -> AuditLog {
        AuditLog { store, keyring, clock }
    }

    /// Appends one entry (and a checkpoint when one is due); its seq. The one way in: every
    /// staff action and every access to a user's data calls it.
    pub async fn append(&self, r: Record<'_>) -> Result<i64, CoreError> {
        let entry = NewAuditEntry {
            at: self.clock.now(),
            actor: r.actor.encode(),
            action: r.action.to_string(),
            subject: r.subject,
            detail: r.detail,
        };
        let keyring = &self.keyring;
        let linker = |head: &AuditHead, seq: i64, e: &NewAuditEntry| {
            let hash = link(&head.hash, seq, e);
            let cp = checkpoint_due(head, seq, e.at).then(|| AuditCheckpoint {
                seq,
                hash,
                at: e.at,
                mac: sign(keyring, seq, &hash, e.at),
            });
            (hash, cp)
        };
        Ok(self.store.append_audit(&entry, &linker).await?)
    }

    /// Entries about one account, newest first (what the user sees of accesses to their data).
    pub async fn about(
        &self,
        account: AccountId,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, CoreError> {
        Ok(self.store.audit_of_subject(account, limit).await?)
    }

    /// Entries after `after`, in order (for staff).
    pub async fn entries(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>, CoreError> {
        Ok(self.store.audit_entries(after, limit).await?)
    }

    /// Checks the whole chain and its checkpoints.
    pub async fn verify(&self) -> Result<Verified, CoreError> {
        verify(self.store.as_ref(), &self.keyring).await
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    /// Entries read.
    pub entries: i64,
    /// Checkpoints whose signature and hash matched.
    pub checkpoints: usize,
    /// Every break found, in order (empty: the log is intact).
    pub problems: Vec<String>,
}

impl Verified {
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Recomputes the chain from the first entry and checks every checkpoint against it: each
/// entry's seq follows the one before, its stored hash is the recomputed one, each checkpoint's
/// MAC verifies and the entry it names exists with the hash it signed.
pub async fn verify(store: &dyn Store, keyring: &Keyring) -> Result<Verified, CoreError> {
    const PAGE: u32 = 1000;
    let mut out = Verified::default();
    // The recomputed hash of every checkpointed seq, to compare with the checkpoints after.
    let checkpoints = store.audit_checkpoints().await?;
    let mut wanted: std::collections::HashMap<i64, Option<[u8; 32]>> =
        checkpoints.iter().map(|c| (c.seq, None)).collect();
    let mut prev = [0u8; 32];
    let mut expected_seq = 1;
    let mut after = 0;
    loop {
        let page = store.audit_entries(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            if e.seq != expected_seq {
                out.problems.push(format!(
                    "entries {expected_seq}..{} are missing before entry {}",
                    e.seq - 1,
                    e.seq
                ));
            }
            let computed = link(&prev, e.seq, &e.entry);
            if computed != e.hash {
                out.problems.push(format!("entry {} does not match its hash chain", e.seq));
            }
            if let Some(slot) = wanted.get_mut(&e.seq) {
                *slot = Some(computed);
            }
            // Go on from the stored hash, so one edit is reported once, not at every entry.
            prev = e.hash;
            expected_seq = e.seq + 1;
            out.entries += 1;
        }
    }
    for c in &checkpoints {
        let parts = checkpoint_parts(c.seq, &c.hash, c.at);
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        if !keyring.audit_checkpoint_matches(&refs, &c.mac) {
            out.problems.push(format!("checkpoint at entry {} has a bad signature", c.seq));
            continue;
        }
        match wanted.get(&c.seq).copied().flatten() {
            None => out.problems.push(format!("entry {} of a checkpoint is missing", c.seq)),
            Some(h) if h != c.hash => out
                .problems
                .push(format!("the chain up to entry {} differs from its checkpoint", c.seq)),
            Some(_) => out.checkpoints += 1,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(detail: &str) -> NewAuditEntry {
        NewAuditEntry {
            at: Timestamp(1_700_000_000_000),
            actor: "staff:x".into(),
            action: "account-banned".into(),
            subject: None,
            detail: detail.into(),
        }
    }

    #[test]
    fn the_link_changes_with_every_field_and_the_previous_hash() {
        let base = link(&[0; 32], 1, &entry("a"));
        assert_ne!(base, link(&[1; 32], 1, &entry("a")), "previous hash");
        assert_ne!(base, link(&[0; 32], 2, &entry("a")), "seq");
        assert_ne!(base, link(&[0; 32], 1, &entry("b")), "detail");
        let shifted = NewAuditEntry { actor: "staff:xa".into(), detail: "".into(), ..entry("") };
        let plain = NewAuditEntry { actor: "staff:x".into(), detail: "a".into(), ..entry("") };
        assert_ne!(link(&[0; 32], 1, &shifted), link(&[0; 32], 1, &plain), "field boundaries");
        assert_eq!(base, link(&[0; 32], 1, &entry("a")), "deterministic");
    }

    #[test]
    fn checkpoints_fall_due_every_64_entries_and_an_hour_after_the_last() {
        let t = Timestamp(1_000_000);
        let head = AuditHead { seq: 5, hash: [0; 32], checkpoint_at: Some(t) };
        assert!(!checkpoint_due(&head, 6, t.plus(Duration::from_secs(60))));
        assert!(checkpoint_due(&head, 64, t));
        assert!(checkpoint_due(&head, 6, t.plus(CHECKPOINT_AFTER)));
        assert!(checkpoint_due(&AuditHead { checkpoint_at: None, ..head }, 1, t), "the first");
    }
}
