// pages/live-grid.js — "#/live": every camera of the account live at once, one tile each, for a
// glance at the whole home. Tiles play the sub-stream (stream 1, smaller) where the camera has
// one and fall back to the main stream where it does not; each leads to that camera's Live page.
// Players are the Live page's own (live.js), stopped when the page is left.

import { devices } from '../api.js';
import { icon } from '../icons.js';
import { h, pageHeader, emptyState, alertBox, showError } from '../ui.js';
import { deviceTitle } from '../device-ui.js';
import { MediaLink } from '../media.js';
import { LivePlayer } from '../live.js';

export const title = 'Live';

const STATES = {
  connecting: ['Connecting…', 'badge-muted'],
  live: ['Live', 'badge-danger'],
  ended: ['Reconnecting…', 'badge-warn'],
  'not-live': ['Not streaming', 'badge-warn'],
  'not-found': ['Removed', 'badge-muted'],
  unsupported: ['Not supported', 'badge-muted'],
};

/** One camera's tile: its live picture (sub-stream first), name and state. */
function tile(d, ctx) {
  const uid = d.uid;
  const video = h('video', { class: 'grid-video', testid: 'grid-video', muted: true, autoplay: true, playsinline: true, 'aria-hidden': 'true' });
  video.muted = true;
  const badge = h('span', { class: 'badge badge-muted grid-status', testid: 'grid-status', dataset: { state: 'connecting' } }, 'Connecting…');
  const node = h(
    'a',
    { class: 'card grid-tile', href: `#/devices/${encodeURIComponent(uid)}/live`, testid: 'grid-tile', dataset: { uid }, 'aria-label': `${deviceTitle(d)}: open Live` },
    h('div', { class: 'grid-frame' }, video, badge),
    h('span', { class: 'grid-name' }, icon(d.kind === 'doorbell' ? 'doorbell' : 'camera', 18), h('span', { class: 'grid-name-text' }, deviceTitle(d))),
  );

  const link = new MediaLink(uid, { purpose: 'live' });
  let player = null;
  let played = false;
  const paint = (state) => {
    const [text, cls] = STATES[state] || STATES.connecting;
    badge.textContent = text;
    badge.className = `badge ${cls} grid-status`;
    badge.dataset.state = state;
  };
  const start = (stream) => {
    if (player) player.stop();
    node.dataset.stream = String(stream);
    player = new LivePlayer(video, link, {
      stream,
      onState: (state) => {
        if (state === 'live') played = true;
        // No sub-stream (it was never live): watch the main stream instead.
        if (state === 'not-live' && stream === 1 && !played) {
          setTimeout(() => ctx.isCurrent() && start(0), 0);
          return;
        }
        paint(state);
      },
    });
    player.start();
  };
  start(1);
  ctx.onLeave(() => {
    if (player) player.stop();
    link.stop();
  });
  return node;
}

export function render(ctx) {
  const alert = alertBox('grid-alert');
  const grid = h('div', { class: 'live-grid', testid: 'live-grid', 'aria-busy': 'true' });
  const empty = emptyState({
    iconName: 'camera',
    title: 'No cameras yet',
    text: 'Add a camera, and every one you have shows here live, side by side.',
    testid: 'grid-empty',
    action: h('a', { class: 'btn btn-primary', href: '#/devices/add', testid: 'grid-empty-add' }, icon('plus', 20), 'Add device'),
  });
  empty.hidden = true;

  devices
    .list()
    .then((all) => {
      if (!ctx.isCurrent()) return;
      all.sort((a, b) => String(a.bound_at).localeCompare(String(b.bound_at)) || a.uid.localeCompare(b.uid));
      grid.replaceChildren(...all.map((d) => tile(d, ctx)));
      grid.removeAttribute('aria-busy');
      grid.hidden = !all.length;
      empty.hidden = all.length > 0;
    })
    .catch((err) => {
      if (!ctx.isCurrent() || err.status === 401) return;
      grid.removeAttribute('aria-busy');
      showError(alert, err);
    });

  return h(
    'section',
    { class: 'page page-wide', testid: 'page-live-grid' },
    pageHeader('Live', { back: { href: '#/devices', label: 'Back to devices', testid: 'grid-back' } }),
    alert,
    grid,
    empty,
  );
}
