// timeline.js — the Playback page's day timeline: an SVG bar with hour ticks (labelled every
// three hours), recorded spans as filled blocks (gaps stay empty), a playhead, a scrub cursor,
// and event marks in a row under the bar (a click on one plays its event). Click or drag to pick a moment; it is also a
// keyboard slider (arrows: 1 minute, with Shift 10, Page Up/Down: 1 hour, Home/End, Enter).
// Positions are SVG percentages, so no inline styles are needed (the CSP forbids them).

import { h } from './ui.js';

const NS = 'http://www.w3.org/2000/svg';
/** The narrowest block drawn, as a share of the day, so a short recording stays visible. */
const MIN_BLOCK = 0.008;
/** Keyboard moves are committed after this pause. */
const KEY_COMMIT_MS = 700;
/** An event mark's width, as a share of the day. */
const MIN_MARK = 0.006;

function svg(tag, attrs = {}) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null) continue;
    el.setAttribute(key === 'testid' ? 'data-testid' : key, String(value));
  }
  return el;
}

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const hhmm = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const hhmmss = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });

/** "14:05:09" in local time. */
export function clockTime(ms) {
  return hhmmss.format(new Date(ms));
}

/**
 * Builds a timeline. `onPick(ms, block)` is called with the chosen moment and the recorded
 * span whose drawn block holds it (short spans are drawn wider than they are), or null.
 * Event marks (`setMarks`) sit under the track; a click on one calls `onMark(mark)`.
 * Returns `{ node, setRange(fromMs, toMs), setSpans(spans), setMarks(marks), setPlayhead(ms | null) }`.
 */
export function timeline({ label, onPick, onMark = null }) {
  let from = 0;
  let to = 1;
  let blocks = [];
  let cursor = null;
  let playhead = null;
  let dragging = false;
  let keyTimer = null;
  let marks = [];
  let pressedMark = null; // the mark a press started on, until the pointer moves away
  let pressX = 0;

  const frac = (ms) => clamp((ms - from) / (to - from), 0, 1);
  const pct = (f) => `${(f * 100).toFixed(3)}%`;

  const ticks = svg('g', { class: 'tl-ticks' });
  const spansG = svg('g', { class: 'tl-spans' });
  const events = svg('g', { class: 'tl-events' }); // event marks, y 38-47
  const labels = svg('g', { class: 'tl-labels' });
  const cursorLine = svg('line', { class: 'tl-cursor', y1: 1, y2: 41, visibility: 'hidden' });
  const head = svg('line', { class: 'tl-playhead', y1: 1, y2: 41, visibility: 'hidden' });
  const bar = svg('svg', { class: 'tl-svg', width: '100%', height: 62, 'aria-hidden': 'true', focusable: 'false' });
  bar.append(svg('rect', { class: 'tl-track', x: 0, y: 6, width: '100%', height: 30, rx: 6 }), ticks, spansG, events, cursorLine, head, labels);
  const readout = h('output', { class: 'tl-readout', testid: 'timeline-readout', 'aria-hidden': 'true' });
  const node = h(
    'div',
    { class: 'tl', role: 'slider', tabindex: 0, 'aria-label': label, testid: 'timeline', 'aria-valuemin': 0 },
    readout,
    bar,
  );

  const blockAt = (ms) => blocks.find((b) => b.x <= frac(ms) && frac(ms) <= b.x + b.w) || null;

  const describe = () => {
    const at = cursor ?? playhead;
    if (at == null) {
      node.setAttribute('aria-valuenow', '0');
      node.setAttribute('aria-valuetext', 'No moment chosen');
      return;
    }
    const recorded = blocks.some((b) => b.span.start_ms <= at && at < b.span.end_ms);
    node.setAttribute('aria-valuenow', String(Math.round((at - from) / 60_000)));
    node.setAttribute('aria-valuetext', `${hhmm.format(new Date(at))}, ${recorded ? 'recorded' : 'nothing recorded'}`);
  };

  const place = (line, ms) => {
    if (ms == null || ms < from || ms > to) {
      line.setAttribute('visibility', 'hidden');
      return;
    }
    line.setAttribute('x1', pct(frac(ms)));
    line.setAttribute('x2', pct(frac(ms)));
    line.setAttribute('visibility', 'visible');
  };

  const showCursor = (ms) => {
    cursor = ms;
    place(cursorLine, ms);
    readout.textContent = ms == null ? '' : clockTime(ms);
    describe();
  };

  const commit = (ms) => {
    clearTimeout(keyTimer);
    showCursor(null);
    onPick(ms, blockAt(ms)?.span || null);
  };

  const msAt = (clientX) => {
    const r = bar.getBoundingClientRect();
    return from + clamp((clientX - r.left) / (r.width || 1), 0, 1) * (to - from);
  };

  node.addEventListener('pointerdown', (event) => {
    if (event.button !== 0) return;
    dragging = true;
    const index = event.target?.getAttribute?.('data-mark');
    pressedMark = index != null && onMark ? marks[Number(index)] || null : null;
    pressX = event.clientX;
    node.setPointerCapture?.(event.pointerId);
    node.focus({ preventScroll: true });
    showCursor(msAt(event.clientX));
  });
  node.addEventListener('pointermove', (event) => {
    if (pressedMark && Math.abs(event.clientX - pressX) > 6) pressedMark = null;
    if (dragging || event.pointerType === 'mouse') showCursor(msAt(event.clientX));
  });
  node.addEventListener('pointerup', (event) => {
    if (!dragging) return;
    dragging = false;
    if (pressedMark) {
      const mark = pressedMark;
      pressedMark = null;
      clearTimeout(keyTimer);
      showCursor(null);
      onMark(mark);
      return;
    }
    commit(msAt(event.clientX));
  });
  node.addEventListener('pointercancel', () => {
    dragging = false;
    showCursor(null);
  });
  node.addEventListener('pointerleave', () => {
    if (!dragging) showCursor(null);
  });

  const STEPS = { ArrowLeft: -60_000, ArrowDown: -60_000, ArrowRight: 60_000, ArrowUp: 60_000, PageDown: -3_600_000, PageUp: 3_600_000 };
  node.addEventListener('keydown', (event) => {
    const base = cursor ?? playhead ?? from;
    let next;
    if (STEPS[event.key]) next = base + STEPS[event.key] * (event.shiftKey && event.key.startsWith('Arrow') ? 10 : 1);
    else if (event.key === 'Home') next = from;
    else if (event.key === 'End') next = to - 1000;
    else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      if (cursor != null) commit(cursor);
      return;
    } else return;
    event.preventDefault();
    showCursor(clamp(next, from, to - 1000));
    clearTimeout(keyTimer);
    keyTimer = setTimeout(() => cursor != null && commit(cursor), KEY_COMMIT_MS);
  });
  node.addEventListener('blur', () => {
    clearTimeout(keyTimer);
    if (!dragging) showCursor(null);
  });

  const drawScale = () => {
    ticks.replaceChildren();
    labels.replaceChildren();
    const day = new Date(from);
    for (let hour = 0; hour <= 24; hour++) {
      const at = new Date(day.getFullYear(), day.getMonth(), day.getDate(), hour).getTime();
      if (at > to) break;
      const x = pct(frac(at));
      const major = hour % 3 === 0;
      if (hour > 0 && hour < 24) ticks.append(svg('line', { class: major ? 'tl-tick tl-tick-major' : 'tl-tick', x1: x, x2: x, y1: 6, y2: 36 }));
      if (!major) continue;
      const anchor = hour === 0 ? 'start' : hour === 24 ? 'end' : 'middle';
      const text = svg('text', { class: 'tl-label', x, y: 58, 'text-anchor': anchor });
      text.textContent = String(hour).padStart(2, '0');
      labels.append(text);
    }
  };

  const drawSpans = () => {
    spansG.replaceChildren(
      ...blocks.map((b) =>
        svg('rect', {
          class: 'tl-span', x: pct(b.x), width: pct(b.w), y: 6, height: 30, testid: 'timeline-span',
          'data-start': b.span.start_ms, 'data-end': b.span.end_ms,
        }),
      ),
    );
  };

  return {
    node,
    /** Shows `[fromMs, toMs)` (a local day; 23 or 25 hours across a DST change). */
    setRange(fromMs, toMs) {
      from = fromMs;
      to = toMs;
      node.setAttribute('aria-valuemax', String(Math.round((to - from) / 60_000)));
      drawScale();
      this.setSpans([]);
      this.setMarks([]);
      this.setPlayhead(null);
    },
    /** Draws the recorded spans `[{ start_ms, end_ms }]`, sorted by start. */
    setSpans(spans) {
      blocks = spans.map((span) => {
        const w = Math.max(frac(span.end_ms) - frac(span.start_ms), MIN_BLOCK);
        return { span, w, x: Math.min(frac(span.start_ms), 1 - w) };
      });
      drawSpans();
      describe();
    },
    /** Draws event marks `[{ ms, kind, ... }]` under the track (kept until the next call). */
    setMarks(next) {
      marks = next;
      events.replaceChildren(
        ...marks.map((m, i) =>
          svg('rect', {
            class: `tl-mark tl-mark-${m.kind}`, x: pct(Math.min(frac(m.ms), 1 - MIN_MARK)), width: pct(MIN_MARK), y: 38, height: 9, rx: 2,
            testid: 'timeline-mark', 'data-mark': i, 'data-ms': Math.round(m.ms), 'data-kind': m.kind,
          }),
        ),
      );
    },
    setPlayhead(ms) {
      playhead = ms;
      place(head, ms);
      if (cursor == null) describe();
    },
  };
}
