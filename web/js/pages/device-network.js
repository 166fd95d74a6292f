// pages/device-network.js — the device page's "Network settings" card. For a camera that is
// online: a form that sends it another Wi-Fi network (sealed for that device on the server;
// the camera reconnects on it and keeps its owner, settings and recordings). For the owner's
// camera that lost its network: the same form makes a rejoin QR code and sound (shown here,
// like pairing) that the camera claims while bound, keeping everything.

import { devices } from '../api.js';
import { h, field, passwordField, alertBox, onSubmit, toast, showAlert } from '../ui.js';
import { isMember } from '../sharing-ui.js';

function base64Blob(b64, type) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type });
}

/** The card; `update(d)` follows the device's presence. */
export function networkCard(d) {
  const alert = alertBox('network-alert');
  const ssid = field({ label: 'Wi-Fi name (SSID)', maxlength: 32, autocomplete: 'off', testid: 'network-ssid', required: true });
  const pw = passwordField({ label: 'Wi-Fi password', autocomplete: 'new-password', testid: 'network-password', hint: 'Sealed for this camera: Kankan never stores it.' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'network-submit' }, 'Send to camera');
  const lead = h('p', { class: 'muted small card-lead', testid: 'network-lead' });
  const code = h('div', { class: 'network-code', testid: 'network-code' });
  const form = h('form', { novalidate: true, testid: 'network-form' }, ssid.wrap, pw.wrap, submit);
  let current = d;
  const urls = [];

  const paint = () => {
    const online = !!current.online;
    const owner = !isMember(current);
    form.hidden = !online && !owner;
    submit.textContent = online ? 'Send to camera' : 'Show code for the camera';
    lead.textContent = online
      ? `The camera is on "${(current.reported && current.reported.ssid) || '—'}". It joins the new network and keeps its recordings and settings.`
      : owner
        ? 'The camera is offline. Enter its new network and show it the code (or play the sound) to bring it back.'
        : 'The camera is offline; its owner can bring it back on a new network.';
  };

  onSubmit(form, alert, async () => {
    const name = ssid.input.value.trim();
    const password = pw.input.value;
    if (current.online) {
      const r = await devices.setWifi(current.uid, name, password);
      if (r.status === 'failed') {
        showAlert(alert, 'error', r.error || 'The camera refused the network.');
        return;
      }
      pw.input.value = '';
      toast(r.status === 'succeeded' ? `Camera joining "${name}"` : 'Sent; the camera will join shortly', 'success');
      return;
    }
    const c = await devices.wifiCode(current.uid, name, password);
    pw.input.value = '';
    urls.splice(0).forEach((u) => URL.revokeObjectURL(u));
    const img = URL.createObjectURL(base64Blob(c.qr_png_base64, 'image/png'));
    const wav = URL.createObjectURL(base64Blob(c.sound_wav_base64, 'audio/wav'));
    urls.push(img, wav);
    const audio = new Audio(wav);
    const play = h('button', { type: 'button', class: 'btn btn-secondary', testid: 'network-code-play' }, 'Play sound');
    play.addEventListener('click', () => audio.play());
    code.replaceChildren(
      h('p', { class: 'small' }, 'Hold this code in front of the camera, or play the sound near it. It works once, for 10 minutes.'),
      h('img', { src: img, alt: 'Rejoin QR code', class: 'pair-qr', testid: 'network-code-qr' }),
      play,
    );
  });

  const node = h(
    'div',
    { class: 'card', testid: 'device-network' },
    h('h2', { class: 'card-title' }, 'Network settings'),
    lead,
    alert,
    form,
    code,
  );
  paint();
  return {
    node,
    update(next) {
      current = next;
      paint();
    },
  };
}
