//! An order's stored form: a new row for a product bought, and the row read back as an
//! [`Order`].

use kankan_base::{AccountId, Timestamp};
use kankan_core::CoreError;
use kankan_db::OrderRow;

use crate::{Order, OrderStatus, Product, ProductKind, Target};

pub(crate) fn order_from(r: &OrderRow) -> Result<Order, CoreError> {
    let corrupt = |what: &str| CoreError::Internal(format!("order {}: bad {what}", r.id));
    Ok(Order {
        id: r.id,
        account_id: r.account_id,
        product: Product {
            kind: ProductKind::parse(&r.kind).ok_or_else(|| corrupt("kind"))?,
            sku: r.sku.clone(),
            target: Target::parse(&r.target_kind, &r.target).ok_or_else(|| corrupt("target"))?,
            title: r.title.clone(),
            amount_minor: r.list_amount_minor,
            currency: r.currency.clone(),
        },
        status: OrderStatus::parse(&r.status).ok_or_else(|| corrupt("status"))?,
        provider: r.provider.clone(),
        amount_minor: r.amount_minor,
        coupon: r.coupon.clone(),
        created_at: r.created_at,
        paid_at: r.paid_at,
        refunded_at: r.refunded_at,
    })
}

/// A new order row for `product`, as bought by `account`.
pub(crate) fn new_row(
    account: AccountId,
    product: &Product,
    amount_minor: i64,
    coupon: Option<String>,
    provider: &str,
    paid: bool,
    now: Timestamp,
) -> OrderRow {
    OrderRow {
        id: uuid::Uuid::now_v7(),
        account_id: account,
        kind: product.kind.as_str().into(),
        sku: product.sku.clone(),
        target_kind: product.target.kind().into(),
        target: product.target.id().into(),
        title: product.title.clone(),
        list_amount_minor: product.amount_minor,
        amount_minor,
        currency: product.currency.clone(),
        coupon,
        status: if paid { "paid" } else { "pending" }.into(),
        provider: provider.into(),
        provider_ref: None,
        payment_ref: None,
        refund_ref: None,
        created_at: now,
        paid_at: paid.then_some(now),
        refunded_at: None,
        fulfilled_at: None,
        updated_at: now,
    }
}
