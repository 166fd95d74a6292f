// events-stream.js — the account's live events over Server-Sent Events
// (`GET /api/v1/events/stream`): one connection for the whole app while signed in. Pages and
// the ring screen subscribe to its messages: `event` (a new or updated EventItem), `ring`
// (`{ device, event }`: a doorbell was pressed) and `open` (connected; after a gap, pages
// re-read what they show, as messages sent meanwhile were missed). The browser's EventSource
// reconnects by itself after a dropped connection; when it gives up (an error answer), this
// tries again with a growing pause. `<html data-events-stream>` says the state (tests wait on
// it).

import { getMe, onMeChange } from './state.js';

const URL_PATH = '/api/v1/events/stream';
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

const listeners = { event: new Set(), ring: new Set(), open: new Set() };
let source = null;
let timer = null;
let retryMs = RETRY_MIN_MS;
let opened = 0; // how many times the stream has opened since sign-in

function setState(state) {
  document.documentElement.dataset.eventsStream = state;
}

function emit(type, data) {
  for (const fn of listeners[type]) {
    try {
      fn(data);
    } catch (err) {
      console.error(err);
    }
  }
}

function onMessage(type) {
  return (message) => {
    let data;
    try {
      data = JSON.parse(message.data);
    } catch {
      console.warn('events stream: not JSON:', message.data);
      return;
    }
    emit(type, data);
  };
}

function connect() {
  clearTimeout(timer);
  timer = null;
  if (source || typeof EventSource !== 'function') return;
  setState('connecting');
  const es = new EventSource(URL_PATH, { withCredentials: true });
  source = es;
  es.addEventListener('open', () => {
    retryMs = RETRY_MIN_MS;
    setState('open');
    opened += 1;
    emit('open', { reconnected: opened > 1 });
  });
  es.addEventListener('event', onMessage('event'));
  es.addEventListener('ring', onMessage('ring'));
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CONNECTING) {
      setState('connecting'); // the browser retries by itself
      return;
    }
    // Closed for good (an error status, or not an event stream): try again later.
    es.close();
    if (source === es) source = null;
    setState('closed');
    if (getMe()) {
      timer = setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    }
  });
}

function disconnect() {
  clearTimeout(timer);
  timer = null;
  if (source) source.close();
  source = null;
  opened = 0;
  retryMs = RETRY_MIN_MS;
  setState('closed');
}

/** Keeps the stream open while someone is signed in (call once, at start-up). */
export function startEventsStream() {
  onMeChange((me) => (me ? connect() : disconnect()));
  if (getMe()) connect();
}

/**
 * Calls `fn(data)` for each `type` message ('event', 'ring' or 'open'). Returns a function
 * that stops it.
 */
export function onStreamMessage(type, fn) {
  listeners[type].add(fn);
  return () => listeners[type].delete(fn);
}

/** Whether the stream is connected now. */
export function streamOpen() {
  return !!source && source.readyState === EventSource.OPEN;
}
