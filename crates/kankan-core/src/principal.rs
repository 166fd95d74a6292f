//! Who is asking: an authenticated account's session.

use kankan_base::{AccountId, SessionId};
use kankan_crypto::TokenHash;

/// An authenticated caller: the account and the session it used.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: AccountId,
    pub session_id: SessionId,
    pub token_hash: TokenHash,
}
