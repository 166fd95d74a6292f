// live.js — live view: a WebSocket from the server (`/media/v1/{uid}/live`) carrying fMP4
// (an init segment, the current GOP from its keyframe, then each fragment as the camera sends
// it), fed to a <video> through Media Source Extensions. The player stays close to the live
// edge (it jumps forward when it falls behind), drops old footage from the buffer, and
// reconnects with a fresh link after the stream ends or the connection fails.

import { avcCodec } from './media.js';

/** Jump to the live edge when more than this is buffered ahead of the playhead (s)... */
const MAX_AHEAD_S = 1.5;
/** ...landing this far behind it, so the next fragment arrives before the buffer runs out. */
const EDGE_S = 0.5;
/** Keep this much played footage in the buffer; trim when it grows past `TRIM_S`. */
const KEEP_S = 10;
const TRIM_S = 30;
/** Wait this long before connecting again. */
const RETRY_MS = 3000;
/** A link older than this may have expired: renew it and retry at once on a failed connect. */
const FRESH_MS = 5000;
const DEFAULT_CODEC = 'avc1.42c01e';

/** The `ws:`/`wss:` URL of a same-origin path. */
function wsUrl(path) {
  const u = new URL(path, location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}

/**
 * Watches `link`'s camera live in `video` (`link` is a media.js `MediaLink`).
 * `onState(state)` hears 'connecting', 'live', 'ended', 'not-live', 'not-found' (no such device
 * in the account: no retry) and 'unsupported'.
 */
export class LivePlayer {
  constructor(video, link, { stream = 0, onState } = {}) {
    this.video = video;
    this.link = link;
    this.stream = stream;
    this.onState = onState || (() => {});
    this.ws = null;
    this.timer = null;
    this.stopped = false;
    this.linkAt = 0;
    this.state = null;
    this.resetMedia();
    this.onPlaying = () => this.setState('live');
    video.addEventListener('playing', this.onPlaying);
  }

  setState(state) {
    if (this.state === state || this.stopped) return;
    this.state = state;
    this.onState(state);
  }

  /** Starts watching. */
  start() {
    if (!window.MediaSource || !window.WebSocket) {
      this.setState('unsupported');
      return;
    }
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.closeSocket();
    this.resetMedia();
    this.video.removeEventListener('playing', this.onPlaying);
  }

  closeSocket() {
    if (!this.ws) return;
    const ws = this.ws;
    this.ws = null;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    if (ws.readyState <= WebSocket.OPEN) ws.close(1000);
  }

  retry(ms = RETRY_MS) {
    clearTimeout(this.timer);
    if (!this.stopped) this.timer = setTimeout(() => this.connect(), ms);
  }

  async connect({ renew = false } = {}) {
    if (this.stopped) return;
    this.closeSocket();
    if (this.state !== 'not-live' && this.state !== 'ended') this.setState('connecting');
    let link;
    try {
      const before = this.link.link;
      link = renew ? await this.link.renew() : await this.link.ensure();
      if (link !== before) this.linkAt = Date.now();
    } catch (err) {
      if (err && err.status === 401) return;
      if (err && err.status === 404) {
        this.setState('not-found');
        return;
      }
      this.retry();
      return;
    }
    if (this.stopped) return;
    const ws = new WebSocket(wsUrl(this.link.url('live', this.stream ? { stream: this.stream } : {})));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let opened = false;
    let initNext = true;
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (event) => {
      if (typeof event.data === 'string') {
        let msg = null;
        try {
          msg = JSON.parse(event.data);
        } catch {
          /* not JSON */
        }
        if (msg && msg.type === 'init') initNext = true;
        return;
      }
      const bytes = new Uint8Array(event.data);
      if (initNext) {
        initNext = false;
        this.startMedia(bytes);
      } else {
        this.push(bytes);
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (opened) {
        // The stream ended (1000 "ended") or the connection dropped: start over shortly.
        this.setState('ended');
        this.retry();
      } else if (Date.now() - this.linkAt > FRESH_MS) {
        // Refused before the upgrade with an older link: it may have expired.
        this.connect({ renew: true });
      } else {
        // Refused with a fresh link: the camera is not streaming (404 not-live).
        this.setState('not-live');
        this.retry();
      }
    };
  }

  /** Empties the <video>. */
  resetMedia() {
    this.queue = [];
    this.sb = null;
    if (this.ms) {
      this.ms.onsourceopen = null;
      this.ms = null;
    }
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = null;
    if (this.video.getAttribute('src')) {
      this.video.removeAttribute('src');
      this.video.load();
    }
  }

  /** A new init segment: a fresh MediaSource with a SourceBuffer for its codec. */
  startMedia(init) {
    this.resetMedia();
    const ms = new MediaSource();
    this.ms = ms;
    this.queue = [init];
    this.objectUrl = URL.createObjectURL(ms);
    this.video.src = this.objectUrl;
    ms.onsourceopen = () => {
      if (this.ms !== ms) return;
      const type = `video/mp4; codecs="${avcCodec(init) || DEFAULT_CODEC}"`;
      if (!MediaSource.isTypeSupported(type)) {
        this.setState('unsupported');
        this.stop();
        return;
      }
      const sb = ms.addSourceBuffer(type);
      // Fragments follow each other whatever their timestamps: the view starts at 0 and a
      // skip (a viewer that fell behind) leaves no gap.
      sb.mode = 'sequence';
      sb.addEventListener('updateend', () => this.afterUpdate(sb));
      this.sb = sb;
      this.feed();
    };
  }

  push(bytes) {
    if (!this.ms) return; // no init segment yet
    this.queue.push(bytes);
    this.feed();
  }

  /** Appends the next queued piece, or trims the buffer, when the SourceBuffer is idle. */
  feed() {
    const sb = this.sb;
    if (!sb || sb.updating || !this.ms || this.ms.readyState !== 'open') return;
    const b = sb.buffered;
    const t = this.video.currentTime;
    try {
      if (b.length && t - b.start(0) > TRIM_S) {
        sb.remove(b.start(0), t - KEEP_S);
      } else if (this.queue.length) {
        sb.appendBuffer(this.queue.shift());
      }
    } catch (err) {
      if (err.name === 'QuotaExceededError' && b.length && t - b.start(0) > 1) {
        sb.remove(b.start(0), t - 1);
      } else {
        console.error(err);
        this.closeSocket();
        this.resetMedia();
        this.setState('ended');
        this.retry();
      }
    }
  }

  afterUpdate(sb) {
    if (sb !== this.sb) return;
    const b = sb.buffered;
    if (b.length) {
      const end = b.end(b.length - 1);
      const t = this.video.currentTime;
      if (end - t > MAX_AHEAD_S || t < b.start(0)) {
        this.video.currentTime = Math.max(b.start(0), end - EDGE_S);
      }
      if (this.video.paused) this.video.play().catch(() => {});
    }
    this.feed();
  }

  /** Seconds between the newest buffered picture and the one on screen. */
  behind() {
    const b = this.sb ? this.sb.buffered : null;
    return b && b.length ? b.end(b.length - 1) - this.video.currentTime : 0;
  }
}
