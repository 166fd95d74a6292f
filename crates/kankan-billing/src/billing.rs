//! [`Billing`]: orders, checkout through a provider, the providers' webhooks, refunds.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use kankan_base::{AccountId, Clocks, ErrorKind, Timestamp};
use kankan_core::{CoreError, Principal};
use kankan_db::{BillingEventRow, EventApplied, Store};
use reqwest::header::HeaderMap;

use crate::provider::{
    CheckoutRequest, EventKind, OrderRef, Provider, ProviderError, WebhookAnswer,
};
use crate::rows::{new_row, order_from};
use crate::{
    BillingConfig, Checkout, Fulfilment, Order, OrderStatus, Product, err, validate_product,
};

/// The most orders one list shows.
pub const MAX_ORDERS_LISTED: u32 = 500;

/// Payments (cheap to clone).
#[derive(Clone)]
pub struct Billing {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Clocks,
    providers: BTreeMap<&'static str, Arc<dyn Provider>>,
    fulfilment: RwLock<Option<Arc<dyn Fulfilment>>>,
    /// The web app's public base URL, without a trailing `/` (empty until known).
    public_url: RwLock<String>,
}

impl std::fmt::Debug for Billing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Billing")
            .field("providers", &self.inner.providers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn provider_error(e: ProviderError) -> CoreError {
    match e {
        ProviderError::BadSignature(m) => err(
            ErrorKind::InvalidArgument,
            "billing-bad-signature",
            format!("webhook refused: {m}"),
        ),
        ProviderError::Malformed(m) => {
            err(ErrorKind::InvalidArgument, "billing-bad-event", format!("webhook refused: {m}"))
        }
        ProviderError::Unavailable(m) => err(
            ErrorKind::Unavailable,
            "billing-provider-unavailable",
            format!("the payment provider is unavailable: {m}"),
        ),
        ProviderError::Refused(m) => err(
            ErrorKind::FailedPrecondition,
            "billing-provider-refused",
            format!("the payment provider refused: {m}"),
        ),
    }
}

impl Billing {
    /// Payments through `providers` (each under its [`Provider::name`]).
    pub fn new(
        store: Arc<dyn Store>,
        clock: Clocks,
        providers: Vec<Arc<dyn Provider>>,
        public_url: &str,
    ) -> Billing {
        let providers = providers.into_iter().map(|p| (p.name(), p)).collect();
        Billing {
            inner: Arc::new(Inner {
                store,
                clock,
                providers,
                fulfilment: RwLock::new(None),
                public_url: RwLock::new(public_url.trim_end_matches('/').to_string()),
            }),
        }
    }

    /// Builds the providers `[billing]` configures; `server_public_url` when
    /// `billing.public_url` is empty.
    pub fn from_config(
        store: Arc<dyn Store>,
        clock: Clocks,
        cfg: &BillingConfig,
        server_public_url: &str,
    ) -> Result<Billing, String> {
        cfg.validate()?;
        let mut providers: Vec<Arc<dyn Provider>> = Vec::new();
        if let Some(s) = &cfg.stripe {
            providers.push(Arc::new(crate::stripe::Stripe::new(s)?));
        }
        if let Some(a) = &cfg.alipay {
            providers.push(Arc::new(crate::alipay::Alipay::new(a)?));
        }
        if let Some(w) = &cfg.wechat {
            providers.push(Arc::new(crate::wechat::Wechat::new(w)?));
        }
        let public = if cfg.public_url.is_empty() { server_public_url } else { &cfg.public_url };
        Ok(Billing::new(store, clock, providers, public))
    }

    /// Sets what grants paid orders (kankan-plans). Until one is set, paid orders stay
    /// unfulfilled (and are fulfilled when a provider retries their event).
    pub fn set_fulfilment(&self, f: Arc<dyn Fulfilment>) {
        if let Ok(mut g) = self.inner.fulfilment.write() {
            *g = Some(f);
        }
    }

    /// Sets the public base URL when none was configured (the server's own address, known
    /// once it listens).
    pub fn default_public_url(&self, url: &str) {
        if let Ok(mut g) = self.inner.public_url.write()
            && g.is_empty()
        {
            *g = url.trim_end_matches('/').to_string();
        }
    }

    fn public_url(&self) -> String {
        self.inner.public_url.read().map(|g| g.clone()).unwrap_or_default()
    }

    /// The configured providers' names.
    pub fn providers(&self) -> Vec<&'static str> {
        self.inner.providers.keys().copied().collect()
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    fn provider(&self, name: &str) -> Result<&Arc<dyn Provider>, CoreError> {
        self.inner.providers.get(name).ok_or_else(|| {
            err(
                ErrorKind::InvalidArgument,
                "billing-provider-unknown",
                format!("no payment provider {name:?} is configured on this server"),
            )
        })
    }

    /// The page the buyer comes back to: `/api/v1/billing/return/{provider}`.
    fn return_url(&self, provider: &str, order: uuid::Uuid, result: &str) -> String {
        format!(
            "{}/api/v1/billing/return/{provider}?order={order}&result={result}",
            self.public_url()
        )
    }

    /// The web app's page of an order.
    pub fn order_page(&self, order: uuid::Uuid) -> String {
        format!("{}/#/orders/{order}", self.public_url())
    }

    /// Starts buying `product` for the caller through `provider`, with an optional coupon: a
    /// pending order and the provider's checkout page. An order that costs nothing (after its
    /// coupon) is paid and fulfilled at once and sends the buyer to its page.
    pub async fn checkout(
        &self,
        p: &Principal,
        product: Product,
        provider: &str,
        coupon: Option<&str>,
    ) -> Result<Checkout, CoreError> {
        validate_product(&product)?;
        let prov = self.provider(provider)?.clone();
        let now = self.now();
        let (amount, coupon) = match coupon.map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => {
                let c = self.usable_coupon(code, &product, now).await?;
                (c.apply(product.amount_minor), Some(c.code))
            }
            None => (product.amount_minor, None),
        };
        let free = amount == 0;
        let via = match (free, &coupon) {
            (false, _) => provider,
            (true, Some(_)) => "coupon",
            (true, None) => "free",
        };
        let row = new_row(p.account_id, &product, amount, coupon.clone(), via, free, now);
        if !self.inner.store.insert_order(&row, coupon.as_deref(), now).await? {
            return Err(crate::coupons::coupon_used_up());
        }
        let order = order_from(&row)?;
        if free {
            self.fulfil(&order).await?;
            return Ok(Checkout { order_id: order.id, redirect_url: self.order_page(order.id) });
        }
        let req = CheckoutRequest {
            order: &order,
            success_url: self.return_url(provider, order.id, "success"),
            cancel_url: self.return_url(provider, order.id, "cancel"),
            notify_url: format!("{}/api/v1/billing/webhooks/{provider}", self.public_url()),
        };
        match prov.create_checkout(&req).await {
            Ok(c) => {
                self.inner.store.set_order_provider_ref(order.id, &c.reference, now).await?;
                Ok(Checkout { order_id: order.id, redirect_url: c.redirect_url })
            }
            Err(e) => {
                tracing::warn!(order = %order.id, provider, error = %e, "checkout not created");
                self.inner.store.fail_order(order.id, "failed", now).await?;
                Err(provider_error(e))
            }
        }
    }

    /// The caller's orders, newest first.
    pub async fn orders(&self, p: &Principal) -> Result<Vec<Order>, CoreError> {
        self.orders_of(p.account_id).await
    }

    /// An account's orders, newest first (the data export).
    pub async fn orders_of(&self, account: AccountId) -> Result<Vec<Order>, CoreError> {
        let rows = self.inner.store.orders_of(account, MAX_ORDERS_LISTED).await?;
        rows.iter().map(order_from).collect()
    }

    /// One of the caller's orders (`not-found` for another account's).
    pub async fn order(&self, p: &Principal, id: uuid::Uuid) -> Result<Order, CoreError> {
        match self.inner.store.order(id).await? {
            Some(r) if r.account_id == p.account_id => order_from(&r),
            _ => Err(not_found()),
        }
    }

    /// Any order (staff).
    pub async fn order_any(&self, id: uuid::Uuid) -> Result<Order, CoreError> {
        let r = self.inner.store.order(id).await?.ok_or_else(not_found)?;
        order_from(&r)
    }

    /// A provider's webhook: the signature is verified first (`billing-bad-signature`, nothing
    /// changed), the event applied once by its id (a replay answers as taken and changes
    /// nothing), its amount and currency checked against the order
    /// (`billing-amount-mismatch`); a payment then fulfils the order, a refund takes it back.
    pub async fn webhook(
        &self,
        provider: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<WebhookAnswer, CoreError> {
        let prov = self.inner.providers.get(provider).ok_or_else(|| {
            err(ErrorKind::NotFound, "billing-provider-unknown", "no such payment provider")
        })?;
        let now = self.now();
        let Some(ev) = prov.parse_webhook(headers, body, now).map_err(provider_error)? else {
            return Ok(prov.webhook_answer());
        };
        let row = match &ev.order {
            OrderRef::Order(id) => self.inner.store.order(*id).await?,
            OrderRef::Payment(r) => self.inner.store.order_by_payment(provider, r).await?,
        };
        let row = row.ok_or_else(not_found)?;
        if row.provider != provider {
            return Err(err(
                ErrorKind::InvalidArgument,
                "billing-provider-mismatch",
                "the event is for an order paid through another provider",
            ));
        }
        if ev.kind != EventKind::Failed {
            let amount_ok = ev.amount_minor == Some(row.amount_minor);
            let currency_ok = ev.currency.as_deref() == Some(row.currency.as_str());
            if !amount_ok || !currency_ok {
                tracing::warn!(order = %row.id, provider, "webhook amount or currency differs from the order");
                return Err(err(
                    ErrorKind::InvalidArgument,
                    "billing-amount-mismatch",
                    "the event's amount or currency is not the order's",
                ));
            }
        }
        let event = BillingEventRow {
            provider: provider.to_string(),
            event_id: ev.event_id.clone(),
            order_id: row.id,
            kind: ev.kind.as_str().to_string(),
            received_at: now,
        };
        let payment_ref = if ev.kind == EventKind::Paid { ev.payment_ref.as_deref() } else { None };
        let applied = self.inner.store.apply_billing_event(&event, payment_ref).await?;
        let fresh = self.inner.store.order(row.id).await?.ok_or_else(not_found)?;
        let order = order_from(&fresh)?;
        match (ev.kind, applied) {
            (EventKind::Paid, _)
                if order.status == OrderStatus::Paid && fresh.fulfilled_at.is_none() =>
            {
                // Newly paid, or paid before but not yet granted (a fulfilment that failed).
                self.fulfil(&order).await?;
            }
            (EventKind::Refunded, EventApplied::Changed) => self.take_back(&order).await?,
            _ => {}
        }
        Ok(prov.webhook_answer())
    }

    /// Grants a paid order through the fulfilment and marks it fulfilled.
    pub(crate) async fn fulfil(&self, order: &Order) -> Result<(), CoreError> {
        let f = self.inner.fulfilment.read().ok().and_then(|g| g.clone());
        let Some(f) = f else {
            tracing::warn!(order = %order.id, "paid order not fulfilled: no fulfilment is set");
            return Ok(());
        };
        if let Err(e) = f.paid(order).await {
            tracing::error!(order = %order.id, error = %e, "fulfilling a paid order failed");
            return Err(err(
                ErrorKind::Unavailable,
                "billing-fulfilment-failed",
                "the order is paid but could not be granted yet",
            ));
        }
        self.inner.store.mark_fulfilled(order.id, self.now()).await?;
        Ok(())
    }

    async fn take_back(&self, order: &Order) -> Result<(), CoreError> {
        let f = self.inner.fulfilment.read().ok().and_then(|g| g.clone());
        if let Some(f) = f {
            f.refunded(order).await?;
        }
        Ok(())
    }

    /// Refunds a paid order in full (staff): the provider refunds its payment (an order that
    /// cost nothing has none), the order is `refunded`, and the fulfilment takes back what is
    /// left. `order-not-refundable` unless it is paid.
    pub async fn refund(&self, id: uuid::Uuid) -> Result<Order, CoreError> {
        let row = self.inner.store.order(id).await?.ok_or_else(not_found)?;
        let order = order_from(&row)?;
        if order.status != OrderStatus::Paid {
            return Err(err(
                ErrorKind::FailedPrecondition,
                "order-not-refundable",
                format!("the order is {}, not paid", order.status.as_str()),
            ));
        }
        let refund_ref = if row.amount_minor > 0 {
            let prov = self.provider(&row.provider)?;
            let payment = row.payment_ref.as_deref().ok_or_else(|| {
                err(
                    ErrorKind::FailedPrecondition,
                    "order-not-refundable",
                    "the provider never named the payment",
                )
            })?;
            Some(prov.refund(&order, payment).await.map_err(provider_error)?)
        } else {
            None
        };
        if self.inner.store.refund_order(id, refund_ref.as_deref(), self.now()).await? {
            let fresh = self.inner.store.order(id).await?.ok_or_else(not_found)?;
            let order = order_from(&fresh)?;
            self.take_back(&order).await?;
            return Ok(order);
        }
        self.order_any(id).await
    }
}

/// An order that does not exist or is another account's (`not-found`, as for every object an
/// account owns).
pub(crate) fn not_found() -> CoreError {
    CoreError::NotFound("order")
}
