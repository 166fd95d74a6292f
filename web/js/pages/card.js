// pages/card.js — "#/devices/{uid}/card": the camera's SD card seen from afar. Its state
// (status, used and total size), the days it holds footage of, the spans of the chosen day,
// and a player: a span's footage is relayed by the server from the camera (fMP4 for Media
// Source Extensions) and stored nowhere. Needs the camera online.

import { devices, recordings } from '../api.js';
import { icon } from '../icons.js';
import { h, alertBox, showError, hideAlert, showAlert } from '../ui.js';
import { SD_LABELS, sizeText } from '../device-ui.js';
import { attachMediaSource, mediaCodecs, mediaSourceClass } from '../media.js';

export const title = 'SD card';

const DEFAULT_CODEC = 'avc1.42c01e';
/** How much of a span one play fetches. */
const PLAY_MS = 5 * 60_000;

function clock(ms, timeZone) {
  try {
    return new Date(ms).toLocaleTimeString([], { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit' });
  } catch {
    return new Date(ms).toLocaleTimeString();
  }
}

/** Plays `bytes` (an init segment and its fragments) in `video`. */
function playBytes(video, bytes, alert) {
  const MS = mediaSourceClass();
  if (!MS) {
    showAlert(alert, 'error', 'This browser cannot play this video.');
    return;
  }
  const { ms } = attachMediaSource(video);
  ms.addEventListener('sourceopen', () => {
    const type = `video/mp4; codecs="${mediaCodecs(bytes.subarray(0, 65536), DEFAULT_CODEC)}"`;
    if (!MS.isTypeSupported(type)) {
      showAlert(alert, 'error', 'This browser cannot play this video.');
      return;
    }
    const sb = ms.addSourceBuffer(type);
    sb.mode = 'sequence';
    sb.addEventListener('updateend', () => {
      if (ms.readyState === 'open') ms.endOfStream();
      video.dataset.state = 'playing';
      video.play().catch(() => {});
    }, { once: true });
    sb.appendBuffer(bytes);
  }, { once: true });
}

export function render(ctx) {
  const uid = ctx.params.uid;
  const alert = alertBox('card-alert');
  const state = h('div', { class: 'card', testid: 'card-state' });
  const days = h('div', { class: 'chips', testid: 'card-days' });
  const spans = h('ul', { class: 'list', testid: 'card-spans' });
  const video = h('video', { class: 'player', controls: true, muted: true, playsinline: true, testid: 'card-video' });
  const root = h(
    'section',
    { class: 'page', testid: 'page-card', dataset: { uid } },
    h('header', { class: 'page-head' },
      h('a', { class: 'icon-btn', href: `#/devices/${encodeURIComponent(uid)}`, 'aria-label': 'Back to the device', testid: 'card-back' }, icon('back')),
      h('h1', { class: 'page-title' }, 'SD card')),
    alert,
    state,
    h('div', { class: 'card' }, h('h2', { class: 'card-title' }, 'Footage on the card'),
      h('p', { class: 'muted small card-lead' }, 'Played from the camera through the server; nothing is uploaded or kept.'),
      days, spans, video),
  );

  const play = async (span, tz) => {
    hideAlert(alert);
    video.dataset.state = 'loading';
    try {
      const link = await recordings.link(uid, 'playback');
      const from = span.start_ms;
      const to = Math.min(span.end_ms, from + PLAY_MS);
      const res = await fetch(`${link.media_base}/card.mp4?t=${encodeURIComponent(link.token)}&from=${from}&to=${to}`);
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        throw Object.assign(new Error(body.message || `HTTP ${res.status}`), { code: body.code, status: res.status });
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      video.dataset.bytes = String(bytes.length);
      video.dataset.from = String(from);
      playBytes(video, bytes, alert);
      ctx.isCurrent() && (video.title = `${clock(from, tz)} – ${clock(to, tz)}`);
    } catch (err) {
      video.dataset.state = 'error';
      showError(alert, err);
    }
  };

  const load = async (day) => {
    hideAlert(alert);
    try {
      const c = await devices.card(uid, day);
      if (!ctx.isCurrent()) return;
      const sd = c.card;
      state.replaceChildren(
        h('h2', { class: 'card-title' }, 'Card'),
        h('p', { testid: 'card-status' }, sd ? `${SD_LABELS[sd.status] || sd.status} · ${sizeText(sd.used_mb)} of ${sizeText(sd.total_mb)} used` : 'Unknown'),
      );
      days.replaceChildren(...c.days.map((d) => {
        const b = h('button', { type: 'button', class: `chip${d === c.day ? ' chip-on' : ''}`, testid: 'card-day', 'aria-pressed': String(d === c.day) }, d);
        b.addEventListener('click', () => load(d));
        return b;
      }));
      spans.replaceChildren(...(c.spans.length ? c.spans.map((s) => {
        const b = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'card-span-play' }, icon('play', 18), 'Play');
        b.addEventListener('click', () => play(s, c.time_zone));
        return h('li', { class: 'list-row', testid: 'card-span' },
          h('span', {}, `${clock(s.start_ms, c.time_zone)} – ${clock(s.end_ms, c.time_zone)}`), b);
      }) : [h('li', { class: 'muted', testid: 'card-empty' }, 'No footage on the card for this day.')]));
    } catch (err) {
      if (!ctx.isCurrent()) return;
      showError(alert, err);
    }
  };
  load(null);
  return root;
}
