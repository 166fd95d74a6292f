// pages/live.js — "#/devices/{uid}/live": one camera live, under a second behind real time over
// WebRTC (a few seconds over the WebSocket fallback). It plays muted until "Sound" is turned on;
// "Hold to talk" and "Full duplex" (talk.js) send the microphone to the camera; a status line
// says whether it is connecting, live, ended or not streaming, and the page reconnects by
// itself. A link leads to the recordings. Around the player (live-extras.js): Screenshot and
// Save clip into the Album, an overlay with battery, signal and the device's clock, and the
// pan/tilt pad with presets for cameras that have one; the device is re-read every few seconds.
// `?talk=1` (answering the doorbell from the ring screen) starts full duplex talk at once.
// On a camera shared with the account, what its member may not do (talk, pan and tilt, save
// to the Album, play back) is hidden; when the owner removes them the stream ends at once and
// the page says the camera is no longer theirs to watch.

import { devices } from '../api.js';
import { icon } from '../icons.js';
import { h, alertBox, showAlert } from '../ui.js';
import { deviceTitle, poller } from '../device-ui.js';
import { MediaLink } from '../media.js';
import { LivePlayer } from '../live.js';
import { talkControls } from '../talk.js';
import { captureActions, ptzCard, statusOverlay } from './live-extras.js';
import { can } from '../sharing-ui.js';

export const title = 'Live';

const REFRESH_MS = 10_000;

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
  const overlay = statusOverlay(ctx);
  const ptz = ptzCard(uid, ctx);
  // Sound and talk (talk.js): the sound switch sits in the player bar, the talk bar below.
  const talk = talkControls(video, (message) => showAlert(alert, 'warn', message));
  const playerCard = h(
    'div',
    { class: 'card player-card' },
    h('div', { class: 'player-frame' }, video, hint, overlay.node),
    h(
      'div',
      { class: 'player-bar' },
      status,
      talk.sound,
    ),
  );
  const playback = h(
    'a',
    { class: 'btn btn-secondary btn-block', href: `${back}/playback`, testid: 'live-playback' },
    icon('play', 20),
    'Recordings',
  );
  const capture = captureActions(uid);
  const root = h('section', { class: 'page', testid: 'live-page', dataset: { uid } }, head, alert, playerCard, talk.node, capture, ptz.node, playback);

  // `?talk=1` (the ring screen's "Answer"): talk starts, full duplex, once WebRTC plays.
  let answer = ctx.query.get('talk') === '1';
  // WebRTC with talk where the account may talk (else live view only); the WebSocket player,
  // which has no talk, gets a live link of its own.
  const link = new MediaLink(uid, { purpose: 'talk', fallback: 'live' });
  const wsLink = new MediaLink(uid, { purpose: 'live' });
  const player = new LivePlayer(video, link, {
    wsLink,
    onTransport: (transport) => {
      talk.setTransport(transport);
      if (answer && transport === 'webrtc') answer = !talk.startDuplex();
      else if (answer) showAlert(alert, 'warn', 'Talk needs WebRTC, which this connection does not allow.');
    },
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
        hint.textContent = 'This device is not in your account, or no longer shared with you.';
      } else if (state === 'unsupported') {
        hint.hidden = false;
        hint.textContent = '';
        showAlert(alert, 'warn', "This browser can't play live video. You can still watch the recordings.");
      }
    },
  });
  talk.bind(player);
  player.start();

  const poll = poller(async () => {
    let d;
    try {
      d = await devices.get(uid);
    } catch (err) {
      if (err.status === 404) poll.stop();
      return;
    }
    if (!ctx.isCurrent()) return;
    subtitle.textContent = deviceTitle(d);
    document.title = `${deviceTitle(d)} · Live · Kankan`;
    overlay.update(d);
    ptz.update(d);
    // A member sees only what they may do.
    if (!can(d, 'move-ptz')) ptz.node.hidden = true;
    talk.node.hidden = !can(d, 'talk');
    capture.hidden = !can(d, 'download');
    playback.hidden = !can(d, 'play-back');
  }, REFRESH_MS);

  ctx.onLeave(() => {
    poll.stop();
    player.stop();
    link.stop();
    wsLink.stop();
  });
  return root;
}
