// ui.js — small DOM helpers shared by the pages: element builder, form fields and their inline
// errors, inline alerts, busy buttons, cooldown timers, toasts, flash notices, date formatting
// and layout shells.

import { icon } from './icons.js';

/**
 * Builds an element. Attribute values that are null/false are skipped, `true` sets an empty
 * attribute, `on*` functions become listeners, `testid` sets data-testid. Children may be
 * nodes, strings or (nested) arrays; strings are always inserted as text.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'testid') el.dataset.testid = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

let fieldSeq = 0;

/** A labelled input. Returns `{ wrap, input }`. Extra attrs go to the <input>. */
export function field({ label, hint, testid, ...attrs }) {
  const id = attrs.id || `f${++fieldSeq}`;
  const hintId = hint ? `${id}-hint` : null;
  const input = h('input', { class: 'input', id, testid, 'aria-describedby': hintId, ...attrs });
  const wrap = h(
    'div',
    { class: 'field' },
    h('label', { class: 'label', for: id }, label),
    input,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
  );
  return { wrap, input };
}

/**
 * Shows `message` under the input made by `field`/`passwordField`: the input is marked
 * aria-invalid and described by the message (announced as an alert). Test id:
 * `${input's testid}-error`. Replaces any error the field already shows.
 */
export function showFieldError(input, message) {
  clearFieldError(input);
  const id = `${input.id}-error`;
  const note = h(
    'p',
    { class: 'field-error', id, role: 'alert', testid: input.dataset.testid ? `${input.dataset.testid}-error` : null },
    icon('alert', 16),
    h('span', null, message),
  );
  const box = input.parentElement?.classList.contains('input-wrap') ? input.parentElement : input;
  box.after(note);
  input.setAttribute('aria-invalid', 'true');
  const described = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
  input.setAttribute('aria-describedby', [id, ...described].join(' '));
}

/** Removes what `showFieldError` added to `input`. */
export function clearFieldError(input) {
  const id = `${input.id}-error`;
  const scope = input.closest('.field') || document;
  scope.querySelector(`[id="${id}"]`)?.remove();
  input.removeAttribute('aria-invalid');
  const rest = (input.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== id);
  if (rest.length) input.setAttribute('aria-describedby', rest.join(' '));
  else input.removeAttribute('aria-describedby');
}

/** A hidden username input so password managers know whose password a form changes. */
export function hiddenUsername(value) {
  return h('input', { type: 'text', name: 'username', autocomplete: 'username', value: value || '', hidden: true, readonly: true, tabindex: -1 });
}

/** A labelled password input with a show/hide toggle button. Returns `{ wrap, input }`. */
export function passwordField({ label, hint, testid, autocomplete = 'current-password', ...attrs }) {
  const { wrap, input } = field({ label, hint, testid, type: 'password', autocomplete, ...attrs });
  const toggle = h('button', {
    type: 'button',
    class: 'input-action',
    'aria-label': 'Show password',
    'aria-pressed': 'false',
    testid: testid ? `${testid}-toggle` : null,
  });
  const paint = () => {
    const shown = input.type === 'text';
    toggle.replaceChildren(icon(shown ? 'eyeOff' : 'eye', 20));
    toggle.setAttribute('aria-label', shown ? 'Hide password' : 'Show password');
    toggle.setAttribute('aria-pressed', String(shown));
  };
  toggle.addEventListener('click', () => {
    input.type = input.type === 'password' ? 'text' : 'password';
    paint();
    input.focus();
  });
  paint();
  const box = h('div', { class: 'input-wrap' });
  input.replaceWith(box);
  box.append(input, toggle);
  return { wrap, input };
}

const ALERT_ICONS = { error: 'alert', ban: 'ban', warn: 'alert', info: 'info', success: 'check' };

/** An inline alert region, hidden until `showAlert` is called on it. */
export function alertBox(testid) {
  return h('div', { class: 'alert', role: 'alert', hidden: true, testid });
}

/**
 * Shows `message` in an alert box. `kind` is error | ban | warn | info | success.
 * Options: `title` (bold heading), `actions` (nodes appended below the text).
 */
export function showAlert(box, kind, message, { title, actions } = {}) {
  box.className = `alert alert-${kind}`;
  box.setAttribute('role', kind === 'success' || kind === 'info' ? 'status' : 'alert');
  box.replaceChildren(
    icon(ALERT_ICONS[kind] || 'info', 22),
    h(
      'div',
      { class: 'alert-body' },
      title ? h('p', { class: 'alert-title' }, title) : null,
      h('p', { class: 'alert-text', testid: box.dataset.testid ? `${box.dataset.testid}-text` : null }, message),
      actions && actions.length ? h('div', { class: 'alert-actions' }, actions) : null,
    ),
  );
  box.hidden = false;
}

/** Shows an ApiError (or any Error) as an error alert. */
export function showError(box, err, options) {
  showAlert(box, 'error', (err && err.message) || 'Something went wrong.', options);
}

export function hideAlert(box) {
  box.hidden = true;
  box.replaceChildren();
}

/** "3 minutes" style text for a number of seconds (rounded up, at least 1 minute). */
export function minutesText(seconds) {
  const mins = Math.max(1, Math.ceil((seconds || 0) / 60));
  return mins === 1 ? '1 minute' : `${mins} minutes`;
}

/** "0:42" / "1:05" style countdown text. */
export function clockText(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * Disables `button` and shows a spinner while `task()` runs. Returns the task's result.
 */
export async function busy(button, task) {
  if (!button) return task();
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.classList.add('is-busy');
  try {
    return await task();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.classList.remove('is-busy');
  }
}

/**
 * Wires a form: prevents the default submit, hides `alert`, runs `handler(form)` with the
 * submit button busy, and shows any thrown error in `alert` unless the handler dealt with it.
 */
export function onSubmit(form, alert, handler) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (form.dataset.busy) return;
    if (alert) hideAlert(alert);
    const button = event.submitter || form.querySelector('button[type=submit]');
    form.dataset.busy = '1';
    try {
      await busy(button, () => handler(form));
    } catch (err) {
      if (alert) showError(alert, err);
      else toast(err.message || 'Something went wrong.', 'error');
    } finally {
      delete form.dataset.busy;
    }
  });
}

/**
 * Keeps `button` disabled with a "label in 0:42" countdown until `untilMs` (epoch ms).
 * Returns a function that stops the timer.
 */
export function cooldown(button, untilMs, label) {
  let timer = null;
  const tick = () => {
    const left = (untilMs - Date.now()) / 1000;
    if (left <= 0) {
      button.disabled = false;
      button.textContent = label;
      clearInterval(timer);
      timer = null;
      return;
    }
    button.disabled = true;
    button.textContent = `${label} in ${clockText(left)}`;
  };
  tick();
  if (untilMs > Date.now()) timer = setInterval(tick, 500);
  return () => timer && clearInterval(timer);
}

/** Shows a short-lived message at the bottom of the screen. */
export function toast(message, kind = 'info') {
  const host = document.getElementById('toasts');
  if (!host) return;
  const el = h('div', { class: `toast toast-${kind}`, testid: 'toast' }, message);
  host.append(el);
  setTimeout(() => el.classList.add('is-leaving'), 3200);
  setTimeout(() => el.remove(), 3600);
}

/** One-shot notice carried to the next page (e.g. "Password changed, please log in"). */
export const flash = {
  set(kind, message) {
    try {
      sessionStorage.setItem('kankan.flash', JSON.stringify({ kind, message }));
    } catch {
      /* ignore */
    }
  },
  take() {
    try {
      const value = JSON.parse(sessionStorage.getItem('kankan.flash') || 'null');
      sessionStorage.removeItem('kankan.flash');
      return value;
    } catch {
      return null;
    }
  },
};

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'long' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "Mar 3, 2025, 14:05" — or the raw value if it is not a date. */
export function formatDateTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? '') : dateTime.format(d);
}

export function formatDate(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? '') : dateOnly.format(d);
}

/** "just now", "5 minutes ago", "yesterday"… */
export function formatRelative(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? '');
  const secs = Math.round((d.getTime() - Date.now()) / 1000);
  const abs = Math.abs(secs);
  if (abs < 45) return 'just now';
  if (abs < 3600) return relative.format(Math.round(secs / 60), 'minute');
  if (abs < 86400) return relative.format(Math.round(secs / 3600), 'hour');
  if (abs < 86400 * 30) return relative.format(Math.round(secs / 86400), 'day');
  return formatDate(iso);
}

/** A <time> element showing relative time with the full date as tooltip. */
export function timeEl(iso, { relative: rel = true } = {}) {
  return h('time', { datetime: iso, title: formatDateTime(iso) }, rel ? formatRelative(iso) : formatDateTime(iso));
}

/** Trims an identifier; strips spaces, dashes and brackets from phone numbers ("+81 90-1234…"). */
export function normalizeIdentifier(value) {
  const v = String(value || '').trim();
  if (/^\+[\d\s\-().]+$/.test(v)) return '+' + v.replace(/\D/g, '');
  return v;
}

/** Layout shell for logged-out pages: brand panel + card. */
export function authLayout({ title, subtitle, testid }, ...children) {
  return h(
    'section',
    { class: 'auth', testid },
    h(
      'div',
      { class: 'auth-hero', 'aria-hidden': 'true' },
      h('p', { class: 'auth-hero-brand' }, h('img', { src: 'icons/icon.svg', alt: '', width: 56, height: 56 }), 'Kankan'),
      h('p', { class: 'auth-hero-title' }, 'Your cameras, your cloud.'),
      h('p', { class: 'auth-hero-text' }, 'Live view, alerts and recordings from your own server. Nobody else is watching.'),
    ),
    h(
      'div',
      { class: 'auth-card' },
      h('a', { class: 'auth-brand', href: '#/login' }, h('img', { src: 'icons/icon.svg', alt: '', width: 36, height: 36 }), 'Kankan'),
      h('h1', { class: 'auth-title' }, title),
      subtitle ? h('p', { class: 'auth-subtitle' }, subtitle) : null,
      children,
    ),
  );
}

/** Page header for logged-in pages: optional back link, title, optional trailing node. */
export function pageHeader(title, { back, trailing } = {}) {
  return h(
    'header',
    { class: 'page-head' },
    back ? h('a', { class: 'icon-btn', href: back.href, 'aria-label': back.label, testid: back.testid }, icon('back')) : null,
    h('h1', { class: 'page-title' }, title),
    trailing || null,
  );
}

/** Friendly empty state: big icon, title, text, optional action. */
export function emptyState({ iconName, title, text, testid, action }) {
  return h(
    'div',
    { class: 'empty', testid },
    h('div', { class: 'empty-art' }, icon(iconName, 40)),
    h('h2', { class: 'empty-title' }, title),
    h('p', { class: 'empty-text' }, text),
    action || null,
  );
}

let dialogSeq = 0;

/**
 * An in-page confirmation (a modal <dialog>, so tests and keyboards can reach it). Resolves to
 * true when confirmed, false when cancelled, dismissed (Escape, backdrop) or the route changes.
 * Test ids: `${testid}`, `${testid}-ok`, `${testid}-cancel`.
 */
export function confirmDialog({ title, text, confirmLabel = 'OK', cancelLabel = 'Cancel', danger = false, testid = 'confirm' }) {
  return new Promise((resolve) => {
    const id = `dlg${++dialogSeq}`;
    let confirmed = false;
    const ok = h('button', { type: 'button', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`, testid: `${testid}-ok` }, confirmLabel);
    const cancel = h('button', { type: 'button', class: 'btn btn-secondary', testid: `${testid}-cancel` }, cancelLabel);
    const dialog = h(
      'dialog',
      { class: 'dialog', testid, 'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-text` },
      h(
        'div',
        { class: 'dialog-body' },
        h('h2', { class: 'dialog-title', id: `${id}-title` }, title),
        h('p', { class: 'dialog-text', id: `${id}-text` }, text),
        h('div', { class: 'dialog-actions' }, cancel, ok),
      ),
    );
    const onRoute = () => dialog.close();
    ok.addEventListener('click', () => {
      confirmed = true;
      dialog.close();
    });
    cancel.addEventListener('click', () => dialog.close());
    // A click on the backdrop lands on the <dialog> itself (its body fills the box).
    dialog.addEventListener('click', (event) => {
      if (event.target === dialog) dialog.close();
    });
    dialog.addEventListener('close', () => {
      window.removeEventListener('hashchange', onRoute);
      dialog.remove();
      resolve(confirmed);
    });
    window.addEventListener('hashchange', onRoute);
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** Resolves after `ms` milliseconds (for polling loops). */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
