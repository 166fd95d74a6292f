// pages/messages.js — "#/messages[?device=&kind=&day=YYYY-MM-DD]": the Message Center. The
// account's events, newest first, filtered by camera, kind and day (the filters live in the
// route, so a filtered view can be linked to and survives a reload; the type "Person" lists the
// events the server saw a person in), a page at a time ("Load
// more"). Each row shows the thumbnail (or the kind's icon), what happened where and when, and
// a dot while unread; opening one marks it read and shows its detail (message-detail.js). New
// and updated events arrive live over the events stream (events-stream.js).

import { events } from '../api.js';
import { icon } from '../icons.js';
import { h, pageHeader, emptyState, alertBox, showError, hideAlert, busy } from '../ui.js';
import {
  EVENT_KINDS, PERSON_FILTER, eventLabel, eventTitle, eventThumb, eventTime, zoneText, deviceMap,
  deviceName,
} from '../event-ui.js';
import { onStreamMessage } from '../events-stream.js';
import { openEventDetail } from './message-detail.js';

export const title = 'Messages';

const PAGE = 30;
const pad = (n) => String(n).padStart(2, '0');

/** `[start, end)` in ms of the local day "YYYY-MM-DD", or null. */
function dayRange(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
  if (!m) return null;
  const start = new Date(+m[1], +m[2] - 1, +m[3]).getTime();
  const end = new Date(+m[1], +m[2] - 1, +m[3] + 1).getTime();
  return [start, end];
}

function today() {
  const d = new Date();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function rowView(item, name, onOpen) {
  const label = eventTitle(item);
  const zone = zoneText(item.zone);
  const live = item.ended_at_ms == null;
  const button = h(
    'button',
    { type: 'button', class: 'msg-open', testid: 'message-open', 'aria-label': `${label} at ${name}, ${eventTime(item.started_at_ms)}${item.read ? '' : ', unread'}` },
    eventThumb(item, { testid: 'message-thumb' }),
    h(
      'span',
      { class: 'msg-text' },
      h('span', { class: 'msg-title' }, h('span', { testid: 'message-kind' }, label), live ? h('span', { class: 'badge badge-danger msg-live', testid: 'message-live' }, 'Now') : null),
      h('span', { class: 'msg-sub', testid: 'message-device' }, name),
      h('span', { class: 'msg-sub' }, h('time', { datetime: new Date(item.started_at_ms).toISOString() }, eventTime(item.started_at_ms)), zone ? ` · ${zone}` : ''),
    ),
    item.read ? null : h('span', { class: 'msg-dot', testid: 'message-unread', 'aria-hidden': 'true' }),
  );
  button.addEventListener('click', () => onOpen(item.id));
  return h(
    'li',
    { class: `msg-row${item.read ? '' : ' is-unread'}`, testid: 'message-item', dataset: { id: item.id, kind: item.kind, device: item.device, read: String(!!item.read) } },
    button,
  );
}

export function render(ctx) {
  const q = ctx.query;
  const filters = { device: q.get('device') || '', kind: q.get('kind') || '', day: q.get('day') || '' };
  const range = dayRange(filters.day);

  const alert = alertBox('messages-alert');
  const list = h('ul', { class: 'msg-list', testid: 'messages-list', 'aria-busy': 'true', 'aria-label': 'Events' });
  const more = h('button', { type: 'button', class: 'btn btn-secondary btn-block', testid: 'messages-more', hidden: true }, 'Load more');
  const empty = emptyState({
    iconName: 'bell',
    title: filters.device || filters.kind || filters.day ? 'Nothing matches' : 'All quiet',
    text: filters.device || filters.kind || filters.day
      ? 'No events match these filters. Try another camera, type or day.'
      : 'When a camera sees motion or someone rings the doorbell, it shows up here within a second.',
    testid: 'messages-empty',
  });
  empty.hidden = true;

  // ---- Filters (each change is a new route) ----
  const setFilter = (key, value) => {
    const next = new URLSearchParams();
    const all = { ...filters, [key]: value };
    for (const [k, v] of Object.entries(all)) if (v) next.set(k, v);
    const s = next.toString();
    ctx.navigate(`#/messages${s ? `?${s}` : ''}`, { replace: true });
  };
  const deviceSelect = h('select', { class: 'input select', id: 'msg-device', testid: 'messages-filter-device' }, h('option', { value: '' }, 'All cameras'));
  const kindSelect = h(
    'select',
    { class: 'input select', id: 'msg-kind', testid: 'messages-filter-kind' },
    h('option', { value: '' }, 'All types'),
    EVENT_KINDS.map((k) => h('option', { value: k }, eventLabel(k))),
    h('option', { value: PERSON_FILTER, testid: 'messages-filter-person' }, 'Person'),
  );
  kindSelect.value = filters.kind;
  const dayInput = h('input', { class: 'input', type: 'date', id: 'msg-day', max: today(), value: filters.day, testid: 'messages-filter-day' });
  const clearDay = h('button', { type: 'button', class: 'btn btn-ghost btn-small', testid: 'messages-filter-day-clear', hidden: !filters.day }, 'Any day');
  deviceSelect.addEventListener('change', () => setFilter('device', deviceSelect.value));
  kindSelect.addEventListener('change', () => setFilter('kind', kindSelect.value));
  dayInput.addEventListener('change', () => setFilter('day', dayRange(dayInput.value) ? dayInput.value : ''));
  clearDay.addEventListener('click', () => setFilter('day', ''));
  const filterBar = h(
    'form',
    { class: 'msg-filters', testid: 'messages-filters', 'aria-label': 'Filter events' },
    h('div', { class: 'field' }, h('label', { class: 'label', for: 'msg-device' }, 'Camera'), deviceSelect),
    h('div', { class: 'field' }, h('label', { class: 'label', for: 'msg-kind' }, 'Type'), kindSelect),
    h('div', { class: 'field' }, h('label', { class: 'label', for: 'msg-day' }, 'Day'), h('div', { class: 'msg-day' }, dayInput, clearDay)),
  );
  filterBar.addEventListener('submit', (event) => event.preventDefault());

  const root = h(
    'section',
    { class: 'page', testid: 'page-messages' },
    pageHeader('Messages', { trailing: h('a', { class: 'icon-btn', href: '#/me/notifications', 'aria-label': 'Notification settings', testid: 'messages-settings' }, icon('sliders')) }),
    filterBar,
    alert,
    h('div', { class: 'card list-card msg-card' }, list, empty),
    more,
  );

  // ---- State ----
  let items = []; // newest first
  let names = new Map();
  let complete = false; // every matching event is loaded
  let left = false;
  let detail = null;

  const matches = (item) =>
    (!filters.device || item.device === filters.device) &&
    (!filters.kind || (filters.kind === PERSON_FILTER ? item.label === 'person' : item.kind === filters.kind)) &&
    (!range || (item.started_at_ms >= range[0] && item.started_at_ms < range[1]));

  const rows = new Map(); // id -> { key, node }: unchanged rows are kept (their images too)
  const paint = () => {
    const nodes = items.map((item) => {
      const name = deviceName(names, item.device);
      const key = JSON.stringify([item, name]);
      let row = rows.get(item.id);
      if (!row || row.key !== key) {
        row = { key, node: rowView(item, name, open) };
        rows.set(item.id, row);
      }
      return row.node;
    });
    for (const id of rows.keys()) if (!items.some((i) => i.id === id)) rows.delete(id);
    list.replaceChildren(...nodes);
    list.removeAttribute('aria-busy');
    empty.hidden = items.length > 0;
    list.hidden = items.length === 0;
    more.hidden = complete;
  };

  const query = (beforeMs) => {
    const f = { limit: PAGE };
    if (filters.device) f.device = filters.device;
    if (filters.kind === PERSON_FILTER) f.label = PERSON_FILTER;
    else if (filters.kind) f.kind = filters.kind;
    if (range) {
      f.after_ms = range[0];
      f.before_ms = range[1];
    }
    if (beforeMs != null) f.before_ms = Math.min(beforeMs, f.before_ms ?? Infinity);
    return f;
  };

  const load = async ({ append = false } = {}) => {
    const before = append && items.length ? items.at(-1).started_at_ms : null;
    const page = await events.list(query(before));
    if (left) return;
    hideAlert(alert);
    const known = new Set(items.map((i) => i.id));
    const fresh = page.filter((i) => !known.has(i.id) && matches(i));
    items = append ? [...items, ...fresh] : page.filter(matches);
    complete = page.length < PAGE;
    paint();
  };

  const open = (id) => {
    const item = items.find((i) => i.id === id);
    if (!item) return;
    detail = openEventDetail(item, deviceName(names, item.device), {
      onDeleted: (gone) => {
        items = items.filter((i) => i.id !== gone);
        paint();
      },
    });
    if (!item.read) {
      events
        .markRead(item.id)
        .then(() => {
          item.read = true;
          if (!left) paint();
        })
        .catch(() => {});
    }
  };

  more.addEventListener('click', () =>
    busy(more, async () => {
      try {
        await load({ append: true });
      } catch (err) {
        showError(alert, err);
      }
    }),
  );

  // ---- Live ----
  const onEvent = (item) => {
    const at = items.findIndex((i) => i.id === item.id);
    if (at >= 0) {
      // Keep the read state we know of: the stream may carry an older copy.
      items[at] = { ...item, read: item.read || items[at].read };
      if (detail && detail.open) detail.update(items[at]);
      paint();
      return;
    }
    if (!matches(item)) return;
    const oldest = items.at(-1);
    if (!complete && oldest && item.started_at_ms < oldest.started_at_ms) return; // a later page has it
    const pos = items.findIndex((i) => i.started_at_ms < item.started_at_ms);
    items.splice(pos < 0 ? items.length : pos, 0, item);
    if (!names.has(item.device)) {
      deviceMap({ fresh: true }).then((m) => {
        names = m;
        if (!left) paint();
      });
    }
    paint();
  };
  const offEvent = onStreamMessage('event', onEvent);
  // Events sent while the stream was down were missed: read the first page again.
  const offOpen = onStreamMessage('open', ({ reconnected }) => reconnected && load().catch(() => {}));

  ctx.onLeave(() => {
    left = true;
    offEvent();
    offOpen();
    if (detail && detail.open) detail.close();
  });

  // ---- Start ----
  deviceMap().then((m) => {
    if (left) return;
    names = m;
    const options = [...m.values()].map((d) => h('option', { value: d.uid }, deviceName(m, d.uid)));
    if (filters.device && !m.has(filters.device)) options.push(h('option', { value: filters.device }, filters.device));
    deviceSelect.append(...options);
    deviceSelect.value = filters.device;
    if (items.length) paint();
  });
  load().catch((err) => {
    if (left || err.status === 401) return;
    list.removeAttribute('aria-busy');
    showError(alert, err, {
      actions: [h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'messages-retry', onclick: () => load().catch((e) => showError(alert, e)) }, 'Try again')],
    });
  });
  return root;
}
