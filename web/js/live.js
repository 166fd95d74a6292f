// live.js — live view. First over WebRTC (webrtc.js: the camera's H.264 as RTP, under a
// second behind, with the camera's sound and the user's microphone for talk; through the
// link's TURN server when the browser cannot reach the server directly); when WebRTC is
// unavailable or refused, ICE fails (no path, not even through TURN), or no picture comes
// within FIRST_FRAME_MS of connecting, over a WebSocket from the
// server (`/media/v1/{uid}/live`) carrying fMP4 (an init segment, the current GOP from its
// keyframe, then each fragment as the camera sends it), fed to a <video> through Media Source
// Extensions. The MSE player stays close to the live edge (it jumps forward when it falls
// behind) and drops old footage from the buffer. Either way the player reconnects with a
// fresh link after the stream ends or the connection fails; the <video>'s `data-transport`
// says which one plays ('webrtc' or 'mse').

import { attachMediaSource, mediaCodecs, mediaSourceClass } from './media.js';
import { WhepSession } from './webrtc.js';

/** Jump to the live edge when more than this is buffered ahead of the playhead (s)... */
const MAX_AHEAD_S = 1.0;
/**
 * ...landing this far behind it, so the next fragment arrives before the buffer runs out
 * (cameras send a fragment per frame: one every 33-66 ms).
 */
const EDGE_S = 0.2;
/** Between the two, play 10% fast until back within this much of the edge (s). */
const CATCH_UP_S = 0.3;
/** Keep this much played footage in the buffer; trim when it grows past `TRIM_S`. */
const KEEP_S = 10;
const TRIM_S = 30;
/** Wait this long before connecting again. */
const RETRY_MS = 3000;
/** A link older than this may have expired: renew it and retry at once on a failed connect. */
const FRESH_MS = 5000;
const DEFAULT_CODEC = 'avc1.42c01e';
/**
 * WebRTC is given up for the WebSocket when no picture is decoded this long after ICE
 * connected. While ICE is still checking (a TURN relay over a slow network takes a few
 * seconds) it is not given up, until the browser says ICE failed or ICE_MS passed.
 */
const FIRST_FRAME_MS = 3000;
/** ICE that has not connected this long after the answer has failed. */
const ICE_MS = 10000;
/** A WebRTC stream that receives nothing this long has ended. */
const STALL_MS = 5000;

/** The `ws:`/`wss:` URL of a same-origin path. */
function wsUrl(path) {
  const u = new URL(path, location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}

/**
 * Watches `link`'s camera live in `video` (`link` is a media.js `MediaLink` for 'live' or
 * 'talk': WebRTC uses it; the WebSocket player takes a 'live' link, `wsLink`, or `link`).
 * `onState(state)` hears 'connecting', 'live', 'ended', 'not-live', 'not-found' (no such device
 * in the account: no retry) and 'unsupported'; `onTransport(t)` hears 'webrtc' or 'mse' as
 * each starts playing. `webrtc: false` goes straight to the WebSocket.
 */
export class LivePlayer {
  constructor(video, link, { stream = 0, onState, onTransport, webrtc = true, wsLink = null } = {}) {
    this.video = video;
    this.link = link;
    this.wsLink = wsLink || link;
    this.stream = stream;
    this.onState = onState || (() => {});
    this.onTransport = onTransport || (() => {});
    this.webrtc = webrtc && typeof window.RTCPeerConnection === 'function';
    this.whep = null;
    this.watchdog = null;
    this.transport = null;
    this.mic = null;
    this.wantMic = false;
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

  setTransport(transport) {
    if (this.transport === transport || this.stopped) return;
    this.transport = transport;
    this.video.dataset.transport = transport;
    this.onTransport(transport);
  }

  /** Starts watching. */
  start() {
    if (this.webrtc) {
      this.connectWebRtc();
      return;
    }
    if (!mediaSourceClass() || !window.WebSocket) {
      this.setState('unsupported');
      return;
    }
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.closeSocket();
    this.closeWhep();
    this.resetMedia();
    this.video.removeEventListener('playing', this.onPlaying);
    this.wantMic = false;
    if (this.mic) this.mic.stop();
    this.mic = null;
  }

  /** Links that failed this long after they were fetched may have expired. */
  linkIsOld() {
    return Date.now() - this.linkAt > FRESH_MS;
  }

  /** A current link, or null when there is none to be had (the state says why). */
  async freshLink(renew) {
    try {
      const before = this.link.link;
      const link = renew ? await this.link.renew() : await this.link.ensure();
      if (link !== before) this.linkAt = Date.now();
      return link;
    } catch (err) {
      if (err && err.status === 401) return null;
      if (err && err.status === 404) {
        this.setState('not-found');
        return null;
      }
      this.retry();
      return null;
    }
  }

  closeWhep() {
    clearInterval(this.watchdog);
    this.watchdog = null;
    if (!this.whep) return;
    const session = this.whep;
    this.whep = null;
    session.close(this.link.link && this.link.link.token);
    if (this.video.srcObject) this.video.srcObject = null;
  }

  /** WebRTC does not work here: the WebSocket from now on. */
  fallBack(why) {
    console.warn('live: WebRTC unavailable, using the WebSocket player:', why);
    this.closeWhep();
    this.webrtc = false;
    if (!mediaSourceClass() || !window.WebSocket) {
      this.setState('unsupported');
      return;
    }
    this.connect();
  }

  async connectWebRtc({ renew = false } = {}) {
    if (this.stopped) return;
    this.closeSocket();
    this.closeWhep();
    if (this.state !== 'not-live' && this.state !== 'ended') this.setState('connecting');
    if (!(await this.freshLink(renew)) || this.stopped) return;
    const session = new WhepSession();
    this.whep = session;
    let media;
    try {
      const url = this.link.url('whep', this.stream ? { stream: this.stream } : {});
      const iceServers = (this.link.link && this.link.link.ice_servers) || [];
      media = await session.start(url, { iceServers, onState: (s) => this.onPeerState(session, s) });
    } catch (err) {
      if (this.whep !== session) return;
      this.closeWhep();
      const code = err && err.code;
      if (code === 'not-live' || code === 'stream-not-started') {
        this.setState('not-live');
        this.retry();
      } else if (code === 'device-not-found') {
        this.setState('not-found');
      } else if (code === 'invalid-link' && this.linkIsOld()) {
        this.connectWebRtc({ renew: true });
      } else {
        this.fallBack(err);
      }
      return;
    }
    if (this.whep !== session || this.stopped) return;
    this.resetMedia();
    this.video.srcObject = media;
    this.video.play().catch(() => {});
    if (this.wantMic && this.mic) session.setMicrophone(this.mic).catch(() => {});
    this.watch(session);
  }

  /**
   * Checks the session's video every second: ICE connected in time, then a first picture in
   * time, then data flowing.
   */
  watch(session) {
    const started = Date.now();
    let connectedAt = 0;
    let bytes = -1;
    let movedAt = Date.now();
    let playing = false;
    this.watchdog = setInterval(async () => {
      let video = null;
      try {
        const stats = await session.pc.getStats();
        stats.forEach((r) => {
          if (r.type === 'inbound-rtp' && r.kind === 'video') video = r;
        });
      } catch {
        return;
      }
      if (this.whep !== session) return;
      const now = Date.now();
      if (!playing) {
        const ice = session.pc.iceConnectionState;
        if (!connectedAt && (ice === 'connected' || ice === 'completed')) connectedAt = now;
        if (video && video.framesDecoded > 0) {
          playing = true;
          this.setTransport('webrtc');
          this.setState('live');
        } else if (!connectedAt && now - started > ICE_MS) {
          this.fallBack('ICE did not connect');
          return;
        } else if (connectedAt && now - connectedAt > FIRST_FRAME_MS) {
          this.fallBack('no picture');
          return;
        }
      }
      const got = video ? video.bytesReceived : 0;
      if (got !== bytes) {
        bytes = got;
        movedAt = now;
      } else if (playing && now - movedAt > STALL_MS) {
        this.closeWhep();
        this.setState('ended');
        this.retry();
      }
    }, 1000);
  }

  onPeerState(session, state) {
    if (this.whep !== session) return;
    if (state === 'failed' || state === 'closed' || state === 'ice-failed') {
      if (this.transport === 'webrtc') {
        // It played: the stream ended or the network dropped. WebRTC again shortly.
        this.closeWhep();
        this.setState('ended');
        this.retry();
      } else {
        this.fallBack(`connection ${state}`);
      }
    }
  }

  /**
   * Sends the microphone to the camera while `on` (WebRTC only; the browser asks the user for
   * the microphone on first use). Resolves false when talk is not possible now.
   */
  async setTalking(on) {
    this.wantMic = on;
    const session = this.whep;
    if (!on) {
      if (session) await session.setMicrophone(null).catch(() => {});
      return true;
    }
    if (!session || this.transport !== 'webrtc') return false;
    if (!this.mic) {
      const media = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true },
      });
      this.mic = media.getAudioTracks()[0] || null;
      if (!this.mic) return false;
    }
    if (this.wantMic && this.whep === session) await session.setMicrophone(this.mic);
    return true;
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
    if (this.stopped) return;
    this.timer = setTimeout(() => (this.webrtc ? this.connectWebRtc() : this.connect()), ms);
  }

  async connect({ renew = false } = {}) {
    if (this.stopped) return;
    this.closeSocket();
    if (this.state !== 'not-live' && this.state !== 'ended') this.setState('connecting');
    let link;
    try {
      const before = this.wsLink.link;
      link = renew ? await this.wsLink.renew() : await this.wsLink.ensure();
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
    const ws = new WebSocket(wsUrl(this.wsLink.url('live', this.stream ? { stream: this.stream } : {})));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let opened = false;
    let initNext = true;
    ws.onopen = () => {
      opened = true;
      this.setTransport('mse');
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
    if (this.video.srcObject) this.video.srcObject = null;
    if (this.video.getAttribute('src')) {
      this.video.removeAttribute('src');
      this.video.load();
    }
  }

  /** A new init segment: a fresh (Managed)MediaSource with a SourceBuffer for its codec. */
  startMedia(init) {
    this.resetMedia();
    const { ms, url } = attachMediaSource(this.video);
    this.ms = ms;
    this.queue = [init];
    this.objectUrl = url;
    ms.onsourceopen = () => {
      if (this.ms !== ms) return;
      const type = `video/mp4; codecs="${mediaCodecs(init, DEFAULT_CODEC)}"`;
      if (!mediaSourceClass().isTypeSupported(type)) {
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
      // Drift back to the edge without a visible jump.
      const rate = end - this.video.currentTime > CATCH_UP_S ? 1.1 : 1;
      if (this.video.playbackRate !== rate) this.video.playbackRate = rate;
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
