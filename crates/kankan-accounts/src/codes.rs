//! One-time verification codes: 6 digits, short-lived, single use, few attempts, with a
//! resend cooldown. Only a keyed MAC of each code is stored.

use std::time::Duration;

use kankan_crypto::{constant_time_eq, random_digits};
use kankan_db::{CodePurpose, VerificationCode};
use kankan_notify::Message;

use super::Inner;
use crate::{ClientInfo, CoreError, Identifier};

fn code_mac(inner: &Inner, id: uuid::Uuid, code: &str) -> Vec<u8> {
    inner.keyring.blind_index("verification-code", &format!("{id}:{code}")).to_vec()
}

impl Inner {
    /// Applies the per-network and per-identifier throttles for sending a code. Keyed on the
    /// identifier, never on whether an account has it, so the answer reveals nothing.
    pub(super) async fn throttle_code(
        &self,
        purpose: CodePurpose,
        idx: &[u8],
        client: &ClientInfo,
    ) -> Result<(), CoreError> {
        self.limiter
            .check(&format!("codes-ip:{}", client.network()), self.limits.codes_per_ip)
            .await?;
        let cooldown = crate::RateLimit { count: 1, per_secs: self.cfg.code_resend_secs.max(1) };
        self.throttle_index(&format!("code-cooldown:{}", purpose.as_str()), idx, cooldown).await?;
        self.throttle_index("codes-id", idx, self.limits.codes_per_identifier).await
    }

    /// Creates a code for `to` and queues its delivery.
    pub(super) async fn send_code(
        &self,
        purpose: CodePurpose,
        to: &Identifier,
        idx: Vec<u8>,
        password_hash: Option<String>,
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
            password_hash,
        };
        self.store.insert_code(&row).await?;
        let (subject, what) = match purpose {
            CodePurpose::Register => {
                ("Your Kankan verification code", "finish creating your account")
            }
            CodePurpose::Reset => ("Your Kankan password reset code", "reset your password"),
            CodePurpose::Guardian => (
                "A child's Kankan account names you as guardian",
                "consent as the guardian of the child who registered a Kankan account naming \
                 you (open Kankan, choose \"Guardian consent\", enter the child's e-mail \
                 address or phone number and this code, and read the privacy policy you accept \
                 on the child's behalf)",
            ),
        };
        let body = format!(
            "Your code is {code}. Enter it to {what}. It expires in {} minutes. \
             If you did not ask for it, ignore this message.",
            self.cfg.code_ttl_minutes
        );
        self.outbox.enqueue(Message { to: to.recipient(), subject: subject.into(), body }).await?;
        Ok(())
    }

    /// Checks a code without using it up; answers its row (with the password waiting with it,
    /// for a registration). Every failure answers the same error.
    ///
    /// An attempt is claimed (checked against the limit and counted, in one statement) before
    /// the code is compared, so however many guesses arrive at once, at most
    /// `accounts.code_max_attempts` are ever compared; guesses are also throttled per
    /// identifier, across codes and client addresses.
    pub(super) async fn check_code(
        &self,
        purpose: CodePurpose,
        idx: &[u8],
        code: &str,
    ) -> Result<VerificationCode, CoreError> {
        self.throttle_index("redeem-id", idx, self.limits.redeem_per_identifier).await?;
        let code = code.trim();
        let Some(row) = self.store.latest_code(purpose, idx).await? else {
            return Err(CoreError::InvalidCode);
        };
        let claimed =
            self.store.claim_code_attempt(row.id, self.cfg.code_max_attempts, self.now()).await?;
        if claimed.is_none()
            || code.len() != 6
            || !constant_time_eq(&code_mac(self, row.id, code), &row.code_mac)
        {
            return Err(CoreError::InvalidCode);
        }
        Ok(row)
    }

    /// Uses up a checked code; a racing request that used it first wins.
    pub(super) async fn consume_code(&self, row: &VerificationCode) -> Result<(), CoreError> {
        if self.store.consume_code(row.id, self.now()).await? {
            Ok(())
        } else {
            Err(CoreError::InvalidCode)
        }
    }
}
