// pages/plan.js — "#/devices/{uid}/plan": a camera's cloud storage and 4G data. Shows the
// plan in force (or the free tier), when it ends and what the camera's footage follows now
// (kind, days kept); the owner buys a plan from the catalogue (buying the current one again
// renews it from its end) through the payment provider's checkout page, and comes back here.
// For a camera with a SIM card: its ICCID (masked), the data used, the allowance and a top-up.

import { plans } from '../api.js';
import { icon } from '../icons.js';
import { h, alertBox, showError, busy, formatDate } from '../ui.js';

export const title = 'Cloud storage';

const KIND = { continuous: 'Continuous recording', events: 'Events only', 'card-only': 'SD card only (nothing kept in the cloud)' };

function price(minor, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(minor / 100);
  } catch {
    return `${minor} ${currency}`;
  }
}

function header(uid) {
  return h(
    'header',
    { class: 'page-head' },
    h('a', { class: 'icon-btn', href: `#/devices/${encodeURIComponent(uid)}`, 'aria-label': 'Back to the device', testid: 'plan-back' }, icon('back')),
    h('div', { class: 'page-title-wrap' }, h('h1', { class: 'page-title' }, 'Cloud storage')),
  );
}

function currentCard(p) {
  const e = p.effective;
  const rows = [
    h('p', { testid: 'plan-current' }, p.current ? p.current.title : 'Free tier'),
    h('p', { testid: 'plan-effective' }, `${KIND[e.kind] || e.kind}, ${e.retention_days} days kept`),
  ];
  if (p.ends_at_ms) rows.push(h('p', { class: 'muted', testid: 'plan-ends' }, `Until ${formatDate(p.ends_at_ms)}`));
  return h('div', { class: 'card', testid: 'plan-current-card' }, h('h2', { class: 'card-title' }, 'This camera'), ...rows);
}

/** Starts a checkout and sends the buyer to the provider's payment page. */
async function checkout(start, btn, alert) {
  try {
    const c = await busy(btn, start);
    window.location.assign(c.redirect_url);
  } catch (err) {
    showError(alert, err);
  }
}

function offersCard(uid, catalogue, p, provider, alert) {
  const items = catalogue.plans.map((o) => {
    const renew = p.renew_sku === o.sku;
    const btn = h('button', { class: 'btn btn-primary', type: 'button', testid: `plan-buy-${o.sku}` }, renew ? 'Renew' : 'Buy');
    btn.addEventListener('click', () => checkout(() => plans.checkout(uid, o.sku, provider), btn, alert));
    return h(
      'li',
      { class: 'plan-offer', testid: `plan-offer-${o.sku}` },
      h('strong', {}, o.title),
      h('span', { class: 'muted' }, ` ${KIND[o.kind] || o.kind}, ${o.retention_days} days, ${price(o.amount_minor, o.currency)} a ${o.period}`),
      ' ',
      btn,
    );
  });
  return h('div', { class: 'card', testid: 'plan-offers' }, h('h2', { class: 'card-title' }, 'Plans'), h('ul', { class: 'plain-list' }, ...items));
}

function simCard(uid, catalogue, sim, provider, alert) {
  const rows = [
    h('p', { testid: 'sim-iccid' }, `SIM ${sim.iccid} (${sim.status})`),
    h('p', { testid: 'sim-usage' }, `Used ${Math.round(sim.used_kb / 1024)} MB · allowance ${Math.round(sim.allowance_kb / 1024)} MB`),
  ];
  const items = catalogue.data.map((d) => {
    const btn = h('button', { class: 'btn btn-secondary', type: 'button', testid: `sim-buy-${d.sku}` }, 'Top up');
    btn.addEventListener('click', () => checkout(() => plans.simCheckout(uid, d.sku, provider), btn, alert));
    return h('li', {}, h('strong', {}, d.title), ` ${price(d.amount_minor, d.currency)} `, btn);
  });
  return h('div', { class: 'card', testid: 'sim-card' }, h('h2', { class: 'card-title' }, '4G data'), ...rows, h('ul', { class: 'plain-list' }, ...items));
}

export function render(ctx) {
  const uid = ctx.params.uid;
  const alert = alertBox('plan-alert');
  const root = h('section', { class: 'page', testid: 'page-plan', dataset: { uid } }, header(uid), alert);
  const provider = 'stripe';
  Promise.all([plans.catalogue(), plans.ofDevice(uid), plans.sim(uid).catch(() => null)])
    .then(([catalogue, p, sim]) => {
      if (!ctx.isCurrent()) return;
      const parts = [header(uid), alert, currentCard(p), offersCard(uid, catalogue, p, provider, alert)];
      if (sim) parts.push(simCard(uid, catalogue, sim, provider, alert));
      root.replaceChildren(...parts);
    })
    .catch((err) => showError(alert, err));
  return root;
}
