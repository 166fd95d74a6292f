//! Reading typed columns shared by several tables' rows: blob ids, account ids and byte counts.

use kankan_base::{AccountId, BlobId};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::R;
use crate::DbError;

pub(super) fn blob_col(row: &AnyRow, col: &str) -> R<BlobId> {
    let b: Vec<u8> = row.try_get(col)?;
    uuid::Uuid::from_slice(&b).map(BlobId).map_err(|e| DbError::Corrupt(format!("{col}: {e}")))
}

pub(super) fn account_col(row: &AnyRow, col: &str) -> R<AccountId> {
    let s: String = row.try_get(col)?;
    s.parse().map(AccountId).map_err(|e| DbError::Corrupt(format!("{col}: {e}")))
}

pub(super) fn u64_of(row: &AnyRow, col: &str) -> R<u64> {
    u64::try_from(row.try_get::<i64, _>(col)?).map_err(|_| DbError::Corrupt(format!("{col} < 0")))
}

pub(super) fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
