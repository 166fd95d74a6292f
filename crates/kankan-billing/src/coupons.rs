//! Coupons (percent or amount off at checkout) and redemption codes (a product for nothing).
//! A use of either is taken by one conditional `UPDATE` in the transaction that stores its
//! order ([`kankan_db::BillingStore`]), so concurrent requests never take more than its uses.

use kankan_base::{ErrorKind, Timestamp};
use kankan_core::{CoreError, Principal};
use kankan_db::{CouponRow, RedemptionCodeRow};
use ring::rand::SecureRandom as _;
use sha2::Digest as _;

use crate::rows::{new_row, order_from};
use crate::{
    Billing, Order, Product, ProductKind, Target, err, is_currency, is_sku, validate_product,
};

/// A coupon as staff see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coupon {
    pub code: String,
    pub percent_off: Option<i64>,
    pub amount_off_minor: Option<i64>,
    pub currency: Option<String>,
    pub max_uses: i64,
    pub used: i64,
    pub expires_at: Option<Timestamp>,
    /// Empty: every SKU.
    pub skus: Vec<String>,
    pub created_at: Timestamp,
}

impl Coupon {
    /// The amount after this coupon (never below 0).
    pub fn apply(&self, amount_minor: i64) -> i64 {
        match (self.percent_off, self.amount_off_minor) {
            (Some(p), _) => amount_minor - amount_minor.saturating_mul(p.clamp(0, 100)) / 100,
            (None, Some(off)) => (amount_minor - off).max(0),
            (None, None) => amount_minor,
        }
    }
}

impl From<CouponRow> for Coupon {
    fn from(r: CouponRow) -> Coupon {
        Coupon {
            code: r.code,
            percent_off: r.percent_off,
            amount_off_minor: r.amount_off_minor,
            currency: r.currency,
            max_uses: r.max_uses,
            used: r.used,
            expires_at: r.expires_at,
            skus: r.skus,
            created_at: r.created_at,
        }
    }
}

/// A coupon to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCoupon {
    /// 3-32 of `A-Z 0-9 -` (lower case is taken as upper case).
    pub code: String,
    /// 1-100; or `amount_off_minor` with `currency`.
    pub percent_off: Option<i64>,
    pub amount_off_minor: Option<i64>,
    pub currency: Option<String>,
    /// 1-1000000.
    pub max_uses: i64,
    pub expires_at: Option<Timestamp>,
    pub skus: Vec<String>,
}

/// A redemption code to create: the product it gives (the redeemer picks the target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRedemptionCode {
    pub kind: ProductKind,
    pub sku: String,
    pub title: String,
    /// The currency of its orders (amount 0).
    pub currency: String,
    pub max_uses: i64,
    pub expires_at: Option<Timestamp>,
}

/// A redemption code as created: the code itself is shown this once (only its hash is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionCode {
    pub id: uuid::Uuid,
    pub code: String,
    pub kind: ProductKind,
    pub sku: String,
    pub title: String,
    pub max_uses: i64,
    pub expires_at: Option<Timestamp>,
}

pub(crate) fn coupon_used_up() -> CoreError {
    err(
        ErrorKind::InvalidArgument,
        "coupon-not-valid",
        "this coupon is unknown, used up or expired",
    )
}

fn code_not_valid() -> CoreError {
    err(ErrorKind::InvalidArgument, "code-not-valid", "this code is unknown, used up or expired")
}

/// A coupon's code as stored: trimmed, upper case.
pub fn normalize_coupon(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

/// A redemption code as hashed: upper case, without spaces and dashes.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase()
}

fn code_hash(code: &str) -> Vec<u8> {
    sha2::Sha256::digest(normalize_code(code).as_bytes()).to_vec()
}

/// Crockford's base32 alphabet (no I, L, O, U).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new random redemption code: 16 characters (80 bits) in groups of four.
fn new_code() -> Result<String, CoreError> {
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| CoreError::Internal("no randomness".into()))?;
    let chars: Vec<char> = b.iter().map(|x| char::from(ALPHABET[usize::from(x % 32)])).collect();
    Ok(chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-"))
}

impl Billing {
    /// A coupon that applies to `product` now: known, not expired, uses left, for its SKU and,
    /// for an amount off, its currency. (Its use is taken with the order.)
    pub(crate) async fn usable_coupon(
        &self,
        code: &str,
        product: &Product,
        now: Timestamp,
    ) -> Result<Coupon, CoreError> {
        let code = normalize_coupon(code);
        let c: Coupon = self.inner.store.coupon(&code).await?.ok_or_else(coupon_used_up)?.into();
        let expired = c.expires_at.is_some_and(|t| t <= now);
        let sku_ok = c.skus.is_empty() || c.skus.contains(&product.sku);
        let currency_ok = c.amount_off_minor.is_none()
            || c.currency.as_deref() == Some(product.currency.as_str());
        if expired || c.used >= c.max_uses {
            return Err(coupon_used_up());
        }
        if !sku_ok || !currency_ok {
            return Err(err(
                ErrorKind::InvalidArgument,
                "coupon-not-applicable",
                "this coupon does not apply to this product",
            ));
        }
        Ok(c)
    }

    /// Creates a coupon (staff); `coupon-exists` if its code is taken.
    pub async fn create_coupon(&self, staff: &str, c: NewCoupon) -> Result<Coupon, CoreError> {
        let bad = |m: &str| err(ErrorKind::InvalidArgument, "invalid-coupon", m);
        let code = normalize_coupon(&c.code);
        if !(3..=32).contains(&code.len())
            || !code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(bad("the code must be 3-32 of A-Z, 0-9 and '-'"));
        }
        match (c.percent_off, c.amount_off_minor, &c.currency) {
            (Some(p), None, None) if (1..=100).contains(&p) => {}
            (None, Some(a), Some(cur))
                if (1..=crate::MAX_AMOUNT_MINOR).contains(&a) && is_currency(cur) => {}
            _ => {
                return Err(bad("give percent_off (1-100), or amount_off_minor with its currency"));
            }
        }
        if !(1..=1_000_000).contains(&c.max_uses) {
            return Err(bad("max_uses must be 1-1000000"));
        }
        if c.skus.len() > 50 || !c.skus.iter().all(|s| is_sku(s)) {
            return Err(bad("skus must be at most 50 catalogue SKUs"));
        }
        let now = self.now();
        if c.expires_at.is_some_and(|t| t <= now) {
            return Err(bad("the expiry is in the past"));
        }
        let row = CouponRow {
            code,
            percent_off: c.percent_off,
            amount_off_minor: c.amount_off_minor,
            currency: c.currency,
            max_uses: c.max_uses,
            used: 0,
            expires_at: c.expires_at,
            skus: c.skus,
            created_by: staff.to_string(),
            created_at: now,
        };
        if !self.inner.store.insert_coupon(&row).await? {
            return Err(err(
                ErrorKind::FailedPrecondition,
                "coupon-exists",
                "a coupon with this code exists",
            ));
        }
        Ok(row.into())
    }

    /// Every coupon, newest first (staff).
    pub async fn coupons(&self) -> Result<Vec<Coupon>, CoreError> {
        Ok(self.inner.store.coupons().await?.into_iter().map(Coupon::from).collect())
    }

    /// Creates a redemption code (staff): the code is returned this once.
    pub async fn create_redemption_code(
        &self,
        staff: &str,
        c: NewRedemptionCode,
    ) -> Result<RedemptionCode, CoreError> {
        let bad = |m: &str| err(ErrorKind::InvalidArgument, "invalid-redemption-code", m);
        if !(1..=1_000_000).contains(&c.max_uses) {
            return Err(bad("max_uses must be 1-1000000"));
        }
        let now = self.now();
        if c.expires_at.is_some_and(|t| t <= now) {
            return Err(bad("the expiry is in the past"));
        }
        // The product's shape, with a placeholder target.
        validate_product(&Product {
            kind: c.kind,
            sku: c.sku.clone(),
            target: Target::Device("x".into()),
            title: c.title.clone(),
            amount_minor: 0,
            currency: c.currency.clone(),
        })?;
        let code = new_code()?;
        let row = RedemptionCodeRow {
            id: uuid::Uuid::now_v7(),
            code_hash: code_hash(&code),
            kind: c.kind.as_str().into(),
            sku: c.sku,
            title: c.title,
            currency: c.currency,
            max_uses: c.max_uses,
            used: 0,
            expires_at: c.expires_at,
            created_by: staff.to_string(),
            created_at: now,
        };
        if !self.inner.store.insert_redemption_code(&row).await? {
            return Err(CoreError::Internal("a new redemption code collided".into()));
        }
        Ok(RedemptionCode {
            id: row.id,
            code,
            kind: c.kind,
            sku: row.sku,
            title: row.title,
            max_uses: row.max_uses,
            expires_at: row.expires_at,
        })
    }

    /// Redeems a code for `target` (the caller has checked the caller may buy for it): a paid
    /// order of amount 0 with provider `code`, fulfilled at once. `code-not-valid` for an
    /// unknown, expired or used-up code; one use per request, whatever runs at once.
    pub async fn redeem(
        &self,
        p: &Principal,
        code: &str,
        target: Target,
    ) -> Result<Order, CoreError> {
        crate::validate_target(&target)?;
        let row =
            self.inner.store.redemption_code(&code_hash(code)).await?.ok_or_else(code_not_valid)?;
        let kind = ProductKind::parse(&row.kind)
            .ok_or_else(|| CoreError::Internal(format!("redemption code {}: bad kind", row.id)))?;
        let wants = match kind {
            ProductKind::Plan => "device",
            ProductKind::Data => "sim",
        };
        if target.kind() != wants {
            return Err(err(
                ErrorKind::InvalidArgument,
                "invalid-target",
                format!("this code is for a {wants}"),
            ));
        }
        let product = Product {
            kind,
            sku: row.sku.clone(),
            target,
            title: row.title.clone(),
            amount_minor: 0,
            currency: row.currency.clone(),
        };
        let now = self.now();
        if row.expires_at.is_some_and(|t| t <= now) || row.used >= row.max_uses {
            return Err(code_not_valid());
        }
        let order_row = new_row(p.account_id, &product, 0, None, "code", true, now);
        if !self.inner.store.redeem_code(row.id, &order_row).await? {
            return Err(code_not_valid());
        }
        let order = order_from(&order_row)?;
        self.fulfil(&order).await?;
        Ok(order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coupon(p: Option<i64>, a: Option<i64>) -> Coupon {
        Coupon {
            code: "X".into(),
            percent_off: p,
            amount_off_minor: a,
            currency: None,
            max_uses: 1,
            used: 0,
            expires_at: None,
            skus: vec![],
            created_at: Timestamp(0),
        }
    }

    #[test]
    fn coupons_take_their_part_off_and_never_go_below_zero() {
        assert_eq!(coupon(Some(25), None).apply(999), 750);
        assert_eq!(coupon(Some(100), None).apply(999), 0);
        assert_eq!(coupon(None, Some(300)).apply(999), 699);
        assert_eq!(coupon(None, Some(3000)).apply(999), 0);
    }

    #[test]
    fn new_codes_are_grouped_crockford_and_normalize_for_hashing() {
        let c = new_code().expect("code");
        assert_eq!(c.len(), 19);
        assert_eq!(code_hash(&c), code_hash(&c.to_ascii_lowercase().replace('-', " ")));
    }
}
