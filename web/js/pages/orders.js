// pages/orders.js — "#/orders": the account's orders (what each bought, for which camera or SIM,
// the amount and whether it was paid), newest first, with "Redeem a code" (a redemption code
// for one of the user's cameras, or a SIM's ICCID); "#/orders/{id}": one order, its receipt
// (plain text, printable) and, coming back from a payment provider, what the payment says so far
// (the provider's webhook decides; the page polls a pending order for a short while).

import { billing, devices } from '../api.js';
import { h, pageHeader, emptyState, alertBox, showError, onSubmit, toast, formatDateTime, sleep } from '../ui.js';

export const title = 'Orders';

const STATUS = { pending: 'Waiting for the payment', paid: 'Paid', failed: 'Payment failed', cancelled: 'Cancelled', refunded: 'Refunded' };

function when(ms) {
  return ms ? formatDateTime(new Date(ms).toISOString()) : '—';
}

function row(o) {
  return h(
    'a',
    { class: 'list-row', href: `#/orders/${encodeURIComponent(o.id)}`, testid: 'order-item', dataset: { id: o.id, status: o.status } },
    h('span', { class: 'list-text' },
      h('span', { class: 'list-title', testid: 'order-title' }, o.title),
      h('span', { class: 'list-sub' }, `${o.target_kind === 'sim' ? 'SIM' : 'Camera'} ${o.target} · ${when(o.created_at_ms)}`)),
    h('span', { class: 'list-trailing' },
      h('span', { testid: 'order-amount' }, `${o.amount} ${o.currency}`), ' ',
      h('span', { class: 'badge', testid: 'order-status' }, STATUS[o.status] || o.status)),
  );
}

function redeemForm(ctx, alert, reload) {
  const code = h('input', { class: 'input', type: 'text', required: true, maxlength: 40, autocomplete: 'off', placeholder: 'XXXX-XXXX-XXXX-XXXX', 'aria-label': 'Code', testid: 'redeem-code' });
  const camera = h('select', { class: 'input', 'aria-label': 'Camera', testid: 'redeem-camera' }, h('option', { value: '' }, 'Choose a camera'));
  const iccid = h('input', { class: 'input', type: 'text', inputmode: 'numeric', maxlength: 22, placeholder: 'or a SIM\'s ICCID', 'aria-label': 'ICCID', testid: 'redeem-iccid' });
  devices.list().then((l) => {
    if (!ctx.isCurrent()) return;
    const own = (l.devices || l).filter((d) => d.role === 'owner' || d.owned);
    camera.append(...own.map((d) => h('option', { value: d.uid }, d.name || d.uid)));
  }).catch(() => {});
  const form = h('form', { class: 'card form-stack', testid: 'redeem-form' },
    h('h2', { class: 'section-title' }, 'Redeem a code'),
    code, camera, iccid,
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'redeem-submit' }, 'Redeem'));
  onSubmit(form, alert, async () => {
    const sim = iccid.value.trim();
    const target = sim || camera.value;
    if (!target) throw new Error('Choose a camera, or enter a SIM\'s ICCID.');
    const order = await billing.redeem(code.value.trim(), target, sim ? 'sim' : 'device');
    code.value = '';
    toast(`Redeemed: ${order.title}.`, 'success');
    await reload();
  });
  return form;
}

function listPage(ctx) {
  const alert = alertBox('orders-alert');
  const list = h('div', { class: 'list', testid: 'orders-list' });
  const empty = emptyState({ iconName: 'download', title: 'No orders', text: 'Cloud storage and 4G data you buy or redeem show here.', testid: 'orders-empty' });
  const reload = () =>
    billing.orders().then((l) => {
      if (!ctx.isCurrent()) return;
      list.replaceChildren(...l.orders.map(row));
      empty.hidden = l.orders.length > 0;
    }).catch((err) => {
      if (ctx.isCurrent() && err.status !== 401) showError(alert, err);
    });
  reload();
  return h('section', { class: 'page', testid: 'page-orders' },
    pageHeader('Orders', { back: '#/me' }), alert, redeemForm(ctx, alert, reload), list, empty);
}

function detailPage(ctx) {
  const id = ctx.params.id;
  const alert = alertBox('order-alert');
  const body = h('div', { class: 'card', testid: 'order-detail' });
  const fill = (o) => {
    const line = (label, value, testid) => h('p', {}, h('span', { class: 'muted' }, `${label}: `), h('span', { testid }, value));
    body.replaceChildren(...[
      line('Order', o.id, 'order-id'),
      line('Product', `${o.title} (${o.sku})`, 'order-product'),
      line(o.target_kind === 'sim' ? 'SIM' : 'Camera', o.target, 'order-target'),
      o.coupon ? line('Coupon', o.coupon, 'order-coupon') : null,
      line('Amount', `${o.amount} ${o.currency}`, 'order-amount'),
      line('Status', STATUS[o.status] || o.status, 'order-status'),
      line('Ordered', when(o.created_at_ms)),
      line('Paid', when(o.paid_at_ms)),
      o.refunded_at_ms ? line('Refunded', when(o.refunded_at_ms)) : null,
      h('a', { class: 'btn btn-ghost btn-small', href: billing.receiptUrl(o.id), target: '_blank', rel: 'noopener', testid: 'order-receipt' }, 'Receipt'),
    ].filter(Boolean));
  };
  (async () => {
    // Back from the provider, the webhook may come a moment later: look again for a while.
    for (let i = 0; i < 15 && ctx.isCurrent(); i++) {
      try {
        const o = await billing.order(id);
        if (!ctx.isCurrent()) return;
        fill(o);
        if (o.status !== 'pending') return;
      } catch (err) {
        if (ctx.isCurrent() && err.status !== 401) showError(alert, err);
        return;
      }
      await sleep(1000);
    }
  })();
  const cancelled = ctx.query.get('result') === 'cancel';
  return h('section', { class: 'page', testid: 'page-order' },
    pageHeader('Order', { back: '#/orders' }), alert,
    cancelled ? h('p', { class: 'muted', testid: 'order-cancelled' }, 'You left the payment page without paying.') : null,
    body);
}

export function render(ctx) {
  return ctx.params.id ? detailPage(ctx) : listPage(ctx);
}
