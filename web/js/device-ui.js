// device-ui.js — small pieces shared by the device pages: display name, kind icon, online dot
// with "last seen", Wi-Fi signal bars, battery, SD card usage and a polling helper.

import { h, formatRelative } from './ui.js';
import { icon } from './icons.js';

/** The owner's name for a device, else its model and the last 4 characters of its UID. */
export function deviceTitle(d) {
  return d.name || `${d.model} ${String(d.uid).slice(-4)}`;
}

export const KIND_LABELS = { camera: 'Camera', doorbell: 'Doorbell' };

/** The kind's icon in a tinted tile. */
export function kindTile(kind, { large = false } = {}) {
  return h(
    'span',
    { class: `kind-tile${large ? ' kind-tile-lg' : ''}`, title: KIND_LABELS[kind] || kind },
    icon(kind === 'doorbell' ? 'doorbell' : 'camera', large ? 30 : 24),
  );
}

/** "Online" or "Offline · last seen 5 minutes ago". */
export function presenceText(d) {
  if (d.online) return 'Online';
  if (!d.last_seen) return 'Offline · not connected yet';
  return `Offline · last seen ${formatRelative(d.last_seen)}`;
}

/** A coloured dot and the presence text. */
export function presence(d, testid) {
  return h(
    'span',
    { class: `presence ${d.online ? 'is-online' : 'is-offline'}`, testid, dataset: { online: String(!!d.online) } },
    h('span', { class: 'dot', 'aria-hidden': 'true' }),
    presenceText(d),
  );
}

/** Signal quality 0-4 from dBm (typical Wi-Fi thresholds). */
export function signalLevel(dbm) {
  if (dbm == null) return 0;
  if (dbm >= -55) return 4;
  if (dbm >= -67) return 3;
  if (dbm >= -75) return 2;
  if (dbm >= -85) return 1;
  return 0;
}

const SIGNAL_WORDS = ['No signal', 'Weak', 'Fair', 'Good', 'Excellent'];

export function signalWord(dbm) {
  return SIGNAL_WORDS[signalLevel(dbm)];
}

/** Four bars, as many lit as the signal level (classes only: the CSP forbids inline styles). */
export function signalBars(dbm, testid) {
  const level = signalLevel(dbm);
  return h(
    'span',
    { class: `bars bars-${level}`, role: 'img', 'aria-label': `Wi-Fi signal ${signalWord(dbm).toLowerCase()} (${dbm} dBm)`, title: `${dbm} dBm`, testid, dataset: { level: String(level) } },
    [1, 2, 3, 4].map((n) => h('i', { class: `bar bar-${n}` })),
  );
}

/** Battery icon and percentage (low under 20 %), with a bolt while charging. */
export function batteryChip(pct, charging, testid) {
  return h(
    'span',
    { class: `battery${pct < 20 ? ' is-low' : ''}`, testid, title: charging ? 'Charging' : 'Battery' },
    icon(charging ? 'bolt' : 'battery', 18),
    `${pct}%`,
  );
}

/** "950 MB" / "31.3 GB" for a size in MB. */
export function sizeText(mb) {
  const n = Number(mb) || 0;
  return n >= 1024 ? `${(n / 1024).toFixed(1)} GB` : `${n} MB`;
}

export const SD_LABELS = { absent: 'No card', ok: 'Ready', formatting: 'Formatting…', error: 'Card error' };

/**
 * Calls `task()` now and then `intervalMs` after each run finishes, until `stop()`; skips runs
 * while the tab is hidden and runs at once when it shows again. Returns `{ stop, now }`.
 */
export function poller(task, intervalMs) {
  let timer = null;
  let stopped = false;
  let running = false;
  const run = async () => {
    clearTimeout(timer);
    timer = null;
    if (stopped || running) return;
    if (!document.hidden) {
      running = true;
      try {
        await task();
      } catch (err) {
        console.warn('poll:', err);
      } finally {
        running = false;
      }
    }
    if (!stopped) timer = setTimeout(run, intervalMs);
  };
  const onVisible = () => {
    if (!document.hidden) run();
  };
  document.addEventListener('visibilitychange', onVisible);
  run();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    },
    now: run,
  };
}
