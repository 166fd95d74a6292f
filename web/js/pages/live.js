// pages/live.js — "#/devices/{uid}/live": one camera live, a few seconds behind real time. The
// video comes over a WebSocket and plays muted (the cameras send no sound yet); a status line
// says whether it is connecting, live, ended or not streaming, and the page reconnects by
// itself. A link leads to the recordings.

import { devices } from '../api.js';
import { icon } from '../icons.js';
import { h, alertBox, showAlert } from '../ui.js';
import { deviceTitle } from '../device-ui.js';
import { MediaLink } from '../media.js';
import { LivePlayer } from '../live.js';

export const title = 'Live';

const STATES = {
  connecting: ['Connecting…', 'badge-muted'],
  live: ['Live', 'badge-danger'],
  ended: ['Stream ended · reconnecting…', 'badge-warn'],
  'not-live': ['Not streaming · retrying…', 'badge-warn'],
  'not-found': ['Device not found', 'badge-muted'],
  unsupported: ['Not supported', 'badge-muted'],
};

export function render(ctx) {
  const uid = ctx.params.uid;
  const back = `#/devices/${encodeURIComponent(uid)}`;
  const subtitle = h('p', { class: 'muted small page-sub', testid: 'live-device' }, uid);
  const head = h(
    'header',
    { class: 'page-head' },
    h('a', { class: 'icon-btn', href: back, 'aria-label': 'Back to the device', testid: 'live-back' }, icon('back')),
    h('div', { class: 'page-title-wrap' }, h('h1', { class: 'page-title' }, 'Live'), subtitle),
  );
  const alert = alertBox('live-alert');

  const video = h('video', {
    class: 'player', testid: 'live-video', muted: true, autoplay: true, playsinline: true, 'aria-label': 'Live video',
  });
  video.muted = true;
  const hint = h('p', { class: 'player-hint', testid: 'live-hint' }, 'Connecting to the camera…');
  const status = h('span', { class: 'badge badge-muted', testid: 'live-status', role: 'status', dataset: { state: 'connecting' } }, 'Connecting…');
  const playerCard = h(
    'div',
    { class: 'card player-card' },
    h('div', { class: 'player-frame' }, video, hint),
    h(
      'div',
      { class: 'player-bar' },
      status,
      h('span', { class: 'live-sound muted small', testid: 'live-sound' }, icon('speaker', 16), 'Sound off'),
    ),
  );
  const playback = h(
    'a',
    { class: 'btn btn-secondary btn-block', href: `${back}/playback`, testid: 'live-playback' },
    icon('play', 20),
    'Recordings',
  );
  const root = h('section', { class: 'page', testid: 'live-page', dataset: { uid } }, head, alert, playerCard, playback);

  const link = new MediaLink(uid);
  const player = new LivePlayer(video, link, {
    onState: (state) => {
      const [text, cls] = STATES[state] || STATES.connecting;
      status.textContent = text;
      status.className = `badge ${cls}`;
      status.dataset.state = state;
      if (state === 'live') hint.hidden = true;
      else if (state === 'not-live') {
        hint.hidden = false;
        hint.textContent = 'The camera is not streaming right now. It may be offline.';
      } else if (state === 'not-found') {
        hint.hidden = false;
        hint.textContent = 'This device is not in your account.';
      } else if (state === 'unsupported') {
        hint.hidden = false;
        hint.textContent = '';
        showAlert(alert, 'warn', "This browser can't play live video. You can still watch the recordings.");
      }
    },
  });
  player.start();

  devices
    .get(uid)
    .then((d) => {
      if (!ctx.isCurrent()) return;
      subtitle.textContent = deviceTitle(d);
      document.title = `${deviceTitle(d)} · Live · Kankan`;
    })
    .catch(() => {});

  ctx.onLeave(() => {
    player.stop();
    link.stop();
  });
  return root;
}
