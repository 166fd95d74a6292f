// pages/playback.js — "#/devices/{uid}/playback[?at=ms]": one device's recordings. A day
// picker and the day's timeline (click or drag to play from a moment), the video (windows of
// up to an hour, fed segment by segment through Media Source Extensions) with the wall-clock
// time being played, a snapshot of that moment, and an MP4 download of a range. The day's events
// are marks under the timeline and buttons below it (both play from the event's clip start),
// kept current over the events stream. `at` opens the
// day holding that moment and plays from it. A warning shows while the account's storage is
// full and the oldest footage is being removed. The owner can delete the chosen range
// ("Delete this range", after confirming): the timeline then no longer shows it.

import { devices, recordings, events } from '../api.js';
import { icon } from '../icons.js';
import { h, alertBox, showAlert, showError, hideAlert, busy, emptyState, confirmDialog, toast } from '../ui.js';
import { deviceTitle, poller } from '../device-ui.js';
import { MediaLink, Player, parsePlaylist, canPlay } from '../media.js';
import { timeline, clockTime } from '../timeline.js';
import { onStreamMessage } from '../events-stream.js';
import { eventLabel, eventAt } from '../event-ui.js';

export const title = 'Playback';

/** One playlist covers at most this much footage; the next one follows when it has played. */
const WINDOW_MS = 3_600_000;
/** Today's timeline is refreshed this often, as footage keeps arriving. */
const REFRESH_MS = 15_000;

const pad = (n) => String(n).padStart(2, '0');

function dayStart(ms) {
  const d = new Date(ms);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

function addDays(start, n) {
  const d = new Date(start);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + n).getTime();
}

/** "2026-11-29" (local) for a date input. */
function dateValue(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** "14:05:09" (local) for a time input. */
function timeValue(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A time input's "HH:MM[:SS]" on the day starting at `day`, in ms; null when empty. */
function parseTime(day, value) {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?/.exec(value || '');
  if (!m) return null;
  const d = new Date(day);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate(), +m[1], +m[2], +(m[3] || 0)).getTime();
}

const dayLabel = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });

/** "2 h 5 min" / "45 s" for a duration in ms. */
function durationText(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${min % 60} min`;
}

/**
 * Where to play from when `ms` is picked: `ms` itself inside a recording; else the start of
 * the recording whose drawn block was hit, or of the next one; else the last minute of the
 * one before. Null when the day has no recordings.
 */
export function playStart(spans, ms, block = null) {
  const inside = spans.find((s) => s.start_ms <= ms && ms < s.end_ms);
  if (inside) return { at: ms, span: inside };
  if (block) return { at: block.start_ms, span: block };
  const next = spans.find((s) => s.start_ms > ms);
  if (next) return { at: next.start_ms, span: next };
  const prev = spans.findLast((s) => s.end_ms <= ms);
  return prev ? { at: Math.max(prev.start_ms, prev.end_ms - 60_000), span: prev } : null;
}

export function render(ctx) {
  const uid = ctx.params.uid;
  const atParam = Number(ctx.query.get('at'));
  let deepLink = Number.isFinite(atParam) && atParam > 0 ? atParam : null;
  let day = dayStart(deepLink ?? Date.now());
  let spans = [];
  let selected = null; // the moment last picked (ms)
  let lastEnd = null; // wall-clock end of the window that played last
  let playSeq = 0; // bumped by every playback start: older ones give up
  let timelineSeq = 0;
  let left = false;

  const subtitle = h('p', { class: 'muted small page-sub', testid: 'playback-device' }, uid);
  const head = h(
    'header',
    { class: 'page-head' },
    h('a', { class: 'icon-btn', href: `#/devices/${encodeURIComponent(uid)}`, 'aria-label': 'Back to the device', testid: 'playback-back' }, icon('back')),
    h('div', { class: 'page-title-wrap' }, h('h1', { class: 'page-title' }, 'Playback'), subtitle),
  );
  const storageAlert = alertBox('storage-alert');
  const alert = alertBox('playback-alert');

  // ---- The player ----
  const video = h('video', { class: 'player', testid: 'player', controls: true, playsinline: true, preload: 'auto', 'aria-label': 'Recorded video' });
  video.muted = true;
  const hint = h('p', { class: 'player-hint', testid: 'player-hint' }, 'Choose a moment on the timeline to play it.');
  const timeText = h('time', { class: 'play-time', testid: 'playback-time' }, '--:--:--');
  const status = h('span', { class: 'muted small', testid: 'playback-status', role: 'status' });
  const playerCard = h(
    'div',
    { class: 'card player-card' },
    h('div', { class: 'player-frame' }, video, hint),
    h('div', { class: 'player-bar' }, icon('camera', 18), timeText, status),
  );

  // ---- Day picker and timeline ----
  const prevDay = h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Previous day', testid: 'day-prev' }, icon('back'));
  const nextDay = h('button', { type: 'button', class: 'icon-btn icon-btn-flip', 'aria-label': 'Next day', testid: 'day-next' }, icon('back'));
  const dayInput = h('input', { class: 'input input-date', type: 'date', 'aria-label': 'Day', testid: 'day-input' });
  const dayText = h('span', { class: 'visually-hidden', 'aria-live': 'polite', testid: 'day-label' });
  const summary = h('p', { class: 'muted small', testid: 'timeline-summary' });
  const tl = timeline({ label: 'Time of day', onPick: (ms, block) => playFrom(ms, block), onMark: (m) => playFrom(eventAt(m.item)) });
  const eventList = h('ul', { class: 'tl-event-list', testid: 'playback-events', 'aria-label': 'Events this day', hidden: true });
  const timelineCard = h(
    'div',
    { class: 'card timeline-card' },
    h('div', { class: 'day-nav' }, prevDay, dayInput, nextDay, dayText),
    tl.node,
    h('div', { class: 'tl-legend' }, h('span', { class: 'tl-swatch', 'aria-hidden': 'true' }), 'Recorded', summary),
    eventList,
  );

  // ---- Snapshot and download ----
  const snapButton = h('button', { type: 'button', class: 'btn btn-secondary', testid: 'snapshot-button' }, icon('image', 20), 'Snapshot');
  const snapImage = h('img', { class: 'snapshot', testid: 'snapshot-image', alt: '', width: 320, height: 180, hidden: true });
  const snapLink = h('a', { class: 'link small', testid: 'snapshot-link', download: '', hidden: true }, 'Save picture');
  const snapCaption = h('figcaption', { class: 'muted small' });
  const snapFigure = h('figure', { class: 'snapshot-figure', hidden: true }, snapImage, h('div', { class: 'snapshot-caption' }, snapCaption, snapLink));
  const fromInput = h('input', { class: 'input', type: 'time', step: 1, id: 'export-from', testid: 'download-from' });
  const toInput = h('input', { class: 'input', type: 'time', step: 1, id: 'export-to', testid: 'download-to' });
  const downloadLink = h('a', { class: 'btn btn-secondary', testid: 'download-link', download: '' }, icon('download', 20), 'Download MP4');
  const exportHint = h('p', { class: 'hint', testid: 'download-hint' }, 'An MP4 file of this range, on the chosen day.');
  const deleteButton = h('button', { type: 'button', class: 'btn btn-danger-outline', testid: 'delete-range', hidden: true }, icon('trash', 20), 'Delete this range');
  const saveCard = h(
    'div',
    { class: 'card' },
    h('h2', { class: 'card-title' }, 'Save'),
    h('div', { class: 'btn-row' }, snapButton),
    snapFigure,
    h(
      'div',
      { class: 'export' },
      h('div', { class: 'field' }, h('label', { class: 'label', for: 'export-from' }, 'From'), fromInput),
      h('div', { class: 'field' }, h('label', { class: 'label', for: 'export-to' }, 'To'), toInput),
      downloadLink,
    ),
    exportHint,
    h('div', { class: 'btn-row' }, deleteButton),
  );

  const root = h('section', { class: 'page', testid: 'playback-page', dataset: { uid } }, head, storageAlert, alert, playerCard, timelineCard, saveCard);

  // ---- Links: every URL with a token is rebuilt when the link is renewed ----
  const refreshDownload = () => {
    const from = parseTime(day, fromInput.value);
    const to = parseTime(day, toInput.value);
    const ok = from != null && to != null && to > from && link.link;
    if (ok) {
      downloadLink.href = link.url('export.mp4', { from, to });
      downloadLink.removeAttribute('aria-disabled');
      exportHint.textContent = `An MP4 file of ${durationText(to - from)}, on the chosen day.`;
    } else {
      downloadLink.removeAttribute('href');
      downloadLink.setAttribute('aria-disabled', 'true');
      if (from != null && to != null && to <= from) exportHint.textContent = 'The end must be after the start.';
    }
  };
  const link = new MediaLink(uid, { purpose: 'playback', onRenew: () => refreshDownload() });

  /** The download range defaults to the chosen minute and one minute either side. */
  const setRange = (ms) => {
    const minute = Math.floor(ms / 60_000) * 60_000;
    fromInput.value = timeValue(Math.max(day, minute - 60_000));
    toInput.value = timeValue(Math.min(addDays(day, 1) - 1000, minute + 120_000));
    refreshDownload();
  };
  deleteButton.addEventListener('click', async () => {
    const from = parseTime(day, fromInput.value);
    const to = parseTime(day, toInput.value);
    if (from == null || to == null || to <= from) {
      showAlert(alert, 'warn', 'Choose a range whose end is after its start.');
      return;
    }
    const ok = await confirmDialog({
      title: 'Delete this range?',
      text: `The recordings from ${clockTime(from)} to ${clockTime(to)} are deleted from the cloud for good, event footage included.`,
      confirmLabel: 'Delete',
      danger: true,
      testid: 'confirm',
    });
    if (!ok) return;
    busy(deleteButton, async () => {
      try {
        await recordings.deleteRange(uid, from, to);
        hideAlert(alert);
        toast('Recordings deleted', 'success');
        player.reset();
        await loadTimeline();
      } catch (err) {
        showError(alert, err);
      }
    });
  });
  fromInput.addEventListener('input', refreshDownload);
  toInput.addEventListener('input', refreshDownload);
  downloadLink.addEventListener('click', (event) => {
    if (!downloadLink.href) event.preventDefault();
  });

  // ---- Playback ----
  const showTime = () => {
    const at = player.wallTime();
    if (at == null) return;
    timeText.textContent = clockTime(at);
    timeText.dateTime = new Date(at).toISOString();
    timeText.dataset.wallMs = String(Math.round(at));
    tl.setPlayhead(at);
  };

  const player = new Player(video, link, {
    onError: (err) => {
      if (!left) showError(alert, err);
    },
    onEnded: (endMs) => {
      // Go on with the next recorded footage of the day, if there is any.
      if (endMs == null || (lastEnd != null && endMs <= lastEnd + 100)) return;
      lastEnd = endMs;
      const next = playStart(spans, endMs);
      if (next && next.at >= endMs - 500) playFrom(next.at, null, { continuing: true });
      else status.textContent = 'End of the recordings of this day.';
    },
  });
  video.addEventListener('timeupdate', showTime);
  video.addEventListener('seeked', showTime);
  video.addEventListener('playing', () => {
    status.textContent = '';
    hint.hidden = true;
  });
  video.addEventListener('error', () => {
    if (!left && video.getAttribute('src')) showError(alert, new Error('This video could not be played. Try another moment, or download it.'));
  });
  video.addEventListener('waiting', () => {
    status.textContent = 'Loading…';
  });

  async function playFrom(ms, block = null, { continuing = false } = {}) {
    hideAlert(alert);
    const pick = playStart(spans, ms, block);
    if (!pick) {
      status.textContent = 'Nothing was recorded on this day.';
      return;
    }
    if (!continuing) {
      lastEnd = null;
      selected = pick.at;
      setRange(pick.at);
    }
    tl.setPlayhead(pick.at);
    status.textContent = 'Loading…';
    hint.hidden = true;
    const seq = ++playSeq;
    try {
      const params = { from: Math.floor(pick.at), to: Math.floor(pick.at) + WINDOW_MS };
      const text = await link.fetch('playlist.m3u8', params, 'text');
      if (seq !== playSeq || left) return;
      await player.play({ segments: parsePlaylist(text), startMs: pick.at, playlistUrl: link.url('playlist.m3u8', params) });
    } catch (err) {
      if (seq !== playSeq || left) return;
      status.textContent = '';
      showError(alert, err);
    }
  }

  snapButton.addEventListener('click', () =>
    busy(snapButton, async () => {
      hideAlert(alert);
      const at = player.wallTime() ?? selected;
      if (at == null) {
        showAlert(alert, 'info', 'Choose a moment on the timeline first.');
        return;
      }
      try {
        await link.ensure();
      } catch (err) {
        showError(alert, err);
        return;
      }
      const src = link.url('snapshot.jpg', { at: Math.round(at) });
      await new Promise((resolve) => {
        snapImage.onload = resolve;
        snapImage.onerror = () => {
          showAlert(alert, 'error', 'No picture was recorded at that moment.');
          resolve();
        };
        snapImage.src = src;
      });
      const when = clockTime(at);
      snapImage.alt = `Snapshot at ${when}`;
      snapCaption.textContent = `Snapshot at ${when}`;
      snapLink.href = src;
      snapLink.setAttribute('download', `kankan-${uid}-${Math.round(at)}.jpg`);
      snapImage.hidden = false;
      snapLink.hidden = false;
      snapFigure.hidden = false;
    }),
  );

  // ---- The day ----
  const paintDay = () => {
    const today = dayStart(Date.now());
    dayInput.value = dateValue(day);
    dayInput.max = dateValue(today);
    dayText.textContent = dayLabel.format(new Date(day));
    nextDay.disabled = day >= today;
    tl.setRange(day, addDays(day, 1));
  };

  const loadTimeline = async ({ quiet = false } = {}) => {
    const seq = ++timelineSeq;
    try {
      const t = await recordings.timeline(uid, day, addDays(day, 1));
      if (left || seq !== timelineSeq) return;
      spans = [...t.spans].sort((a, b) => a.start_ms - b.start_ms);
      tl.setSpans(spans);
      const total = spans.reduce((sum, s) => sum + (s.end_ms - s.start_ms), 0);
      summary.textContent = spans.length ? `· ${durationText(total)} recorded` : '· nothing recorded on this day';
      if (!quiet) {
        const latest = spans.at(-1);
        if (deepLink != null && dayStart(deepLink) === day) {
          playFrom(deepLink);
          deepLink = null;
        } else setRange(latest ? Math.max(latest.start_ms, latest.end_ms - 60_000) : Math.min(Date.now(), addDays(day, 1) - 60_000));
      }
    } catch (err) {
      if (left || err.status === 401) return;
      if (err.code === 'device-not-found' || err.status === 404) {
        root.replaceChildren(
          head,
          emptyState({
            iconName: 'camera',
            title: 'Device not found',
            text: 'This device is not in your account. It may have been removed, or the link is wrong.',
            testid: 'device-not-found',
          }),
        );
        return;
      }
      showError(alert, err);
    }
  };

  // ---- The day's events: marks on the timeline and a list of buttons ----
  let dayEvents = [];
  let eventsSeq = 0;
  const paintEvents = () => {
    dayEvents.sort((a, b) => a.started_at_ms - b.started_at_ms);
    tl.setMarks(dayEvents.map((item) => ({ ms: item.started_at_ms, kind: item.kind, item })));
    eventList.replaceChildren(
      ...dayEvents.map((item) =>
        h('li', null, h('button', {
          type: 'button', class: `chip tl-event tl-event-${item.kind}`, testid: 'playback-event', dataset: { id: item.id, at: String(eventAt(item)) },
          onclick: () => playFrom(eventAt(item)),
        }, `${clockTime(item.started_at_ms).slice(0, 5)} ${eventLabel(item.kind)}`)),
      ),
    );
    eventList.hidden = !dayEvents.length;
  };
  const loadEvents = async () => {
    const seq = ++eventsSeq;
    try {
      const list = await events.list({ device: uid, after_ms: day, before_ms: addDays(day, 1), limit: 200 });
      if (left || seq !== eventsSeq) return;
      dayEvents = list.filter((e) => e.started_at_ms >= day && e.started_at_ms < addDays(day, 1));
      paintEvents();
    } catch {
      /* marks are an extra: the timeline works without them */
    }
  };
  const offEvents = onStreamMessage('event', (item) => {
    if (item.device !== uid || item.started_at_ms < day || item.started_at_ms >= addDays(day, 1)) return;
    dayEvents = [...dayEvents.filter((e) => e.id !== item.id), item];
    paintEvents();
  });

  const goToDay = (start) => {
    if (start === day) return;
    day = start;
    spans = [];
    selected = null;
    playSeq += 1;
    player.reset();
    hint.hidden = false;
    status.textContent = '';
    timeText.textContent = '--:--:--';
    delete timeText.dataset.wallMs;
    paintDay();
    loadTimeline();
    dayEvents = [];
    loadEvents();
  };
  prevDay.addEventListener('click', () => goToDay(addDays(day, -1)));
  nextDay.addEventListener('click', () => goToDay(Math.min(addDays(day, 1), dayStart(Date.now()))));
  dayInput.addEventListener('change', () => {
    const [y, m, d] = dayInput.value.split('-').map(Number);
    if (y && m && d) goToDay(Math.min(new Date(y, m - 1, d).getTime(), dayStart(Date.now())));
  });

  // ---- Start ----
  if (!canPlay(video)) {
    showAlert(alert, 'warn', "This browser can't play recordings here. You can still download them.");
  }
  paintDay();
  link.ensure().catch((err) => {
    if (!left && err.status !== 401 && err.status !== 404) showError(alert, err);
  });
  devices
    .get(uid)
    .then((d) => {
      if (left) return;
      subtitle.textContent = deviceTitle(d);
      deleteButton.hidden = !(d.role === 'owner' && (d.capabilities || []).includes('manage-recordings'));
      document.title = `${deviceTitle(d)} · Playback · Kankan`;
    })
    .catch(() => {});
  recordings
    .storage()
    .then((s) => {
      if (left || !s.quota_alert_at) return;
      showAlert(storageAlert, 'warn', 'The oldest footage is being removed to make room for new recordings.', {
        title: 'Storage full',
      });
    })
    .catch(() => {});
  let first = true;
  const poll = poller(async () => {
    if (first) {
      first = false;
      loadEvents();
      await loadTimeline();
    } else if (day === dayStart(Date.now())) {
      await loadTimeline({ quiet: true });
    }
  }, REFRESH_MS);

  ctx.onLeave(() => {
    left = true;
    offEvents();
    poll.stop();
    player.destroy();
    link.stop();
  });
  return root;
}
