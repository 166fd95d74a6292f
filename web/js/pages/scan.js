// pages/scan.js — "#/scan": opens an invitation someone shared. Where the browser can read QR
// codes (BarcodeDetector), "Use the camera" points the device's camera at the code, and a
// photo of it can be opened; everywhere, the link can be pasted. Only the invitation's token
// is taken from what is read: the app opens its own invitation page, never another address.

import { icon } from '../icons.js';
import { h, field, alertBox, showError, hideAlert } from '../ui.js';

export const title = 'Scan a QR code';

const SCAN_EVERY_MS = 300;

/** The invitation token in a link ("…/#/invite/<token>") or the bare token; else null. */
export function inviteToken(text) {
  const t = String(text || '').trim();
  const m = /#\/invite\/([A-Za-z0-9_-]{16,})/.exec(t) || /^([A-Za-z0-9_-]{32,})$/.exec(t);
  return m ? m[1] : null;
}

function detector() {
  try {
    return 'BarcodeDetector' in window ? new window.BarcodeDetector({ formats: ['qr_code'] }) : null;
  } catch {
    return null;
  }
}

export function render(ctx) {
  const alert = alertBox('scan-alert');
  const open = (token) => ctx.navigate(`#/invite/${encodeURIComponent(token)}`);
  const reader = detector();

  // Paste the link (works everywhere).
  const link = field({ label: 'Invitation link', testid: 'scan-link', type: 'text', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', placeholder: 'https://…/#/invite/…' });
  const form = h('form', { class: 'share-stack', novalidate: true, testid: 'scan-form' }, link.wrap, h('button', { type: 'submit', class: 'btn btn-primary', testid: 'scan-open' }, 'Open invitation'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    hideAlert(alert);
    const token = inviteToken(link.input.value);
    if (token) open(token);
    else showError(alert, new Error('That is not a Kankan invitation link.'));
  });

  const video = h('video', { class: 'scan-video', muted: true, playsinline: true, autoplay: true, testid: 'scan-video', hidden: true, 'aria-label': 'Camera picture' });
  const start = h('button', { type: 'button', class: 'btn btn-secondary', testid: 'scan-start' }, icon('camera', 20), 'Use the camera');
  const photo = h('input', { type: 'file', accept: 'image/*', class: 'visually-hidden', id: 'scan-photo', testid: 'scan-photo' });
  let stream = null;
  let timer = null;
  const stop = () => {
    clearTimeout(timer);
    timer = null;
    if (stream) for (const t of stream.getTracks()) t.stop();
    stream = null;
    video.hidden = true;
  };
  ctx.onLeave(stop);

  const found = (codes) => {
    for (const c of codes || []) {
      const token = inviteToken(c.rawValue);
      if (token) {
        stop();
        open(token);
        return true;
      }
    }
    return false;
  };
  const tick = async () => {
    timer = null;
    if (!stream || !ctx.isCurrent()) return;
    try {
      if (video.readyState >= 2 && found(await reader.detect(video))) return;
    } catch (err) {
      console.warn('scan:', err);
    }
    if (stream) timer = setTimeout(tick, SCAN_EVERY_MS);
  };
  start.addEventListener('click', async () => {
    hideAlert(alert);
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
    } catch {
      showError(alert, new Error('The camera could not be opened. Allow it in the browser, or paste the link below.'));
      return;
    }
    if (!ctx.isCurrent()) return stop();
    video.srcObject = stream;
    video.hidden = false;
    video.play().catch(() => {});
    tick();
  });
  photo.addEventListener('change', async () => {
    hideAlert(alert);
    const file = photo.files && photo.files[0];
    if (!file) return;
    try {
      const bitmap = await createImageBitmap(file);
      if (!found(await reader.detect(bitmap))) showError(alert, new Error('No Kankan invitation was found in that picture.'));
    } catch {
      showError(alert, new Error('That picture could not be read.'));
    }
  });

  const camera = reader && navigator.mediaDevices
    ? h(
        'div',
        { class: 'card', testid: 'scan-camera' },
        h('h2', { class: 'card-title' }, 'Scan the code'),
        h('p', { class: 'muted small card-lead' }, 'Point the camera at the QR code the owner shows you.'),
        video,
        h('div', { class: 'btn-row' }, start, h('label', { class: 'btn btn-ghost', for: 'scan-photo', testid: 'scan-photo-open' }, icon('image', 20), 'Open a photo'), photo),
      )
    : h('p', { class: 'muted small', testid: 'scan-unsupported' }, 'This browser cannot read QR codes. Paste the link instead, or open it on this device.');

  return h(
    'section',
    { class: 'page', testid: 'page-scan' },
    h('header', { class: 'page-head' }, h('a', { class: 'icon-btn', href: '#/devices', 'aria-label': 'Back to devices', testid: 'scan-back' }, icon('back')), h('h1', { class: 'page-title' }, 'Scan a QR code')),
    alert,
    camera,
    h('div', { class: 'card' }, h('h2', { class: 'card-title' }, 'Or paste the link'), form),
  );
}
