// talk.js — the Live page's sound and talk controls. "Sound" plays the camera's microphone
// (the <video> starts muted, as browsers require for autoplay). "Hold to talk" sends the
// user's microphone while the button is held (pointer or Space/Enter), walkie-talkie style:
// the camera's sound is muted meanwhile so it does not echo back. "Full duplex" keeps the
// microphone on and the sound playing, both ways at once, until switched off. Talk needs the
// WebRTC player (the WebSocket player carries no sound); the browser asks for the microphone
// the first time.

import { h } from './ui.js';
import { icon } from './icons.js';

/**
 * The controls for `video`. `onError(message)` hears why talk failed. Returns `{ sound, node,
 * bind(player), setTransport(t) }`: `sound` goes in the player bar, `node` under the player.
 */
export function talkControls(video, onError = () => {}) {
  let player = null;
  let holding = false;
  let duplex = false;
  let mutedBefore = true;

  const soundLabel = h('span', {}, 'Sound off');
  const sound = h(
    'button',
    { type: 'button', class: 'chip live-sound', testid: 'live-sound', 'aria-pressed': 'false' },
    icon('speaker', 16),
    soundLabel,
  );
  const showSound = () => {
    sound.setAttribute('aria-pressed', String(!video.muted));
    soundLabel.textContent = video.muted ? 'Sound off' : 'Sound on';
  };
  sound.addEventListener('click', () => {
    video.muted = !video.muted;
    if (!video.muted) video.play().catch(() => {});
    showSound();
  });

  const talkLabel = h('span', {}, 'Hold to talk');
  const talk = h(
    'button',
    { type: 'button', class: 'btn btn-secondary talk-btn', testid: 'live-talk', disabled: true, dataset: { state: 'idle' } },
    icon('phone', 20),
    talkLabel,
  );
  const duplexBtn = h(
    'button',
    { type: 'button', class: 'chip talk-duplex', testid: 'live-duplex', 'aria-pressed': 'false', disabled: true },
    'Full duplex',
  );

  const setTalking = async (on) => {
    talk.dataset.state = on ? 'talking' : 'idle';
    talkLabel.textContent = on ? (duplex ? 'Talking · full duplex' : 'Talking…') : 'Hold to talk';
    if (!player) return;
    try {
      const ok = await player.setTalking(on);
      if (!ok && on) onError('Talk works once the live video plays over WebRTC.');
    } catch (err) {
      talk.dataset.state = 'idle';
      talkLabel.textContent = 'Hold to talk';
      onError(`The microphone is not available: ${err && err.message ? err.message : err}`);
    }
  };

  const press = (event) => {
    if (duplex || holding || talk.disabled) return;
    if (event) event.preventDefault();
    holding = true;
    mutedBefore = video.muted;
    video.muted = true;
    showSound();
    setTalking(true);
  };
  const release = () => {
    if (!holding) return;
    holding = false;
    video.muted = mutedBefore;
    showSound();
    setTalking(false);
  };
  talk.addEventListener('pointerdown', (e) => {
    if (talk.setPointerCapture) talk.setPointerCapture(e.pointerId);
    press(e);
  });
  talk.addEventListener('pointerup', release);
  talk.addEventListener('pointercancel', release);
  talk.addEventListener('lostpointercapture', release);
  talk.addEventListener('keydown', (e) => {
    if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) press(e);
  });
  talk.addEventListener('keyup', (e) => {
    if (e.key === ' ' || e.key === 'Enter') release();
  });
  talk.addEventListener('contextmenu', (e) => e.preventDefault());

  duplexBtn.addEventListener('click', () => {
    release();
    duplex = !duplex;
    duplexBtn.setAttribute('aria-pressed', String(duplex));
    if (duplex) {
      video.muted = false;
      video.play().catch(() => {});
      showSound();
    }
    setTalking(duplex);
  });

  const node = h('div', { class: 'talk-bar', testid: 'live-talk-bar' }, talk, duplexBtn);
  return {
    sound,
    node,
    bind(p) {
      player = p;
    },
    /** Switches full duplex talk on (the ring screen's "Answer"); false when not possible yet. */
    startDuplex() {
      if (duplex || duplexBtn.disabled) return false;
      duplexBtn.click();
      return true;
    },
    /** Talk is offered only over WebRTC. */
    setTransport(transport) {
      const ok = transport === 'webrtc';
      talk.disabled = !ok;
      duplexBtn.disabled = !ok;
      talk.title = ok ? '' : 'Talk needs WebRTC, which this connection does not allow';
      if (!ok) {
        release();
        if (duplex) duplexBtn.click();
      }
    },
  };
}
