//! One-time verification codes: 6 digits, short-lived, single use, few attempts, with a
//! resend cooldown. Only a keyed MAC of each code is stored.

use std::time::Duration;

use kankan_crypto::random_digits;
use kankan_db::{CodePurpose, VerificationCode};
use kankan_notify::Message;

use super::Inner;
use crate::{CoreError, Identifier};

fn code_mac(inner: &Inner, id: uuid::Uuid, code: &str) -> Vec<u8> {
    inner.keyring.blind_index("verification-code", &format!("{id}:{code}")).to_vec()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Inner {
    /// Applies the per-IP and per-identifier throttles for sending a code. Keyed on the
    /// identifier, never on whether an account has it, so the answer reveals nothing.
    pub(super) fn throttle_code(
        &self,
        purpose: CodePurpose,
        idx: &[u8],
        ip: &str,
    ) -> Result<(), CoreError> {
        let hex: String = idx.iter().take(16).map(|b| format!("{b:02x}")).collect();
        self.limiter.check(&format!("codes-ip:{ip}"), self.limits.codes_per_ip)?;
        let cooldown = crate::RateLimit { count: 1, per_secs: self.cfg.code_resend_secs.max(1) };
        self.limiter.check(&format!("code-cooldown:{}:{hex}", purpose.as_str()), cooldown)?;
        self.limiter.check(&format!("codes-id:{hex}"), self.limits.codes_per_identifier)
    }

    /// Creates a code for `to` and queues its delivery.
    pub(super) async fn send_code(
        &self,
        purpose: CodePurpose,
        to: &Identifier,
        idx: Vec<u8>,
    ) -> Result<(), CoreError> {
        let code = random_digits(6)?;
        let id = uuid::Uuid::now_v7();
        let now = self.now();
        let ttl = Duration::from_secs(u64::from(self.cfg.code_ttl_minutes) * 60);
        let row = VerificationCode {
            id,
            purpose,
            contact_index: idx,
            code_mac: code_mac(self, id, &code),
            created_at: now,
            expires_at: now.plus(ttl),
            attempts: 0,
            consumed_at: None,
        };
        self.store.insert_code(&row).await?;
        let (subject, what) = match purpose {
            CodePurpose::Register => {
                ("Your Kankan verification code", "finish creating your account")
            }
            CodePurpose::Reset => ("Your Kankan password reset code", "reset your password"),
        };
        let body = format!(
            "Your code is {code}. Enter it to {what}. It expires in {} minutes. \
             If you did not ask for it, ignore this message.",
            self.cfg.code_ttl_minutes
        );
        self.outbox.enqueue(Message { to: to.recipient(), subject: subject.into(), body }).await?;
        Ok(())
    }

    /// Checks and consumes a code. Every failure answers the same error.
    pub(super) async fn redeem_code(
        &self,
        purpose: CodePurpose,
        idx: &[u8],
        code: &str,
    ) -> Result<(), CoreError> {
        let code = code.trim();
        let now = self.now();
        let Some(row) = self.store.latest_code(purpose, idx).await? else {
            return Err(CoreError::InvalidCode);
        };
        let usable = row.consumed_at.is_none()
            && row.expires_at > now
            && row.attempts < self.cfg.code_max_attempts;
        if !usable || code.len() != 6 {
            if usable {
                self.store.add_code_attempt(row.id).await?;
            }
            return Err(CoreError::InvalidCode);
        }
        if !constant_time_eq(&code_mac(self, row.id, code), &row.code_mac) {
            self.store.add_code_attempt(row.id).await?;
            return Err(CoreError::InvalidCode);
        }
        if !self.store.consume_code(row.id, now).await? {
            return Err(CoreError::InvalidCode);
        }
        Ok(())
    }
}
