// ring.js — the ring screen: when a doorbell is pressed (a `ring` message on the events
// stream), a full-screen overlay says "Someone is at the door" over whatever page is open, with
// the doorbell's name and its picture of the moment when there is one. "Answer" opens the
// doorbell's live view with talk started (`#/devices/{uid}/live?talk=1`); "Dismiss" (or Escape)
// closes it; it closes by itself after 30 seconds. A chime plays where the browser allows
// sound (after the user has interacted with the page).

import { h } from './ui.js';
import { icon } from './icons.js';
import { navigate } from './router.js';
import { onStreamMessage } from './events-stream.js';
import { onMeChange } from './state.js';
import { eventThumb, deviceMap, deviceName } from './event-ui.js';

const AUTO_DISMISS_MS = 30_000;
const CHIME_EVERY_MS = 3000;

let current = null; // { uid, eventId, root, close, setEvent }

/** A two-tone door chime through Web Audio; silently nothing where sound is not allowed. */
function chime() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return () => {};
  let ctx;
  try {
    ctx = new Ctx();
  } catch {
    return () => {};
  }
  const ding = () => {
    if (ctx.state !== 'running') return; // autoplay policy: no sound before a user gesture
    const t = ctx.currentTime;
    for (const [freq, at] of [[659.25, 0], [523.25, 0.45]]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t + at);
      gain.gain.exponentialRampToValueAtTime(0.3, t + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + at + 0.8);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t + at);
      osc.stop(t + at + 0.85);
    }
  };
  ctx.resume().then(ding, () => {});
  const timer = setInterval(ding, CHIME_EVERY_MS);
  return () => {
    clearInterval(timer);
    ctx.close().catch(() => {});
  };
}

function show({ device: uid, event }) {
  if (current && current.uid === uid) {
    current.setEvent(event);
    return;
  }
  if (current) current.close();

  const name = h('p', { class: 'ring-name', testid: 'ring-device' }, uid);
  const picture = h('div', { class: 'ring-picture' });
  const answer = h('a', { class: 'btn ring-answer', href: `#/devices/${encodeURIComponent(uid)}/live?talk=1`, testid: 'ring-answer' }, icon('phone', 22), 'Answer');
  const dismiss = h('button', { type: 'button', class: 'btn ring-dismiss', testid: 'ring-dismiss' }, 'Dismiss');
  const root = h(
    'div',
    { class: 'ring', role: 'alertdialog', 'aria-modal': 'true', 'aria-labelledby': 'ring-title', 'aria-describedby': 'ring-desc', testid: 'ring', dataset: { device: uid } },
    h(
      'div',
      { class: 'ring-body' },
      h('span', { class: 'ring-icon', 'aria-hidden': 'true' }, icon('doorbell', 44)),
      h('h2', { class: 'ring-title', id: 'ring-title' }, 'Someone is at the door'),
      h('div', { id: 'ring-desc' }, name),
      picture,
      h('div', { class: 'ring-actions' }, dismiss, answer),
    ),
  );

  const stopChime = chime();
  const timer = setTimeout(() => close(), AUTO_DISMISS_MS);
  const previous = document.activeElement;
  const onKey = (e) => {
    if (e.key === 'Escape') close();
    // Keep the focus inside while it is shown.
    if (e.key === 'Tab') {
      const targets = [dismiss, answer];
      const i = targets.indexOf(document.activeElement);
      e.preventDefault();
      targets[(i + (e.shiftKey ? targets.length - 1 : 1)) % targets.length].focus();
    }
  };
  function close({ restoreFocus = true } = {}) {
    if (!current || current.root !== root) return;
    current = null;
    clearTimeout(timer);
    stopChime();
    document.removeEventListener('keydown', onKey, true);
    root.remove();
    document.body.classList.remove('ringing');
    if (restoreFocus && previous && previous.isConnected) previous.focus?.();
  }
  const setEvent = (ev) => {
    if (!ev) return;
    root.dataset.event = ev.id;
    picture.replaceChildren(ev.thumbnail ? eventThumb(ev, { testid: 'ring-thumb', large: true, alt: 'The doorbell camera when it was pressed' }) : '');
  };
  dismiss.addEventListener('click', () => close());
  answer.addEventListener('click', (e) => {
    e.preventDefault();
    close({ restoreFocus: false });
    navigate(answer.getAttribute('href'));
  });

  current = { uid, root, close, setEvent, eventId: event?.id };
  setEvent(event);
  document.addEventListener('keydown', onKey, true);
  document.body.append(root);
  document.body.classList.add('ringing');
  answer.focus();
  deviceMap().then((m) => {
    if (current && current.root === root) name.textContent = deviceName(m, uid);
  });
}

/** Shows the ring screen for every doorbell press while signed in (call once, at start-up). */
export function startRingScreen() {
  onStreamMessage('ring', (data) => data && data.device && show(data));
  // The press's thumbnail may arrive a moment later, as an update of its event.
  onStreamMessage('event', (ev) => {
    if (current && ev && ev.id === current.root.dataset.event) current.setEvent(ev);
  });
  onMeChange((me) => !me && dismissRing());
}

/** Closes the ring screen if it is shown (e.g. on sign-out). */
export function dismissRing() {
  if (current) current.close();
}
