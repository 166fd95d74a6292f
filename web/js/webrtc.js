// webrtc.js — live view over WebRTC with WHEP-style signalling: the complete offer (ICE
// gathering finished, no trickle) is POSTed as application/sdp to `/media/v1/{uid}/whep?t=…`;
// the server answers 201 with its SDP answer and the session's Location, which a DELETE (with
// the token again) ends. Video only comes in; the audio transceiver goes both ways as G.711
// (PCMU): the camera's microphone plays through the <video>, and the user's microphone is
// sent only while a track is set (`setMicrophone`), so an idle session sends no audio at all.

/** Gathering is not waited for longer than this; what was found by then is offered. */
const GATHER_MS = 2000;
/**
 * Once a relay (TURN) candidate is in, gathering is waited for only this much longer: where
 * UDP is blocked the TURN allocation over UDP never finishes, and the one over TCP or TLS is
 * enough to connect.
 */
const AFTER_RELAY_MS = 250;

/** A refused offer: the HTTP status and the server's error code. */
export class WhepError extends Error {
  constructor(status, code, message) {
    super(message || `WHEP ${status}`);
    this.status = status;
    this.code = code || null;
  }
}

/** Resolves once `pc` has gathered its candidates (or after GATHER_MS, or AFTER_RELAY_MS). */
function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    let relayTimer = null;
    const done = () => {
      clearTimeout(timer);
      clearTimeout(relayTimer);
      pc.removeEventListener('icegatheringstatechange', check);
      pc.removeEventListener('icecandidate', candidate);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const candidate = (event) => {
      if (!relayTimer && event.candidate && event.candidate.type === 'relay') {
        relayTimer = setTimeout(done, AFTER_RELAY_MS);
      }
    };
    const timer = setTimeout(done, GATHER_MS);
    pc.addEventListener('icegatheringstatechange', check);
    pc.addEventListener('icecandidate', candidate);
  });
}

/** One WHEP session. */
export class WhepSession {
  constructor() {
    this.pc = null;
    this.audio = null;
    this.location = null;
    this.stream = new MediaStream();
    this.closed = false;
  }

  /**
   * Offers to `url` (the whep URL with its token) and applies the answer; resolves with the
   * MediaStream the camera's tracks arrive on. `onState(state)` hears the connection state,
   * and 'closed' when the server ends the session; `iceServers` are the link's.
   */
  async start(url, { onState, iceServers = [] } = {}) {
    // `iceServers` come with the link (STUN, TURN with a credential made for it): a browser
    // behind a NAT or a firewall that drops UDP relays through the TURN server.
    const pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
    this.pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    this.audio = pc.addTransceiver('audio', { direction: 'sendrecv' });
    // The server's goodbye (DTLS close_notify, RTCP BYE: a revoked viewer, an ended stream)
    // leaves the connection state "connected"; the DTLS transport closing and the track
    // ending say it at once.
    const ended = () => {
      if (onState && !this.closed) onState('closed');
    };
    pc.ontrack = (event) => {
      if (!this.stream.getTracks().includes(event.track)) this.stream.addTrack(event.track);
      if (event.track.kind === 'video') event.track.addEventListener('ended', ended);
      const dtls = event.receiver && event.receiver.transport;
      if (dtls && !this.watched) {
        this.watched = true;
        dtls.addEventListener('statechange', () => {
          if (dtls.state === 'closed' || dtls.state === 'failed') ended();
        });
      }
    };
    pc.onconnectionstatechange = () => {
      if (onState && !this.closed) onState(pc.connectionState);
    };
    pc.oniceconnectionstatechange = () => {
      if (onState && !this.closed && pc.iceConnectionState === 'failed') onState('ice-failed');
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    if (this.closed) throw new WhepError(0, 'closed', 'closed');
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: pc.localDescription.sdp,
      credentials: 'same-origin',
    });
    if (res.status !== 201) {
      let body = {};
      try {
        body = await res.json();
      } catch {
        /* not JSON */
      }
      throw new WhepError(res.status, body.code, body.message);
    }
    this.location = res.headers.get('Location');
    const answer = await res.text();
    if (this.closed) throw new WhepError(0, 'closed', 'closed');
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    return this.stream;
  }

  /** Sends `track` (a microphone) to the camera, or nothing with `null`. */
  async setMicrophone(track) {
    if (this.audio && !this.closed) await this.audio.sender.replaceTrack(track);
  }

  /** Ends the session; `token` authorizes the DELETE. */
  close(token) {
    if (this.closed) return;
    this.closed = true;
    if (this.pc) this.pc.close();
    if (this.location && token) {
      const u = new URL(this.location, location.origin);
      u.searchParams.set('t', token);
      fetch(u.pathname + u.search, { method: 'DELETE', credentials: 'same-origin', keepalive: true }).catch(() => {});
    }
  }
}
