//! The plans' side of payments: the [`Product`] a checkout sells, priced from the catalogue,
//! and the [`Fulfilment`] that grants a paid order (a plan: the device's entitlement; data:
//! the SIM's top-up) and takes back a refunded one.

use async_trait::async_trait;
use kankan_billing::{Fulfilment, Order, Product, ProductKind, Target};
use kankan_core::CoreError;
use kankan_core::authz::Capability;
use kankan_devices::DeviceHandle;

use super::Plans;

impl Plans {
    /// The product that buys plan `sku` for the device (its owner only:
    /// `manage-recordings`), priced from the catalogue.
    pub fn plan_product(&self, h: &DeviceHandle, sku: &str) -> Result<Product, CoreError> {
        h.require(Capability::ManageRecordings)?;
        let spec = self.config().plan(sku).ok_or_else(|| CoreError::Billing {
            kind: kankan_base::ErrorKind::InvalidArgument,
            code: "unknown-plan",
            message: format!("no plan {sku:?} in the catalogue"),
        })?;
        Ok(Product {
            kind: ProductKind::Plan,
            sku: spec.sku.clone(),
            target: Target::Device(h.uid().to_owned()),
            title: spec.title.clone(),
            amount_minor: spec.amount_minor,
            currency: spec.currency.clone(),
        })
    }

    /// The product that buys data package `sku` for the device's SIM (its owner only), the
    /// order's target its ICCID whole.
    pub async fn data_product(&self, h: &DeviceHandle, sku: &str) -> Result<Product, CoreError> {
        h.require(Capability::ManageRecordings)?;
        let spec = self.config().data_package(sku).ok_or_else(|| CoreError::Billing {
            kind: kankan_base::ErrorKind::InvalidArgument,
            code: "unknown-plan",
            message: format!("no data package {sku:?} in the catalogue"),
        })?;
        let card = self.sim_card(h).await?;
        Ok(Product {
            kind: ProductKind::Data,
            sku: spec.sku.clone(),
            target: Target::Sim(card.iccid),
            title: spec.title.clone(),
            amount_minor: spec.amount_minor,
            currency: spec.currency.clone(),
        })
    }
}

#[async_trait]
impl Fulfilment for Plans {
    async fn paid(&self, order: &Order) -> Result<(), CoreError> {
        let p = &order.product;
        match (&p.kind, &p.target) {
            (ProductKind::Plan, Target::Device(uid)) => {
                self.grant_plan(order.id, order.account_id, uid, &p.sku).await
            }
            (ProductKind::Data, Target::Sim(iccid)) => {
                self.grant_data(order.id, order.account_id, iccid, &p.sku).await
            }
            _ => Err(CoreError::Billing {
                kind: kankan_base::ErrorKind::InvalidArgument,
                code: "unknown-plan",
                message: format!("a {} order cannot be for a {}", p.kind.as_str(), p.target.kind()),
            }),
        }
    }

    async fn refunded(&self, order: &Order) -> Result<(), CoreError> {
        match order.product.kind {
            ProductKind::Plan => self.refund_plan(order.id).await,
            ProductKind::Data => self.refund_data(order.id).await,
        }
    }
}
