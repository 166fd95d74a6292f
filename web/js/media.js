// media.js — recorded video in the browser: the signed playback link (renewed before it
// expires), the server's HLS playlists, the codec of an fMP4 init segment, and a player that
// feeds init and media segments to a <video> through Media Source Extensions while keeping a
// map from media time to wall-clock time. Where MSE is missing but the browser plays HLS
// itself (Safari on iPhone), the playlist goes to the <video> as it is.

import { ApiError, recordings } from './api.js';

/** Renew a link this long before it expires. */
const RENEW_MARGIN_MS = 60_000;
/** The lifetime assumed when the browser's clock disagrees with the server's expiry time. */
const FALLBACK_TTL_MS = 14 * 60_000;
/** Buffer this many seconds ahead of the playhead; drop what lies further behind it. */
const AHEAD_S = 30;
const BEHIND_S = 30;
/** Used when an init segment carries no readable `avcC` box. */
const DEFAULT_CODEC = 'avc1.42c01e';

/**
 * Parses an HLS media playlist into its segments, in order:
 * `{ uri, durationMs, startMs, init, discontinuity }`. `startMs` is the wall-clock start: the
 * `EXT-X-PROGRAM-DATE-TIME` before the segment, else the previous segment's end. `uri` and
 * `init` are relative to the playlist.
 */
export function parsePlaylist(text) {
  const segments = [];
  let init = null;
  let pdt = null;
  let discontinuity = false;
  let durationMs = 0;
  let next = null;
  for (const raw of String(text).split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#EXT-X-MAP:')) {
      const m = line.match(/URI="([^"]*)"/);
      if (m) init = m[1];
    } else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
      pdt = Date.parse(line.slice('#EXT-X-PROGRAM-DATE-TIME:'.length));
    } else if (line === '#EXT-X-DISCONTINUITY') {
      discontinuity = true;
    } else if (line.startsWith('#EXTINF:')) {
      durationMs = Math.round(parseFloat(line.slice('#EXTINF:'.length)) * 1000) || 0;
    } else if (!line.startsWith('#')) {
      const startMs = Number.isFinite(pdt) ? pdt : next;
      segments.push({ uri: line, durationMs, startMs, init, discontinuity });
      next = startMs == null ? null : startMs + durationMs;
      pdt = null;
      discontinuity = false;
      durationMs = 0;
    }
  }
  return segments;
}

const hex2 = (n) => n.toString(16).padStart(2, '0');

/**
 * The RFC 6381 codec of an H.264 init segment, `avc1.PPCCLL`, read from its `avcC` box
 * (profile, compatibility flags, level follow the version byte); null when there is none.
 */
export function avcCodec(bytes) {
  return boxAt(bytes, 'avcC', (i) => `avc1.${hex2(bytes[i + 5])}${hex2(bytes[i + 6])}${hex2(bytes[i + 7])}`);
}

/** `fn(i)` for the first `name` box type found in `bytes` (`i`: its type's offset), else null. */
function boxAt(bytes, name, fn) {
  const c = [...name].map((ch) => ch.charCodeAt(0));
  for (let i = 4; i + 8 <= bytes.length; i++) {
    if (bytes[i] === c[0] && bytes[i + 1] === c[1] && bytes[i + 2] === c[2] && bytes[i + 3] === c[3]) return fn(i);
  }
  return null;
}

/**
 * The codecs of an init segment for a SourceBuffer: its H.264 video and its audio track, if
 * any (`opus` from a `dOps` box, `mp4a.40.2` from an `esds`: cameras send AAC-LC, and browsers
 * take that string for HE-AAC too): a SourceBuffer refuses an init whose tracks it was not told
 * of. (G.711 has no browser decoder: such a track is not announced and MSE refuses the init.)
 */
export function mediaCodecs(bytes, fallback) {
  const video = avcCodec(bytes) || fallback;
  const audio = boxAt(bytes, 'dOps', () => 'opus') || boxAt(bytes, 'esds', () => 'mp4a.40.2');
  return audio ? `${video},${audio}` : video;
}

const MEDIA_MESSAGES = {
  'no-recording': 'Nothing was recorded at that time.',
  'invalid-link': 'The playback link has expired. Please try again.',
};

async function mediaError(res) {
  let data = null;
  try {
    data = await res.json();
  } catch {
    /* not JSON */
  }
  const code = (data && data.code) || `http-${res.status}`;
  const message =
    MEDIA_MESSAGES[code] ||
    (res.status === 404 ? 'That recording is no longer available.' : 'Could not load the recording. Please try again.');
  return new ApiError(res.status, code, message, null, data);
}

async function get(url) {
  try {
    return await fetch(url, { credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', "Can't reach your Kankan server. Check your connection and try again.");
  }
}

/**
 * A device's signed media link for one purpose (`POST …/recordings/link`: 'playback', 'live'
 * or 'talk'; a link opens nothing else): builds media URLs with its token and renews it
 * shortly before it expires (while the page is visible, else on next use). `onRenew(link)` is
 * told about every new link, so URLs on the page can be refreshed. With `fallback`, a purpose
 * the account may not use on this device (a share without talk) is asked for as `fallback`.
 */
export class MediaLink {
  constructor(uid, { onRenew, purpose = 'playback', fallback = null } = {}) {
    this.uid = uid;
    this.onRenew = onRenew;
    this.purpose = purpose;
    this.fallback = fallback;
    this.link = null;
    this.renewAt = 0;
    this.timer = null;
    this.pending = null;
    this.stopped = false;
    this.onVisible = () => {
      if (!document.hidden && this.link) this.ensure().catch(() => {});
    };
    document.addEventListener('visibilitychange', this.onVisible);
  }

  /** The current link; fetched first when there is none or it is about to expire. */
  async ensure() {
    if (this.link && Date.now() < this.renewAt) return this.link;
    return this.renew();
  }

  /** Asks the server for a new link (one request at a time). */
  renew() {
    if (!this.pending) {
      this.pending = recordings
        .link(this.uid, this.purpose)
        .catch((err) => {
          if (!(this.fallback && err && err.status === 404)) throw err;
          this.purpose = this.fallback;
          this.fallback = null;
          return recordings.link(this.uid, this.purpose);
        })
        .then((link) => {
          const now = Date.now();
          let ttl = Date.parse(link.expires_at) - now;
          // The browser's clock may disagree with the server's: only trust a plausible lifetime.
          if (!(ttl > 2 * RENEW_MARGIN_MS && ttl <= 86_400_000)) ttl = FALLBACK_TTL_MS;
          this.link = link;
          this.renewAt = now + ttl - RENEW_MARGIN_MS;
          clearTimeout(this.timer);
          if (!this.stopped) {
            this.timer = setTimeout(() => {
              if (!document.hidden) this.renew().catch(() => {});
            }, ttl - RENEW_MARGIN_MS);
          }
          if (this.onRenew) this.onRenew(link);
          return link;
        })
        .finally(() => {
          this.pending = null;
        });
    }
    return this.pending;
  }

  /**
   * A same-origin URL under the link's media base with the current token. `path` may be a
   * playlist entry with its own query (`seg/12?t=…`); its token is replaced.
   */
  url(path, params = {}) {
    if (!this.link) throw new Error('no playback link yet');
    const u = new URL(`${this.link.media_base}/${path}`, location.origin);
    for (const [key, value] of Object.entries(params)) u.searchParams.set(key, String(value));
    u.searchParams.set('t', this.link.token);
    return u.pathname + u.search;
  }

  /** Fetches `path` as text or bytes; a link the server calls expired is renewed once. */
  async fetch(path, params, kind = 'bytes') {
    await this.ensure();
    let res = await get(this.url(path, params));
    if (res.status === 403) {
      await this.renew();
      res = await get(this.url(path, params));
    }
    if (!res.ok) throw await mediaError(res);
    return kind === 'text' ? res.text() : new Uint8Array(await res.arrayBuffer());
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    document.removeEventListener('visibilitychange', this.onVisible);
  }
}

/**
 * The browser's Media Source Extensions: ManagedMediaSource where it exists (Safari, also on
 * iPhone), else MediaSource; null without either.
 */
export function mediaSourceClass() {
  return window.ManagedMediaSource || window.MediaSource || null;
}

/** A new media source playing in `video`: `{ ms, url }` (revoke `url` when done). */
export function attachMediaSource(video) {
  const MS = mediaSourceClass();
  const ms = new MS();
  if (MS === window.ManagedMediaSource) {
    // Safari only opens a managed source when remote playback (AirPlay) is off.
    video.disableRemotePlayback = true;
  }
  const url = URL.createObjectURL(ms);
  video.src = url;
  return { ms, url };
}

/** Whether this browser can play recordings at all (MSE, or HLS natively). */
export function canPlay(video) {
  return !!mediaSourceClass() || video.canPlayType('application/vnd.apple.mpegurl') !== '';
}

function once(target, event) {
  return new Promise((resolve) => target.addEventListener(event, resolve, { once: true }));
}

/**
 * Plays windows of recorded footage in `video`. `play({ segments, startMs, playlistUrl })`
 * starts a window (segments from `parsePlaylist`); `wallTime()` is the wall-clock time on
 * screen. Callbacks: `onEnded(endMs)` when a window has played out, `onError(err)`.
 */
export class Player {
  constructor(video, link, { onEnded, onError } = {}) {
    this.video = video;
    this.link = link;
    this.onEnded = onEnded || (() => {});
    this.onError = onError || ((err) => console.error(err));
    this.gen = 0;
    this.native = !mediaSourceClass();
    this.map = [];
    this.reset();
    this.pumpSoon = () => this.pump();
    this.seeking = () => {
      // Back into footage already dropped from the buffer: start the window again there.
      const b = this.sb ? this.sb.buffered : null;
      const wall = this.wallTime();
      if (b && b.length && this.video.currentTime < b.start(0) - 0.1 && wall != null && this.window) {
        this.play({ ...this.window, startMs: wall }).catch((err) => this.onError(err));
      } else {
        this.pump();
      }
    };
    this.ended = () => {
      if (this.segments.length) this.onEnded(this.endMs());
    };
    video.addEventListener('timeupdate', this.pumpSoon);
    video.addEventListener('seeking', this.seeking);
    video.addEventListener('ended', this.ended);
  }

  /** Drops the current window: the <video> is emptied, pending work is abandoned. */
  reset() {
    this.gen += 1;
    this.segments = [];
    this.window = null;
    this.next = 0;
    this.map = [];
    this.pumping = false;
    this.sb = null;
    this.ms = null;
    this.type = null;
    this.initUri = null;
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = null;
    if (this.video.getAttribute('src')) {
      this.video.removeAttribute('src');
      this.video.load();
    }
  }

  destroy() {
    this.reset();
    this.video.removeEventListener('timeupdate', this.pumpSoon);
    this.video.removeEventListener('seeking', this.seeking);
    this.video.removeEventListener('ended', this.ended);
  }

  /** Wall-clock end of the current window (ms), or null. */
  endMs() {
    const last = this.segments.at(-1);
    return last && last.startMs != null ? last.startMs + last.durationMs : null;
  }

  /** The wall-clock time (ms) of the picture on screen, or null when nothing is loaded. */
  wallTime() {
    const t = this.video.currentTime;
    let hit = null;
    for (const m of this.map) {
      if (m.mediaStart <= t + 0.001) hit = m;
      else break;
    }
    return hit && hit.wallStart != null ? hit.wallStart + (t - hit.mediaStart) * 1000 : null;
  }

  /** Starts a window at wall-clock `startMs`; resolves once the first picture is buffered. */
  async play({ segments, startMs, playlistUrl }) {
    this.reset();
    const gen = this.gen;
    this.window = { segments, playlistUrl };
    const first = segments.findLastIndex((s) => s.startMs != null && s.startMs <= startMs);
    this.segments = segments.slice(Math.max(0, first));
    if (!this.segments.length) return;
    this.startMs = startMs;
    if (this.native) {
      // Safari: the browser fetches the playlist itself; the map comes from the durations.
      let at = 0;
      for (const s of segments) {
        this.map.push({ mediaStart: at, wallStart: s.startMs });
        at += s.durationMs / 1000;
      }
      this.segments = segments;
      this.video.src = playlistUrl;
      await once(this.video, 'loadedmetadata');
      if (gen !== this.gen) return;
      const start = this.map.findLast((m) => m.wallStart != null && m.wallStart <= startMs) || this.map[0];
      this.video.currentTime = start.mediaStart + Math.max(0, startMs - start.wallStart) / 1000;
      this.video.play().catch(() => {});
      return;
    }
    ({ ms: this.ms, url: this.objectUrl } = attachMediaSource(this.video));
    await once(this.ms, 'sourceopen');
    if (gen !== this.gen) return;
    await this.pump();
  }

  /** Seconds buffered ahead of the playhead. */
  ahead() {
    const b = this.sb ? this.sb.buffered : null;
    const t = this.video.currentTime;
    if (!b) return 0;
    for (let i = 0; i < b.length; i++) {
      if (b.start(i) <= t + 0.1 && t < b.end(i)) return b.end(i) - t;
    }
    return 0;
  }

  bufferEnd() {
    const b = this.sb ? this.sb.buffered : null;
    return b && b.length ? b.end(b.length - 1) : 0;
  }

  /** Appends (or removes, with `range`) and waits for the SourceBuffer to finish. */
  update(bytes, range = null) {
    const sb = this.sb;
    return new Promise((resolve, reject) => {
      const done = () => {
        sb.removeEventListener('updateend', done);
        sb.removeEventListener('error', failed);
        resolve();
      };
      const failed = () => {
        sb.removeEventListener('updateend', done);
        sb.removeEventListener('error', failed);
        reject(new Error('This browser could not decode the recording.'));
      };
      sb.addEventListener('updateend', done);
      sb.addEventListener('error', failed);
      try {
        if (range) sb.remove(range[0], range[1]);
        else sb.appendBuffer(bytes);
      } catch (err) {
        sb.removeEventListener('updateend', done);
        sb.removeEventListener('error', failed);
        reject(err);
      }
    });
  }

  /** Appends an init segment; the first one creates the SourceBuffer ('sequence' mode). */
  async appendInit(uri, gen) {
    const bytes = await this.link.fetch(uri, {}, 'bytes');
    if (gen !== this.gen) return;
    const type = `video/mp4; codecs="${mediaCodecs(bytes, DEFAULT_CODEC)}"`;
    if (!this.sb) {
      if (!mediaSourceClass().isTypeSupported(type)) {
        throw new Error('This browser cannot play this video format. Download the clip instead.');
      }
      this.sb = this.ms.addSourceBuffer(type);
      // Segments follow each other whatever their own timestamps say: gaps between
      // recordings are skipped, and `map` ties media time back to the wall clock.
      this.sb.mode = 'sequence';
    } else if (type !== this.type && this.sb.changeType) {
      this.sb.changeType(type);
    }
    this.type = type;
    await this.update(bytes);
    this.initUri = uri;
  }

  /** Drops buffered video well behind the playhead, to stay within the browser's quota. */
  async trimBehind(keepS = BEHIND_S) {
    const b = this.sb.buffered;
    const t = this.video.currentTime;
    if (b.length && t - b.start(0) > keepS + 10) await this.update(null, [b.start(0), t - keepS]);
  }

  /** Fetches and appends segments until enough is buffered ahead (one run at a time). */
  async pump() {
    if (this.native || !this.ms || this.pumping) return;
    const gen = this.gen;
    this.pumping = true;
    try {
      while (gen === this.gen && this.next < this.segments.length && this.ahead() < AHEAD_S) {
        const seg = this.segments[this.next];
        if (seg.init && seg.init !== this.initUri) await this.appendInit(seg.init, gen);
        const bytes = await this.link.fetch(seg.uri, {}, 'bytes');
        if (gen !== this.gen) return;
        await this.trimBehind();
        const before = this.bufferEnd();
        try {
          await this.update(bytes);
        } catch (err) {
          if (err.name !== 'QuotaExceededError') throw err;
          await this.trimBehind(2); // full: free what was played and try again on the next tick
          break;
        }
        if (gen !== this.gen) return;
        this.map.push({ mediaStart: before, wallStart: seg.startMs });
        this.next += 1;
        if (this.next === 1) this.start();
      }
      if (gen === this.gen && this.next >= this.segments.length && this.ms.readyState === 'open' && !this.sb.updating) {
        this.ms.endOfStream();
      }
    } catch (err) {
      if (gen === this.gen) this.onError(err);
    } finally {
      if (gen === this.gen) this.pumping = false;
    }
  }

  /** Seeks to the requested moment inside the first segment and starts playing. */
  start() {
    const first = this.map[0];
    const offset = Math.max(0, (this.startMs - (first.wallStart ?? this.startMs)) / 1000);
    this.video.currentTime = Math.min(first.mediaStart + offset, Math.max(0, this.bufferEnd() - 0.1));
    this.video.play().catch(() => {
      /* autoplay refused: the controls are there */
    });
  }
}
