// time-zones.js — a <select> of the IANA time zones the browser knows (with UTC, and the
// current value even when the browser does not list it), for device and notification settings.

import { h } from './ui.js';

let zones = null;

/** Every IANA time zone name the browser knows, with "UTC" first. */
export function timeZones() {
  if (!zones) {
    let list = [];
    try {
      list = Intl.supportedValuesOf('timeZone');
    } catch {
      list = [];
    }
    zones = ['UTC', ...list.filter((z) => z !== 'UTC')];
  }
  return zones;
}

/** The browser's own time zone, e.g. "Europe/Berlin". */
export function localTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** A time zone <select> (`attrs` go to it); `set(value)` adds a value it does not list. */
export function timeZoneSelect(attrs) {
  const select = h('select', { class: 'input select', ...attrs }, timeZones().map((z) => h('option', { value: z }, z.replaceAll('_', ' '))));
  return {
    input: select,
    get: () => select.value,
    set(value) {
      const v = value || 'UTC';
      if (![...select.options].some((o) => o.value === v)) select.prepend(h('option', { value: v }, v));
      select.value = v;
    },
  };
}
