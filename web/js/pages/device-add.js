// pages/device-add.js — "#/devices/add": adding a device. Step 1 asks for the UID on the label and
// the Wi-Fi network (and links to adding an RTSP camera instead); step 2 shows the pairing QR
// code (and plays it as sound), counts down to its expiry and waits until the device has claimed
// it, then opens the device's page. The first time an account adds a device, the operator's
// disclaimer (with the reminder not to record where others expect privacy) is shown above.

import { devices, privacy } from '../api.js';
import { markdown } from '../markdown.js';
import { icon } from '../icons.js';
import {
  h, field, passwordField, alertBox, showAlert, hideAlert, onSubmit, busy, toast, clockText, pageHeader,
} from '../ui.js';
import { poller } from '../device-ui.js';

export const title = 'Add device';

const WAIT_POLL_MS = 2000;

/** "kk 1a2b-3c4d" -> "KK1A2B3C4D": the label may be read with spaces or dashes. */
export function normalizeUid(value) {
  return String(value || '').toUpperCase().replace(/[\s-]+/g, '');
}

function base64Blob(b64, type) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type });
}

/** What to tell the user when pairing cannot start. */
async function pairingProblem(err, uid) {
  switch (err.code) {
    case 'device-not-found': {
      // An unknown UID and a device bound to an account answer alike (nobody learns which
      // UIDs exist); the user's own devices are in their list.
      const mine = await devices.list().then((all) => all.some((d) => d.uid === uid), () => false);
      return mine
        ? { message: 'This device is already in your account.', link: { href: `#/devices/${encodeURIComponent(uid)}`, text: 'Open it' } }
        : { message: 'No device with this UID — check the label.', focus: 'uid' };
    }
    default:
      return { message: err.message };
  }
}

/** The way to the other kind of camera: an ordinary IP camera added by its RTSP address. */
function rtspLink() {
  return h(
    'div',
    { class: 'card list-card' },
    h(
      'a',
      { class: 'list-row', href: '#/devices/add-rtsp', testid: 'add-rtsp-link' },
      h('span', { class: 'list-icon' }, icon('camera')),
      h(
        'span',
        { class: 'list-text' },
        h('span', { class: 'list-title' }, 'Add an RTSP camera'),
        h('span', { class: 'list-sub' }, 'Any IP camera that streams H.264 over RTSP, by its address and login'),
      ),
      icon('chevron', 20),
    ),
  );
}

/**
 * The operator's disclaimer, once per account: shown on the first visit of this page, and
 * recorded as shown (the account's consents keep it) so it does not come back.
 */
function disclaimerOnce() {
  const slot = h('div');
  privacy
    .consents()
    .then(async (c) => {
      if (c.disclaimer_acknowledged) return;
      const about = await privacy.about();
      const ok = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'add-disclaimer-ok' }, 'I understand');
      const card = h(
        'div',
        { class: 'card notice-card', role: 'note', testid: 'add-disclaimer' },
        h('h2', { class: 'card-title' }, 'Before you install a camera'),
        markdown(about.disclaimer),
        ok,
      );
      ok.addEventListener('click', () => card.remove());
      slot.replaceChildren(card);
      await privacy.acknowledgeDisclaimer();
    })
    .catch((err) => console.warn('disclaimer:', err));
  return slot;
}

export function render(ctx) {
  const root = h('section', { class: 'page', testid: 'page-device-add' });
  const disclaimer = disclaimerOnce();
  const header = pageHeader('Add device', { back: { href: '#/devices', label: 'Back to devices', testid: 'add-back' } });
  // Whatever step 2 started (polling, countdown, audio) is stopped when leaving it.
  let cleanup = () => {};
  ctx.onLeave(() => cleanup());
  const entered = { uid: '', ssid: '', password: '' };

  const showStep1 = () => {
    cleanup();
    cleanup = () => {};
    root.replaceChildren(header, disclaimer, step1(), rtspLink());
  };

  const step1 = () => {
    const alert = alertBox('add-alert');
    const uid = field({
      label: 'Device UID',
      hint: 'On the label on the back or bottom of the device. It starts with KK.',
      testid: 'add-uid',
      name: 'uid',
      type: 'text',
      autocomplete: 'off',
      autocapitalize: 'characters',
      spellcheck: 'false',
      placeholder: 'KK…',
      maxlength: 40,
      required: true,
    });
    const ssid = field({
      label: 'Wi-Fi name',
      hint: 'The network the device should join.',
      testid: 'add-ssid',
      name: 'ssid',
      type: 'text',
      autocomplete: 'off',
      autocapitalize: 'none',
      spellcheck: 'false',
      maxlength: 32,
      required: true,
    });
    const password = passwordField({
      label: 'Wi-Fi password',
      hint: 'Sealed for this one device: it is encrypted with a key only that device holds, so nobody who sees the QR code or hears the sound can read it. Leave empty for an open network.',
      testid: 'add-password',
      name: 'wifi-password',
      autocomplete: 'off',
      maxlength: 63,
    });
    uid.input.value = entered.uid;
    ssid.input.value = entered.ssid;
    password.input.value = entered.password;

    const form = h(
      'form',
      { class: 'form', novalidate: true, testid: 'add-form' },
      alert,
      uid.wrap,
      ssid.wrap,
      password.wrap,
      h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'add-submit' }, icon('qr', 20), 'Show pairing code'),
    );
    onSubmit(form, alert, async () => {
      entered.uid = normalizeUid(uid.input.value);
      entered.ssid = ssid.input.value;
      entered.password = password.input.value;
      uid.input.value = entered.uid;
      if (!entered.uid) {
        showAlert(alert, 'error', 'Enter the UID from the device label.');
        uid.input.focus();
        return;
      }
      if (!entered.ssid.trim()) {
        showAlert(alert, 'error', 'Enter the name of your Wi-Fi network.');
        ssid.input.focus();
        return;
      }
      let pairing;
      try {
        pairing = await devices.startPairing(entered.uid, entered.ssid, entered.password);
      } catch (err) {
        if (err.status === 401) return;
        const problem = await pairingProblem(err, entered.uid);
        const actions = problem.link ? [h('a', { class: 'btn btn-secondary btn-small', href: problem.link.href, testid: 'add-alert-open' }, problem.link.text)] : [];
        showAlert(alert, 'error', problem.message, { actions });
        if (problem.focus === 'uid') uid.input.focus();
        return;
      }
      if (!ctx.isCurrent()) return;
      showStep2(pairing);
    });

    return h(
      'div',
      { class: 'card' },
      h('p', { class: 'step-label' }, 'Step 1 of 2'),
      h('h2', { class: 'card-title' }, 'Which device, which network?'),
      h('p', { class: 'muted small card-lead' }, 'Plug in the device and wait until its light blinks: it is ready to pair.'),
      form,
    );
  };

  const showStep2 = (pairing) => {
    cleanup();
    const stops = [];
    cleanup = () => stops.splice(0).forEach((fn) => fn());

    // The sound signal: a Blob URL played by an <audio> element (CSP: media-src blob:).
    const soundUrl = URL.createObjectURL(base64Blob(pairing.sound_wav_base64, 'audio/wav'));
    const audio = new Audio(soundUrl);
    stops.push(() => {
      audio.pause();
      URL.revokeObjectURL(soundUrl);
    });
    const play = h('button', { type: 'button', class: 'btn btn-secondary', testid: 'add-play-sound' });
    const paintPlay = () => {
      const playing = !audio.paused && !audio.ended;
      play.replaceChildren(icon(playing ? 'stop' : 'speaker', 20), playing ? 'Stop sound' : 'Play sound');
      play.setAttribute('aria-pressed', String(playing));
    };
    for (const ev of ['play', 'pause', 'ended']) audio.addEventListener(ev, paintPlay);
    paintPlay();
    play.addEventListener('click', () => {
      if (!audio.paused && !audio.ended) {
        audio.pause();
        audio.currentTime = 0;
        return;
      }
      audio.currentTime = 0;
      audio.play().catch((err) => toast(`Could not play the sound: ${err.message}`, 'error'));
    });

    const countdown = h('span', { class: 'countdown', testid: 'add-countdown' });
    const waiting = h(
      'p',
      { class: 'waiting', testid: 'add-waiting', role: 'status' },
      h('span', { class: 'spinner', 'aria-hidden': 'true' }),
      'Waiting for the device…',
    );
    const expired = alertBox('add-expired');
    const renew = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'add-renew' }, 'Get a new code');
    renew.addEventListener('click', () =>
      busy(renew, async () => {
        try {
          const next = await devices.startPairing(entered.uid, entered.ssid, entered.password);
          if (ctx.isCurrent()) showStep2(next);
        } catch (err) {
          showAlert(expired, 'error', (await pairingProblem(err, entered.uid)).message, { actions: [renew] });
        }
      }),
    );

    const expiresAt = Date.parse(pairing.expires_at);
    let ticker = null;
    const tick = () => {
      const left = (expiresAt - Date.now()) / 1000;
      if (left > 0) {
        countdown.textContent = `Code valid for ${clockText(left)}`;
        return;
      }
      clearInterval(ticker);
      countdown.textContent = 'Code expired';
      waiting.hidden = true;
      showAlert(expired, 'warn', 'This code has expired. Get a new one and show it to the device again.', { actions: [renew] });
      poll.stop();
    };

    // The device has claimed the code once it is in the account's list.
    const poll = poller(async () => {
      const all = await devices.list();
      if (!ctx.isCurrent() || !all.some((d) => d.uid === pairing.uid)) return;
      cleanup();
      toast('Device added', 'success');
      ctx.navigate(`#/devices/${encodeURIComponent(pairing.uid)}`, { replace: true });
    }, WAIT_POLL_MS);
    ticker = setInterval(tick, 1000);
    stops.push(() => clearInterval(ticker), poll.stop);
    tick();

    const heading = h('h2', { class: 'card-title', tabindex: -1 }, 'Show this code to the device');
    const again = h('button', { type: 'button', class: 'btn btn-ghost', testid: 'add-start-over' }, 'Change UID or Wi-Fi');
    again.addEventListener('click', showStep1);

    root.replaceChildren(
      header,
      h(
        'div',
        { class: 'card pair-card', testid: 'add-step-2' },
        h('p', { class: 'step-label' }, 'Step 2 of 2'),
        heading,
        h(
          'ol',
          { class: 'steps muted small' },
          h('li', null, 'Hold your screen 15–30 cm (6–12 in) in front of the lens until the device beeps.'),
          h('li', null, 'No luck? Turn up the volume and play the sound close to the device.'),
          h('li', null, 'Keep this page open: it moves on by itself once the device is connected.'),
        ),
        h(
          'div',
          { class: 'qr-frame' },
          h('img', { class: 'qr', src: `data:image/png;base64,${pairing.qr_png_base64}`, alt: `Pairing QR code for ${pairing.uid}`, width: 240, height: 240, testid: 'add-qr' }),
        ),
        h('p', { class: 'pair-uid' }, 'Device ', h('strong', { testid: 'add-target-uid' }, pairing.uid), ' · ', countdown),
        h('div', { class: 'btn-row pair-actions' }, play),
        waiting,
        expired,
        h('p', { class: 'fine-print' }, 'The code works once, for this device only.'),
        again,
      ),
    );
    hideAlert(expired);
    heading.focus({ preventScroll: true });
  };

  showStep1();
  return root;
}
