// pages/notifications.js — "#/me/notifications": how and when the account is told about
// events. The reminder method (push, e-mail, SMS, phone call, none), quiet hours and their
// time zone; push on this browser (asks for permission, subscribes with the server's VAPID key
// and registers the subscription; says plainly when the browser cannot); per camera, which
// kinds of events notify and snooze; and webhooks (the signing secret is shown once).

import { devices, notify } from '../api.js';
import { icon } from '../icons.js';
import {
  h, field, alertBox, showAlert, showError, hideAlert, onSubmit, busy, toast, confirmDialog, pageHeader, formatDateTime,
  showFieldError, clearFieldError,
} from '../ui.js';
import { deviceTitle, kindTile } from '../device-ui.js';
import { snoozeControl, kindsControl, kindsFor } from '../notify-ui.js';
import { timeZoneSelect, localTimeZone } from '../time-zones.js';

export const title = 'Notifications';

const METHODS = [
  ['push', 'Push'],
  ['email', 'E-mail'],
  ['sms', 'SMS'],
  ['call', 'Phone call'],
  ['none', 'None'],
];
/** How long to wait for the service worker before saying push is unavailable. */
const SW_WAIT_MS = 10_000;
/** How long the browser's push service may take to subscribe. */
const SUBSCRIBE_WAIT_MS = 10_000;

/** The bytes of a base64url string (the VAPID public key). */
export function base64UrlBytes(text) {
  const b64 = String(text).replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function sameBytes(a, b) {
  if (!a || !b) return false;
  const x = new Uint8Array(a);
  return x.length === b.length && x.every((v, i) => v === b[i]);
}

async function registration() {
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) return null;
  return Promise.race([navigator.serviceWorker.ready, new Promise((resolve) => setTimeout(() => resolve(null), SW_WAIT_MS))]);
}

// ---- How and when ----
function preferencesCard() {
  const alert = alertBox('notify-settings-alert');
  const name = 'notify-method';
  const radios = METHODS.map(([value, text]) => {
    const input = h('input', { type: 'radio', name, value, class: 'seg-input', testid: `notify-method-${value}` });
    return { value, input, node: h('label', { class: 'seg-option' }, input, h('span', null, text)) };
  });
  const quietId = 'notify-quiet';
  const quiet = h('input', { type: 'checkbox', class: 'switch-input', id: quietId, role: 'switch', testid: 'notify-quiet' });
  const start = field({ label: 'From', type: 'time', testid: 'notify-quiet-start', value: '22:00' });
  const end = field({ label: 'Until', type: 'time', testid: 'notify-quiet-end', value: '07:00' });
  const times = h('div', { class: 'quiet-times' }, start.wrap, end.wrap);
  const tz = timeZoneSelect({ id: 'notify-tz', testid: 'notify-time-zone' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'notify-save' }, 'Save');
  const form = h(
    'form',
    { class: 'form settings', novalidate: true, testid: 'notify-settings-form', hidden: true },
    h('fieldset', { class: 'set-row set-row-stack seg-field' }, h('legend', { class: 'set-label' }, 'Remind me by'), h('div', { class: 'seg seg-wrap' }, radios.map((r) => r.node))),
    h(
      'div',
      { class: 'set-row' },
      h('label', { class: 'set-text', for: quietId }, h('span', { class: 'set-label' }, 'Quiet hours'), h('span', { class: 'set-hint' }, 'No reminders in this time; events still reach the Message Center')),
      h('span', { class: 'switch' }, quiet, h('span', { class: 'switch-track', 'aria-hidden': 'true' })),
    ),
    times,
    h('div', { class: 'set-row set-row-stack' }, h('label', { class: 'set-label', for: 'notify-tz' }, 'Time zone'), tz.input),
    save,
  );
  const loading = h('p', { class: 'muted small' }, 'Loading…');
  const showTimes = () => (times.hidden = !quiet.checked);
  quiet.addEventListener('change', showTimes);

  notify
    .settings()
    .then((s) => {
      radios.forEach((r) => (r.input.checked = r.value === s.method));
      quiet.checked = !!s.quiet_hours;
      if (s.quiet_hours) {
        start.input.value = s.quiet_hours.start;
        end.input.value = s.quiet_hours.end;
      }
      tz.set(s.time_zone || localTimeZone());
      showTimes();
      loading.remove();
      form.hidden = false;
    })
    .catch((err) => {
      loading.remove();
      showError(alert, err);
    });

  onSubmit(form, alert, async () => {
    clearFieldError(start.input);
    if (quiet.checked && (!start.input.value || !end.input.value || start.input.value === end.input.value)) {
      showFieldError(start.input, 'Choose when quiet hours start and end (they may run past midnight).');
      start.input.focus();
      return;
    }
    const body = {
      method: radios.find((r) => r.input.checked)?.value || 'push',
      quiet_hours: quiet.checked ? { start: start.input.value.slice(0, 5), end: end.input.value.slice(0, 5) } : null,
      time_zone: tz.get(),
    };
    await notify.putSettings(body);
    showAlert(alert, 'success', 'Saved.');
  });
  return h('div', { class: 'card', testid: 'notify-settings' }, h('h2', { class: 'card-title' }, 'How and when'), alert, loading, form);
}

// ---- Push on this browser ----
function pushCard() {
  const alert = alertBox('push-alert');
  const status = h('p', { class: 'muted small', testid: 'push-status', role: 'status' }, 'Checking this browser…');
  const enable = h('button', { type: 'button', class: 'btn btn-primary', testid: 'push-enable', hidden: true }, icon('bell', 20), 'Enable push on this browser');
  const disable = h('button', { type: 'button', class: 'btn btn-secondary', testid: 'push-disable', hidden: true }, 'Turn off push on this browser');

  const paint = (state) => {
    status.dataset.state = state;
    status.textContent = {
      on: 'Push notifications reach this browser.',
      off: 'This browser does not receive push notifications yet.',
      blocked: 'Notifications are blocked for this site in the browser settings.',
      unsupported: 'This browser cannot receive push notifications.',
    }[state];
    enable.hidden = state !== 'off' && state !== 'blocked';
    disable.hidden = state !== 'on';
  };

  const check = async () => {
    const reg = await registration();
    if (!reg) return paint('unsupported');
    if (Notification.permission === 'denied') return paint('blocked');
    const sub = await reg.pushManager.getSubscription().catch(() => null);
    paint(sub && Notification.permission === 'granted' ? 'on' : 'off');
  };

  enable.addEventListener('click', () =>
    busy(enable, async () => {
      hideAlert(alert);
      try {
        const reg = await registration();
        if (!reg) {
          paint('unsupported');
          return;
        }
        const permission = await Notification.requestPermission();
        if (permission !== 'granted') {
          paint(permission === 'denied' ? 'blocked' : 'off');
          showAlert(alert, 'warn', 'Allow notifications for this site when the browser asks (or in its site settings), then try again.');
          return;
        }
        const { key } = await notify.vapidKey();
        const serverKey = base64UrlBytes(key);
        let sub = await reg.pushManager.getSubscription();
        if (sub && !sameBytes(sub.options.applicationServerKey, serverKey)) {
          await sub.unsubscribe();
          sub = null;
        }
        if (!sub) {
          try {
            // Without a reachable push service some browsers never answer: give up after a while.
            sub = await Promise.race([
              reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: serverKey }),
              new Promise((_, reject) => setTimeout(() => reject(new Error('no answer from the push service')), SUBSCRIBE_WAIT_MS)),
            ]);
          } catch (err) {
            showAlert(alert, 'error', `This browser could not reach its push service, so push cannot be turned on here. (${err.message || err.name})`, { title: 'Push unavailable' });
            paint('off');
            return;
          }
        }
        await notify.subscribe(sub.toJSON());
        paint('on');
        toast('Push notifications are on', 'success');
      } catch (err) {
        showError(alert, err);
      }
    }),
  );
  disable.addEventListener('click', () =>
    busy(disable, async () => {
      hideAlert(alert);
      try {
        const reg = await registration();
        const sub = reg && (await reg.pushManager.getSubscription());
        if (sub) {
          await notify.unsubscribe(sub.endpoint).catch((err) => {
            if (err.status !== 404) throw err;
          });
          await sub.unsubscribe();
        }
        paint('off');
      } catch (err) {
        showError(alert, err);
      }
    }),
  );
  check().catch(() => paint('unsupported'));
  return h(
    'div',
    { class: 'card', testid: 'push-card' },
    h('h2', { class: 'card-title' }, 'Push on this browser'),
    status,
    alert,
    h('div', { class: 'btn-row' }, enable, disable),
  );
}

// ---- Cameras ----
function camerasCard() {
  const body = h('div', { class: 'notify-cameras' }, h('p', { class: 'muted small' }, 'Loading…'));
  devices
    .list()
    .then(async (list) => {
      if (!list.length) {
        body.replaceChildren(h('p', { class: 'muted small', testid: 'notify-cameras-none' }, 'Add a camera to choose what it tells you about.'));
        return;
      }
      const rows = await Promise.all(
        list.map(async (d) => {
          const state = await notify.device(d.uid).catch(() => null);
          return h(
            'div',
            { class: 'notify-camera', testid: 'notify-camera', dataset: { uid: d.uid } },
            h('div', { class: 'notify-camera-head' }, kindTile(d.kind), h('p', { class: 'row-title' }, deviceTitle(d))),
            state
              ? [kindsControl(d.uid, state, { testid: `notify-kinds-${d.uid}`, kinds: kindsFor(d.kind) }), snoozeControl(d.uid, { testid: `notify-snooze-${d.uid}`, state }).node]
              : h('p', { class: 'muted small' }, 'Not available right now.'),
          );
        }),
      );
      body.replaceChildren(...rows);
    })
    .catch((err) => body.replaceChildren(h('p', { class: 'muted small' }, err.message)));
  return h('div', { class: 'card', testid: 'notify-cameras' }, h('h2', { class: 'card-title' }, 'Cameras'), body);
}

// ---- Webhooks ----
function webhooksCard() {
  const alert = alertBox('webhooks-alert');
  const list = h('ul', { class: 'rows', testid: 'webhooks-list' });
  const url = field({ label: 'Webhook URL', type: 'url', testid: 'webhook-url', placeholder: 'https://example.com/kankan', autocomplete: 'off', hint: 'Each event is POSTed there as JSON, signed with HMAC-SHA256 (Kankan-Signature header).' });
  const form = h('form', { class: 'form', novalidate: true, testid: 'webhook-form' }, url.wrap, h('button', { type: 'submit', class: 'btn btn-secondary', testid: 'webhook-add' }, icon('plus', 20), 'Add webhook'));

  const item = (w) => {
    const remove = h('button', { type: 'button', class: 'btn btn-danger-outline btn-small', testid: 'webhook-delete' }, 'Remove');
    const li = h(
      'li',
      { class: 'row', testid: 'webhook-item', dataset: { id: w.id } },
      h('div', { class: 'row-main' }, h('p', { class: 'row-title', title: w.url }, w.url), w.created_at_ms ? h('p', { class: 'row-sub' }, `Added ${formatDateTime(new Date(w.created_at_ms).toISOString())}`) : null),
      h('div', { class: 'row-end' }, remove),
    );
    remove.addEventListener('click', async () => {
      const ok = await confirmDialog({ title: 'Remove this webhook?', text: w.url, confirmLabel: 'Remove', danger: true });
      if (!ok) return;
      busy(remove, async () => {
        try {
          await notify.removeWebhook(w.id);
          li.remove();
          paintEmpty();
        } catch (err) {
          showError(alert, err);
        }
      });
    });
    return li;
  };
  const none = h('li', { class: 'row-empty', testid: 'webhooks-none' }, 'No webhooks.');
  const paintEmpty = () => {
    if (!list.querySelector('[data-testid=webhook-item]')) list.replaceChildren(none);
  };
  notify
    .webhooks()
    .then((hooks) => {
      list.replaceChildren(...hooks.map(item));
      paintEmpty();
    })
    .catch((err) => showError(alert, err));

  onSubmit(form, alert, async () => {
    clearFieldError(url.input);
    const value = url.input.value.trim();
    if (!/^https?:\/\/\S+$/i.test(value)) {
      showFieldError(url.input, 'Enter a full URL starting with https:// (or http://).');
      url.input.focus();
      return;
    }
    try {
      const created = await notify.addWebhook(value);
      none.remove();
      list.append(item({ id: created.id, url: created.url || value, created_at_ms: Date.now() }));
      url.input.value = '';
      showAlert(alert, 'success', created.secret, { title: 'Webhook added. Its signing secret is shown only now: copy it.' });
      const text = alert.querySelector('.alert-text');
      if (text) text.dataset.testid = 'webhook-secret';
    } catch (err) {
      if (err.status === 422 || err.status === 400) showFieldError(url.input, err.message);
      else throw err;
    }
  });
  return h('div', { class: 'card', testid: 'webhooks' }, h('h2', { class: 'card-title' }, 'Webhooks'), alert, list, form);
}

export function render() {
  return h(
    'section',
    { class: 'page', testid: 'page-notifications' },
    pageHeader('Notifications', { back: { href: '#/me', label: 'Back to Me', testid: 'notifications-back' } }),
    preferencesCard(),
    pushCard(),
    camerasCard(),
    webhooksCard(),
  );
}
