// schedule-editor.js — when motion detection runs: always, or in periods per weekday (start
// and end on the device's clock). Each period is a row (day, from, until, remove); "00:00" as
// the end means midnight (sent as "24:00"). The checks mirror the server's, with its codes:
// a period must end after it starts (schedule-period-inverted), and periods of one day must
// not overlap (schedule-periods-overlap; touching is fine). Errors show on the row.

import { h, showFieldError, clearFieldError } from './ui.js';
import { icon } from './icons.js';

export const DAYS = [
  ['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'],
  ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday'],
];
const MAX_PERIODS = 64;
const MOTION_WORDS = {
  label: 'Only at certain times',
  off: 'Off: motion detection runs around the clock',
  hint: 'Times are on the device\'s clock (its time zone below). "00:00" as the end means midnight.',
};
let seq = 0;

/** Minutes after midnight of "HH:MM" (up to "24:00"), or null. */
export function minutesOf(text) {
  const m = /^(\d{2}):(\d{2})$/.exec(text || '');
  if (!m) return null;
  const v = +m[1] * 60 + +m[2];
  return +m[2] < 60 && v <= 24 * 60 ? v : null;
}

/**
 * Checks `periods` (`[{ day, start, end }]`) as the server does. Returns
 * `[{ index, code, message }]`, empty when they are fine.
 */
export function scheduleProblems(periods) {
  const problems = [];
  periods.forEach((p, index) => {
    const s = minutesOf(p.start);
    const e = minutesOf(p.end);
    if (s == null || e == null) problems.push({ index, code: 'invalid-schedule', message: 'Enter both times.' });
    else if (s >= e) problems.push({ index, code: 'schedule-period-inverted', message: 'The end must be after the start.' });
  });
  periods.forEach((p, index) => {
    if (problems.some((x) => x.index === index)) return;
    const s = minutesOf(p.start);
    const e = minutesOf(p.end);
    const other = periods.findIndex((q, j) => {
      if (j === index || q.day !== p.day) return false;
      const qs = minutesOf(q.start);
      const qe = minutesOf(q.end);
      return qs != null && qe != null && qs < qe && s < qe && qs < e;
    });
    if (other >= 0) {
      const day = DAYS.find(([d]) => d === p.day)?.[1] || p.day;
      problems.push({ index, code: 'schedule-periods-overlap', message: `This overlaps another period on ${day}.` });
    }
  });
  return problems;
}

/**
 * The editor. `onChange()` hears every edit. Returns `{ node, set(schedule), get(),
 * check(), showError(message) }`: `get()` is `null` (always) or `{ periods }`; `check()`
 * marks problems on the rows and answers whether there are none. `text` replaces the motion
 * schedule's words (`{ label, off, hint }`) where the editor times something else; `id` is
 * the switch's (default `${testid}-on`).
 */
export function scheduleEditor({ onChange = () => {}, testid = 'schedule', id = null, text = {} } = {}) {
  let rows = []; // { day, start, end, node, inputs }
  const alwaysId = id || `${testid}-on`;
  const words = { ...MOTION_WORDS, ...text };
  const toggle = h('input', { type: 'checkbox', class: 'switch-input', id: alwaysId, role: 'switch', testid: `${testid}-enabled` });
  const list = h('ol', { class: 'sched-list', testid: `${testid}-list` });
  const add = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: `${testid}-add` }, icon('plus', 18), 'Add period');
  const error = h('p', { class: 'field-error', role: 'alert', testid: `${testid}-error`, hidden: true });
  const body = h('div', { class: 'sched-body' }, list, h('p', { class: 'hint' }, words.hint), add);

  const paint = () => {
    body.hidden = !toggle.checked;
    list.replaceChildren(...rows.map((r) => r.node));
    add.disabled = rows.length >= MAX_PERIODS;
  };

  const row = ({ day, start, end }) => {
    const daySel = h('select', { class: 'input select', 'aria-label': 'Day', testid: `${testid}-day` }, DAYS.map(([v, t]) => h('option', { value: v }, t)));
    daySel.value = day;
    const n = ++seq;
    const from = h('input', { class: 'input', type: 'time', id: `sched-from-${n}`, 'aria-label': 'From', value: start, required: true, testid: `${testid}-start` });
    const until = h('input', { class: 'input', type: 'time', id: `sched-until-${n}`, 'aria-label': 'Until', value: end === '24:00' ? '00:00' : end, required: true, testid: `${testid}-end` });
    const remove = h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Remove this period', testid: `${testid}-remove` }, icon('trash', 18));
    const node = h('li', { class: 'sched-row', testid: `${testid}-period` }, h('div', { class: 'sched-fields' }, daySel, from, h('span', { 'aria-hidden': 'true' }, '–'), until, remove));
    const r = { node, inputs: { daySel, from, until } };
    remove.addEventListener('click', () => {
      rows = rows.filter((x) => x !== r);
      paint();
      onChange();
    });
    for (const input of [daySel, from, until]) input.addEventListener('change', () => {
      clearFieldError(from);
      onChange();
    });
    return r;
  };

  const read = (r) => {
    const start = (r.inputs.from.value || '').slice(0, 5);
    let end = (r.inputs.until.value || '').slice(0, 5);
    if (end === '00:00') end = '24:00';
    return { day: r.inputs.daySel.value, start, end };
  };

  add.addEventListener('click', () => {
    const last = rows.length ? read(rows.at(-1)) : null;
    const nextDay = last ? DAYS[(DAYS.findIndex(([d]) => d === last.day) + 1) % 7][0] : 'mon';
    rows.push(row(last ? { ...last, day: nextDay } : { day: 'mon', start: '08:00', end: '18:00' }));
    paint();
    rows.at(-1).inputs.daySel.focus();
    onChange();
  });
  toggle.addEventListener('change', () => {
    if (toggle.checked && !rows.length) rows.push(row({ day: 'mon', start: '08:00', end: '18:00' }));
    paint();
    onChange();
  });

  const clearMarks = () => {
    error.hidden = true;
    for (const r of rows) clearFieldError(r.inputs.from);
  };

  paint();
  return {
    node: h(
      'div',
      { class: 'sched', testid },
      h(
        'div',
        { class: 'set-row' },
        h('label', { class: 'set-text', for: alwaysId }, h('span', { class: 'set-label' }, words.label), h('span', { class: 'set-hint' }, words.off)),
        h('span', { class: 'switch' }, toggle, h('span', { class: 'switch-track', 'aria-hidden': 'true' })),
      ),
      error,
      body,
    ),
    set(schedule) {
      toggle.checked = !!schedule;
      rows = (schedule?.periods || []).map(row);
      clearMarks();
      paint();
    },
    get() {
      if (!toggle.checked) return null;
      return { periods: rows.map(read) };
    },
    check() {
      clearMarks();
      if (!toggle.checked) return true;
      const periods = rows.map(read);
      const problems = scheduleProblems(periods);
      for (const p of problems) {
        const input = rows[p.index].inputs.from;
        showFieldError(input, p.message);
        input.closest('li')?.querySelector('.field-error')?.setAttribute('data-code', p.code);
      }
      if (problems.length) rows[problems[0].index].inputs.from.focus();
      return problems.length === 0;
    },
    /** Shows the server's complaint about the schedule. */
    showError(message) {
      error.textContent = message;
      error.hidden = false;
    },
  };
}
