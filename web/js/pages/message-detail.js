// pages/message-detail.js — one event of the Message Center, in a modal dialog: its thumbnail,
// kind, camera, time, duration and zone, a "Play" link to the recording at that moment (with
// the clip's pre-roll), snoozing the camera, how its notifications went out, and deleting it.
// The dialog closes on Escape, on the backdrop, on "Close" and when the route changes.

import { events } from '../api.js';
import { icon } from '../icons.js';
import { h, busy, confirmDialog, toast } from '../ui.js';
import {
  eventTitle, eventThumb, eventTime, durationText, zoneText, playbackHref,
} from '../event-ui.js';
import { snoozeControl } from '../notify-ui.js';

const STATUS_LABELS = { sent: 'Sent', retry: 'Retrying', dead: 'Failed', suppressed: 'Not sent', gone: 'Subscription gone' };
const CHANNEL_LABELS = { push: 'Push', email: 'E-mail', sms: 'SMS', call: 'Phone call', webhook: 'Webhook' };

let seq = 0;

function facts(item, name) {
  const row = (key, label, value) => (value == null ? null : [h('dt', null, label), h('dd', { testid: `event-detail-${key}` }, value)]);
  const ended = item.ended_at_ms;
  return h(
    'dl',
    { class: 'info' },
    row('camera', 'Camera', name),
    row('time', 'Time', eventTime(item.started_at_ms)),
    row('duration', 'Duration', ended != null ? durationText(ended - item.started_at_ms) : 'Still going on'),
    row('zone', 'Zone', zoneText(item.zone)),
  );
}

function deliveriesList(id) {
  const list = h('ul', { class: 'rows deliveries', testid: 'event-detail-deliveries', hidden: true });
  events
    .deliveries(id)
    .then((rows) => {
      if (!rows || !rows.length) return;
      list.replaceChildren(
        ...rows.map((d) =>
          h(
            'li',
            { class: 'row', testid: 'event-delivery', dataset: { status: d.status, channel: d.channel } },
            h('div', { class: 'row-main' },
              h('p', { class: 'row-title' }, `${CHANNEL_LABELS[d.channel] || d.channel} · ${STATUS_LABELS[d.status] || d.status}`),
              h('p', { class: 'row-sub' }, eventTime(d.at_ms), d.attempt > 1 ? ` · attempt ${d.attempt}` : '', d.detail ? ` · ${d.detail}` : ''),
            ),
          ),
        ),
      );
      list.hidden = false;
    })
    .catch(() => {});
  return list;
}

/**
 * Opens the detail of event `item` (`name`: its camera's display name). `onDeleted(id)` is
 * called after it was deleted. Returns `{ update(item), close() }`; `update` repaints it with
 * a newer version of the event (it ended, its thumbnail arrived).
 */
export function openEventDetail(item, name, { onDeleted } = {}) {
  const id = `evd${++seq}`;
  let current = item;
  const thumb = h('div', { class: 'ev-detail-media' });
  const title = h('h2', { class: 'dialog-title', id: `${id}-title`, testid: 'event-detail-title' });
  const info = h('div', { id: `${id}-text` });
  const play = h('a', { class: 'btn btn-primary', testid: 'event-detail-play' }, icon('play', 20), 'Play');
  const del = h('button', { type: 'button', class: 'btn btn-danger-outline', testid: 'event-detail-delete' }, icon('trash', 20), 'Delete');
  const close = h('button', { type: 'button', class: 'btn btn-secondary', testid: 'event-detail-close' }, 'Close');
  const dialog = h(
    'dialog',
    { class: 'dialog dialog-wide', testid: 'event-detail', 'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-text`, dataset: { id: item.id } },
    h(
      'div',
      { class: 'dialog-body' },
      thumb,
      title,
      info,
      h('div', { class: 'btn-row' }, play),
      h('h3', { class: 'subhead' }, `Snooze ${name}`),
      snoozeControl(item.device, { testid: 'event-detail-snooze' }).node,
      deliveriesList(item.id),
      h('div', { class: 'dialog-actions' }, del, close),
    ),
  );

  const paint = () => {
    const label = `${eventTitle(current)} · ${name}`;
    thumb.replaceChildren(eventThumb(current, { testid: 'event-detail-thumb', large: true, alt: `${label}, ${eventTime(current.started_at_ms)}` }));
    title.textContent = label;
    info.replaceChildren(facts(current, name));
    play.href = playbackHref(current);
  };
  paint();

  const onRoute = () => dialog.close();
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) dialog.close();
  });
  dialog.addEventListener('close', () => {
    window.removeEventListener('hashchange', onRoute);
    dialog.remove();
  });
  del.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Delete this event?',
      text: 'It is removed from the Message Center on every device. The recording itself stays.',
      confirmLabel: 'Delete',
      danger: true,
    });
    if (!ok) return;
    await busy(del, async () => {
      try {
        await events.remove(current.id);
      } catch (err) {
        if (err.status !== 404) {
          toast(err.message, 'error');
          return;
        }
      }
      toast('Event deleted', 'success');
      dialog.close();
      if (onDeleted) onDeleted(current.id);
    });
  });

  window.addEventListener('hashchange', onRoute);
  document.body.append(dialog);
  dialog.showModal();
  play.focus();
  return {
    update(next) {
      current = next;
      if (dialog.open) paint();
    },
    close: () => dialog.close(),
    get open() {
      return dialog.open;
    },
  };
}
