// pages/exports.js — "#/me/exports": "Download my data". Choose the media to add to the
// account's data (Album, event clips), start an export, follow its progress (polled), download
// the ZIP when it is ready, see when it expires, delete it.

import { exportsApi } from '../api.js';
import { icon } from '../icons.js';
import { poller } from '../device-ui.js';
import { h, alertBox, showError, hideAlert, busy, toast, formatDateTime, pageHeader } from '../ui.js';

export const title = 'Download my data';

const POLL_MS = 2000;

const STATES = {
  queued: ['Waiting', 'badge-muted'],
  running: ['Preparing', 'badge-accent'],
  ready: ['Ready', 'badge-success'],
  failed: ['Failed', 'badge-danger'],
  expired: ['Expired', 'badge-muted'],
};

function bytesText(n) {
  const v = Number(n) || 0;
  if (v >= 1 << 30) return `${(v / (1 << 30)).toFixed(1)} GB`;
  if (v >= 1 << 20) return `${(v / (1 << 20)).toFixed(1)} MB`;
  if (v >= 1 << 10) return `${Math.ceil(v / (1 << 10))} KB`;
  return `${v} bytes`;
}

const iso = (ms) => new Date(ms).toISOString();

function mediaText(m) {
  const parts = [];
  if (m.album) parts.push('Album');
  if (m.event_clips) parts.push('event clips');
  if (m.recordings && m.recordings.length) parts.push(`${m.recordings.length} recording range(s)`);
  return parts.length ? `Your data with ${parts.join(', ')}` : 'Your data (no media)';
}

function exportItem(e, onDelete) {
  const [label, cls] = STATES[e.state] || [e.state, 'badge-muted'];
  const total = e.progress.total;
  const progress =
    e.state === 'running' || e.state === 'queued'
      ? h('progress', {
          class: 'export-progress',
          max: String(Math.max(total, 1)),
          value: String(e.progress.done),
          testid: 'export-progress',
          'aria-label': 'Export progress',
        })
      : null;
  const progressText =
    e.state === 'running' && total
      ? h('p', { class: 'row-sub', testid: 'export-progress-text' }, `${e.progress.done} of ${total} files`)
      : null;
  const download =
    e.state === 'ready'
      ? h(
          'a',
          {
            class: 'btn btn-primary btn-small',
            href: `/api/v1/me/exports/${encodeURIComponent(e.id)}/download`,
            download: '',
            testid: 'export-download',
          },
          icon('download', 18),
          ' Download',
        )
      : null;
  const remove = h('button', { type: 'button', class: 'btn btn-danger-outline btn-small', testid: 'export-delete' }, 'Delete');
  remove.addEventListener('click', () => onDelete(e, remove));
  const expiry =
    e.state === 'ready'
      ? h('p', { class: 'row-sub', testid: 'export-expiry' }, `${bytesText(e.size_bytes)} · available until ${formatDateTime(iso(e.expires_at_ms))}`)
      : e.state === 'failed'
        ? h('p', { class: 'row-sub' }, `Something went wrong (${e.error || 'unknown'}). Delete it and try again.`)
        : null;
  return h(
    'li',
    { class: 'row', testid: 'export-item', dataset: { exportId: e.id, state: e.state } },
    h('span', { class: 'list-icon' }, icon('download')),
    h(
      'div',
      { class: 'row-main' },
      h('p', { class: 'row-title' }, mediaText(e.media)),
      h('p', { class: 'row-sub' }, 'Asked for ', formatDateTime(iso(e.created_at_ms))),
      h('div', { class: 'row-badges' }, h('span', { class: `badge ${cls}`, testid: 'export-state' }, label)),
      progress,
      progressText,
      expiry,
      h('div', { class: 'export-actions' }, download, remove),
    ),
  );
}

export function render(ctx) {
  const alert = alertBox('exports-alert');
  const list = h('ul', { class: 'rows', testid: 'exports-list', 'aria-busy': 'true' });
  const album = h('input', { type: 'checkbox', class: 'switch-input', id: 'export-album', role: 'switch', testid: 'export-album' });
  const clips = h('input', { type: 'checkbox', class: 'switch-input', id: 'export-event-clips', role: 'switch', testid: 'export-event-clips' });
  const choice = (input, label, hint) =>
    h(
      'div',
      { class: 'set-row' },
      h('label', { class: 'set-text', for: input.id }, h('span', { class: 'set-label' }, label), h('span', { class: 'set-hint' }, hint)),
      h('span', { class: 'switch' }, input, h('span', { class: 'switch-track', 'aria-hidden': 'true' })),
    );
  const start = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'export-start' }, 'Start export');

  const paint = (items) => {
    list.removeAttribute('aria-busy');
    list.replaceChildren(...items.map((e) => exportItem(e, onDelete)));
    if (!items.length) list.append(h('li', { class: 'row-empty' }, 'No exports yet.'));
    start.disabled = items.some((e) => e.state === 'queued' || e.state === 'running');
  };

  const load = async () => {
    try {
      const items = await exportsApi.list();
      if (!ctx.isCurrent()) return;
      hideAlert(alert);
      paint(items);
    } catch (err) {
      if (!ctx.isCurrent() || err.status === 401) return;
      showError(alert, err);
    }
  };

  const onDelete = (e, button) =>
    busy(button, async () => {
      try {
        await exportsApi.remove(e.id);
        toast('Export deleted', 'success');
        await load();
      } catch (err) {
        showError(alert, err);
      }
    });

  const form = h(
    'form',
    { class: 'form settings', novalidate: true, testid: 'export-form' },
    choice(album, 'Album', 'Your saved screenshots and clips'),
    choice(clips, 'Event clips', 'A video of each event, where its footage is still kept'),
    start,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(start, async () => {
      try {
        await exportsApi.start({ album: album.checked, event_clips: clips.checked, recordings: [] });
        toast('Export started', 'success');
        await load();
      } catch (err) {
        showError(alert, err);
      }
    });
  });

  const poll = poller(load, POLL_MS);
  ctx.onLeave(poll.stop);

  return h(
    'section',
    { class: 'page', testid: 'page-exports' },
    pageHeader('Download my data', { back: { href: '#/me', label: 'Back to Me', testid: 'exports-back' } }),
    alert,
    h(
      'div',
      { class: 'card' },
      h('h2', { class: 'card-title' }, 'New export'),
      h(
        'p',
        { class: 'muted small card-lead' },
        'A ZIP file with your profile, devices and their settings, sharing, events, notification settings, sessions and login history as JSON, and the media you choose. It is prepared in the background and kept encrypted until you download it.',
      ),
      form,
    ),
    h('div', { class: 'card' }, h('h2', { class: 'card-title' }, 'Your exports'), list),
  );
}
