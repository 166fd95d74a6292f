// notify-ui.js — one camera's notification controls, shown on the device page, in the event
// detail and on the notification settings page: snooze (30 minutes, an hour, until tomorrow,
// or resume) and which kinds of events notify.

import { notify } from './api.js';
import { h, busy, toast } from './ui.js';
import { EVENT_KINDS, eventLabel } from './event-ui.js';

const untilFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });

const SNOOZES = [
  ['30', '30 min', { minutes: 30 }],
  ['60', '1 hour', { minutes: 60 }],
  ['tomorrow', 'Until tomorrow', { until: 'tomorrow' }],
];

/**
 * Snooze buttons for camera `uid` with a line saying whether it is snoozed. `state` (the
 * camera's `{ kinds, snoozed_until_ms }`) is read when not given. Test ids: `${testid}`,
 * `${testid}-status`, `${testid}-30`, `${testid}-60`, `${testid}-tomorrow`, `${testid}-resume`.
 * Returns `{ node, set(state) }`.
 */
export function snoozeControl(uid, { testid = 'snooze', state = null } = {}) {
  const status = h('p', { class: 'snooze-status muted small', testid: `${testid}-status`, role: 'status' });
  const buttons = SNOOZES.map(([key, label, body]) => {
    const b = h('button', { type: 'button', class: 'chip snooze-chip', testid: `${testid}-${key}` }, label);
    b.addEventListener('click', () =>
      busy(b, async () => {
        try {
          const res = await notify.snooze(uid, body);
          paint(res.snoozed_until_ms);
          toast(`Snoozed until ${untilFmt.format(new Date(res.snoozed_until_ms))}`, 'success');
        } catch (err) {
          toast(err.message, 'error');
        }
      }),
    );
    return b;
  });
  const resume = h('button', { type: 'button', class: 'btn btn-ghost btn-small', testid: `${testid}-resume`, hidden: true }, 'Resume notifications');
  resume.addEventListener('click', () =>
    busy(resume, async () => {
      try {
        await notify.unsnooze(uid);
        paint(null);
      } catch (err) {
        toast(err.message, 'error');
      }
    }),
  );

  const paint = (until) => {
    const on = until != null && until > Date.now();
    status.textContent = on ? `Snoozed until ${untilFmt.format(new Date(until))}` : 'Notifications are on.';
    status.dataset.snoozed = String(on);
    resume.hidden = !on;
  };
  const node = h(
    'div',
    { class: 'snooze', testid },
    status,
    h('div', { class: 'snooze-chips', role: 'group', 'aria-label': 'Snooze notifications' }, buttons),
    resume,
  );
  if (state) paint(state.snoozed_until_ms);
  else {
    status.textContent = '…';
    notify
      .device(uid)
      .then((s) => paint(s.snoozed_until_ms))
      .catch(() => (status.textContent = 'Snooze state unavailable.'));
  }
  return { node, set: (s) => paint(s.snoozed_until_ms) };
}

/**
 * Checkboxes for the kinds of events of camera `uid` that notify; each change is saved at once.
 * `kinds` lists those of this device (a camera has no doorbell press or loiter).
 */
export function kindsControl(uid, state, { testid = 'notify-kinds', kinds = EVENT_KINDS } = {}) {
  let current = { ...state };
  const boxes = kinds.map((kind) => {
    const input = h('input', { type: 'checkbox', class: 'check', value: kind, testid: `${testid}-${kind}` });
    input.checked = (current.kinds || []).includes(kind);
    input.addEventListener('change', async () => {
      const next = { kinds: boxes.filter((b) => b.checked).map((b) => b.value), snoozed_until_ms: current.snoozed_until_ms ?? null };
      try {
        current = await notify.putDevice(uid, next);
      } catch (err) {
        input.checked = !input.checked;
        toast(err.message, 'error');
      }
    });
    return input;
  });
  return h(
    'fieldset',
    { class: 'kinds', testid },
    h('legend', { class: 'set-label' }, 'Notify me about'),
    boxes.map((input) => h('label', { class: 'check-row' }, input, h('span', null, eventLabel(input.value)))),
  );
}

/** The kinds a device of `kind` ('camera' | 'doorbell') can raise. */
export function kindsFor(kind) {
  return kind === 'doorbell' ? EVENT_KINDS : EVENT_KINDS.filter((k) => k !== 'press' && k !== 'loiter');
}

/**
 * The device page's Notifications card: kinds and snooze, read from the server. Hidden when
 * the server has no notification settings for the device.
 */
export function deviceNotifyCard(d) {
  const body = h('div', { class: 'notify-body' }, h('p', { class: 'muted small' }, 'Loading…'));
  const card = h('div', { class: 'card', testid: 'device-notify' }, h('h2', { class: 'card-title' }, 'Notifications'), body);
  notify
    .device(d.uid)
    .then((state) => {
      body.replaceChildren(
        snoozeControl(d.uid, { testid: 'device-snooze', state }).node,
        kindsControl(d.uid, state, { testid: 'device-kinds', kinds: kindsFor(d.kind) }),
        h('a', { class: 'link small', href: '#/me/notifications', testid: 'device-notify-settings' }, 'How and when you are notified'),
      );
    })
    .catch(() => body.replaceChildren(h('p', { class: 'muted small', testid: 'device-notify-unavailable' }, 'Notification settings are not available right now.')));
  return card;
}
