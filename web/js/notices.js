// notices.js — what the app shows over every page for the signed-in account, and the privacy
// policy gate:
// - a major policy version waiting to be accepted sends every route but the reachable ones
//   (the notice itself, About, the data export and cancellation pages) to "#/policy-update";
//   the server refuses the rest anyway (`policy-acceptance-required`);
// - a minor version not yet seen shows a banner with what changed;
// - announcements from the operator not yet seen show a banner that opens them.
// What was seen is remembered per account in localStorage.

import { privacy } from './api.js';
import { getMe } from './state.js';
import { h } from './ui.js';

/** Routes reachable while a major policy version waits (prefixes of the hash path). */
const REACHABLE = ['/policy-update', '/about', '/me/exports', '/me/account', '/me/privacy'];

let acceptanceRequired = false;

function key(what) {
  const me = getMe();
  return me ? `kankan.${what}.${me.id}` : null;
}

function seen(what) {
  const k = key(what);
  try {
    return k ? localStorage.getItem(k) : null;
  } catch {
    return null;
  }
}

function remember(what, value) {
  const k = key(what);
  try {
    if (k) localStorage.setItem(k, value);
  } catch {
    /* storage unavailable: the banner shows again next time */
  }
}

/** Whether a signed-in route must wait for the policy (its hash path, e.g. "/devices"). */
export function blockedByPolicy(path) {
  return acceptanceRequired && !REACHABLE.some((p) => path === p || path.startsWith(`${p}/`));
}

/** Marks the policy accepted (the gate opens) or required (it closes). */
export function setAcceptanceRequired(required) {
  acceptanceRequired = required;
}

/** Remembers the newest of `items` (announcements, newest first) as seen, and clears its banner. */
export function markAnnouncementsSeen(items) {
  if (items.length) remember('announcement', items[0].id);
  document.querySelector('[data-testid=announcement-banner]')?.remove();
}

function host() {
  let el = document.getElementById('notices');
  if (!el) {
    el = h('div', { id: 'notices', class: 'notices' });
    document.getElementById('main').before(el);
  }
  return el;
}

function banner(testid, text, actions) {
  const el = h('div', { class: 'notice-banner', role: 'status', testid }, h('p', { class: 'notice-text' }, text), h('div', { class: 'notice-actions' }, actions));
  host().append(el);
  return el;
}

/**
 * Asks the server where the account stands: answers whether a major version waits; shows the
 * banners of a minor version and of unseen announcements.
 */
export async function refreshNotices() {
  host().replaceChildren();
  if (!getMe()) {
    acceptanceRequired = false;
    return false;
  }
  const c = await privacy.consents();
  acceptanceRequired = c.acceptance_required;
  const newest = c.newer_versions[c.newer_versions.length - 1];
  if (!acceptanceRequired && newest && seen('policy') !== newest.version) {
    const el = banner('policy-banner', `The privacy policy was updated (version ${newest.version}). ${newest.changes || ''}`.trim(), [
      h('a', { class: 'btn btn-secondary btn-small', href: '#/about' }, 'Read'),
      h('button', { type: 'button', class: 'btn btn-ghost btn-small', testid: 'policy-banner-ok', onclick: () => { remember('policy', newest.version); el.remove(); } }, 'OK'),
    ]);
  }
  if (!acceptanceRequired) {
    const items = await privacy.announcements();
    if (items.length && seen('announcement') !== items[0].id) {
      banner('announcement-banner', `${items[0].title}: a notice from the operator.`, [
        h('a', { class: 'btn btn-secondary btn-small', href: '#/announcements', testid: 'announcement-banner-open' }, 'Read'),
      ]);
    }
  }
  return acceptanceRequired;
}
