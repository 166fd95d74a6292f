// event-ui.js — pieces shared by the screens that show events (Message Center, event detail,
// ring screen, playback timeline): what each kind is called, the thumbnail or its placeholder,
// times, the playback deep link, and the account's device names (read once, then cached).

import { devices, events } from './api.js';
import { icon } from './icons.js';
import { h } from './ui.js';
import { deviceTitle } from './device-ui.js';

export const EVENT_KINDS = ['motion', 'press', 'loiter', 'tamper'];

export const EVENT_LABELS = {
  motion: 'Motion',
  press: 'Doorbell pressed',
  loiter: 'Someone lingering',
  tamper: 'Device tampered with',
};

const EVENT_ICONS = { motion: 'move', press: 'doorbell', loiter: 'user', tamper: 'alert' };

export function eventLabel(kind) {
  return EVENT_LABELS[kind] || kind;
}

/** What an event shows as its title: "Person" when the server saw one in it, else its kind's. */
export function eventTitle(item) {
  return item.label === 'person' ? 'Person' : eventLabel(item.kind);
}

/** The person filter of the Message Center: a "type" beside the kinds, sent as `label`. */
export const PERSON_FILTER = 'person';

export function eventIcon(kind, size = 24) {
  return icon(EVENT_ICONS[kind] || 'bell', size);
}

/** Where playback of the event starts: its clip (a few seconds of pre-roll), else its start. */
export function eventAt(item) {
  return item.clip_from_ms ?? item.started_at_ms;
}

/** The Playback page at the event's moment. */
export function playbackHref(item) {
  return `#/devices/${encodeURIComponent(item.device)}/playback?at=${Math.round(eventAt(item))}`;
}

/** The event's thumbnail, or a placeholder with the kind's icon when it has none. */
export function eventThumb(item, { testid, large = false, alt = '' } = {}) {
  const cls = `ev-thumb${large ? ' ev-thumb-lg' : ''}`;
  if (!item.thumbnail) {
    return h('span', { class: `${cls} ev-thumb-none`, testid: testid ? `${testid}-none` : null, 'aria-hidden': 'true' }, eventIcon(item.kind, large ? 40 : 22));
  }
  return h('img', { class: cls, src: events.thumbnailUrl(item.id), alt, loading: 'lazy', testid, width: large ? 640 : 112, height: large ? 360 : 63 });
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short' });

/** "14:05:09" for today, else "Tue 3 Mar, 14:05:09". */
export function eventTime(ms) {
  const d = new Date(ms);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay ? timeFmt.format(d) : `${dayFmt.format(d)}, ${timeFmt.format(d)}`;
}

/** "45 s" / "3 min 5 s" for a duration in ms. */
export function durationText(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
}

/** "Zone 2" for a zone index, or null. */
export function zoneText(zone) {
  return zone == null ? null : `Zone ${zone + 1}`;
}

const NAMES_TTL_MS = 60_000;
let names = null;
let namesAt = 0;
let pending = null;

/**
 * The account's devices as a Map uid → DeviceInfo (cached for a minute; `fresh` reads them
 * again). Resolves to an empty map when they cannot be read.
 */
export function deviceMap({ fresh = false } = {}) {
  if (!fresh && names && Date.now() - namesAt < NAMES_TTL_MS) return Promise.resolve(names);
  if (!pending) {
    pending = devices
      .list()
      .then((list) => {
        names = new Map(list.map((d) => [d.uid, d]));
        namesAt = Date.now();
        return names;
      })
      .catch(() => names || new Map())
      .finally(() => (pending = null));
  }
  return pending;
}

/** The device's display name from `map`, else its UID. */
export function deviceName(map, uid) {
  const d = map && map.get(uid);
  return d ? deviceTitle(d) : uid;
}
