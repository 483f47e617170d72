// Audio and video calls in the browser (docs/protocol.md §7), shared by the
// citizen widget and the nurse console. No views here (only a few helpers for
// them at the end): the views listen for "change" and read the session's fields.
//
// The rules this module keeps:
// - no media before consent: a CallSession starts the camera and microphone
//   only once the server says the call is accepted;
// - the staff side always makes the offers (also for an ICE restart), the
//   citizen side always answers;
// - the ICE servers come from the server for each call (call_ice_servers);
//   there is no default STUN server, the list is passed even when empty;
// - signaling frames of one call are handled one at a time, in order, and
//   remote candidates wait until the remote description is set;
// - sdp and ice frames for calls this page holds no session for are ignored
//   (another tab of the same person may be the one in the call).

export const LIVE = new Set(["proposed", "accepted", "negotiating", "connected"]);
export const MEDIA = new Set(["accepted", "negotiating", "connected"]);
export const OVER = new Set(["ended", "declined", "failed"]);

const RESTART_AFTER_MS = 4000; // "disconnected" this long: restart ICE
const MAX_RESTARTS = 3;
const GIVE_UP_MS = 30000; // media lost this long (restarts included): the call has failed
const GATHER_WITHIN_MS = 4000; // the echo test waits this long for its candidates
const ECHO_VERDICT_MS = 10000;
let refs = 0;

// Should `frame` replace `known` as the case's call? Keep the highest v of a call;
// a late frame of an older call never hides a live one.
export function isNewer(known, frame) {
  if (!known) return true;
  if (known.call === frame.call) return frame.v > known.v;
  return !(LIVE.has(known.state) && !LIVE.has(frame.state));
}

// The camera and microphone of this device, {audio: [...], video: [...]}. Before the
// person has allowed them, labels (and sometimes ids) are empty: callers name them.
export async function listDevices() {
  const out = { audio: [], video: [] };
  if (!navigator.mediaDevices?.enumerateDevices) return out;
  try {
    for (const device of await navigator.mediaDevices.enumerateDevices()) {
      if (device.kind === "audioinput") out.audio.push(device);
      else if (device.kind === "videoinput") out.video.push(device);
    }
  } catch {
    // no list: the browser's default devices are used
  }
  return out;
}

// getUserMedia constraints for a call of `media` ("audio" or "video") with chosen device ids.
export function mediaConstraints(media, devices = {}) {
  const audio = devices.audio ? { deviceId: devices.audio } : true;
  const video = media === "video" ? (devices.video ? { deviceId: devices.video } : true) : false;
  return { audio, video };
}

async function getMedia(media, devices) {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error("no media devices");
  return navigator.mediaDevices.getUserMedia(mediaConstraints(media, devices));
}

// Bytes received (and sent) per kind, summed over the connection's RTP streams.
export async function rtpBytes(pc) {
  const out = { audioBytesReceived: 0, videoBytesReceived: 0, audioBytesSent: 0, videoBytesSent: 0 };
  if (!pc || pc.signalingState === "closed") return out;
  const report = await pc.getStats();
  report.forEach((entry) => {
    const kind = entry.kind || entry.mediaType;
    if (kind !== "audio" && kind !== "video") return;
    if (entry.type === "inbound-rtp") out[`${kind}BytesReceived`] += entry.bytesReceived || 0;
    else if (entry.type === "outbound-rtp") out[`${kind}BytesSent`] += entry.bytesSent || 0;
  });
  return out;
}

function stopStream(stream) {
  for (const track of stream?.getTracks() || []) track.stop();
}

// One call as seen from this page. Events: "change" (state, phase or tracks changed).
//
// phase: "waiting" (not accepted yet) → "media" (starting camera and microphone) →
// "connecting" → "connected" ⇄ "reconnecting"; finally "ended" or "failed".
export class CallSession extends EventTarget {
  /**
   * @param {object} options
   * @param {import("./hub.js").Hub} options.hub
   * @param {object} options.call the call frame this page acted on (proposed)
   * @param {"offerer"|"answerer"} options.role offerer on the staff side, answerer on the citizen's
   * @param {{audio?: string, video?: string}} [options.devices] chosen device ids ("" = default)
   */
  constructor({ hub, call, role, devices = {} }) {
    super();
    this.hub = hub;
    this.caseId = call.case;
    this.id = call.call;
    this.media = call.media;
    this.role = role;
    this.devices = { ...devices };
    this.call = call; // the newest call frame
    this.phase = "waiting";
    this.failure = ""; // devices, ice or media when this page gave up
    this.pc = null;
    this.local = null;
    this.remote = new MediaStream();
    this.muted = false;
    this.cameraOff = false;
    this.restarts = 0;
    this.connectedAt = 0;
    this.disconnectTimer = null;
    this.lostTimer = null;
    this.restartPending = false;
    this.closed = false;
    this.started = false;
    this.reportedFor = -1; // `restarts` of the call for which we reported "connected"
    this.remoteCandidates = []; // wait for the remote description
    this.localCandidates = null; // wait for our own description to go out (null: send at once)
    this.outbox = []; // frames waiting for the socket
    this.ref = `call${++refs}`;
    this.chain = Promise.resolve();
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.onHubFrame = (event) => this.route(event.detail.frame);
    // after the hub's own rejoins (sent in the same turn as "open"): the server wants the join first
    this.onHubState = () => setTimeout(() => this.flush(), 0);
    hub.addEventListener("frame", this.onHubFrame);
    hub.addEventListener("state", this.onHubState);
    this.accept(call);
  }

  get ids() {
    return { case: this.caseId, call: this.id };
  }

  // -- frames from the server ---------------------------------------------------------

  route(frame) {
    if (this.closed) return;
    if (frame.t === "error") {
      if (frame.ref && frame.ref.startsWith(`${this.ref}:`)) this.onError(frame);
      return;
    }
    if (frame.call !== this.id || frame.case !== this.caseId) return;
    if (frame.t === "call") this.accept(frame);
    else if (frame.t === "sdp" || frame.t === "ice") this.signal(frame);
  }

  accept(frame) {
    if (frame !== this.call && frame.v <= this.call.v) return;
    this.call = frame;
    if (OVER.has(frame.state)) return this.close(frame.state === "failed" ? "failed" : "ended");
    if (MEDIA.has(frame.state) && !this.started) this.start();
    this.report();
    this.changed();
  }

  // A refused offer or answer: the call cannot go on. A refused candidate is harmless, and a
  // refused report or hang-up means the call has moved on already (its call frame tells how).
  onError(frame) {
    if (frame.ref.endsWith(":sdp")) this.fail("media");
  }

  signal(frame) {
    this.chain = this.chain
      .then(() => this.ready)
      .then(() => (frame.t === "sdp" ? this.onSdp(frame) : this.onIce(frame)))
      .catch(() => this.fail("media"));
  }

  async onSdp(frame) {
    const pc = this.pc;
    if (!pc || this.closed) return;
    if (frame.kind === "offer" && this.role === "answerer") {
      await pc.setRemoteDescription({ type: "offer", sdp: frame.sdp });
      await this.addRemoteCandidates();
      this.localCandidates = this.localCandidates || [];
      await pc.setLocalDescription(await pc.createAnswer());
      this.send({ t: "sdp", kind: "answer", sdp: pc.localDescription.sdp });
      this.releaseCandidates();
    } else if (frame.kind === "answer" && this.role === "offerer" && pc.signalingState === "have-local-offer") {
      await pc.setRemoteDescription({ type: "answer", sdp: frame.sdp });
      await this.addRemoteCandidates();
      if (this.restartPending) await this.restartNow();
    }
  }

  async onIce(frame) {
    const candidate = { candidate: frame.candidate, sdpMid: frame.mid, sdpMLineIndex: frame.mline };
    if (!frame.candidate) {
      candidate.sdpMid = null; // end of candidates, for every section
      candidate.sdpMLineIndex = null;
    }
    if (!this.pc?.remoteDescription) this.remoteCandidates.push(candidate);
    else await this.addCandidate(candidate);
  }

  async addRemoteCandidates() {
    const waiting = this.remoteCandidates;
    this.remoteCandidates = [];
    for (const candidate of waiting) await this.addCandidate(candidate);
  }

  async addCandidate(candidate) {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch {
      // a candidate of an earlier ICE generation, or an end marker the browser does not take
    }
  }

  // -- the peer connection ------------------------------------------------------------

  async start() {
    this.started = true;
    this.phase = "media";
    this.changed();
    try {
      await this.setup();
    } catch {
      this.fail("media");
    } finally {
      this.markReady();
    }
  }

  async setup() {
    const servers = await this.iceServers();
    if (this.closed) return;
    try {
      this.local = await getMedia(this.media, this.devices);
    } catch {
      return this.fail("devices");
    }
    if (this.closed) return stopStream(this.local);
    this.applyTrackFlags();
    const pc = new RTCPeerConnection({ iceServers: servers });
    this.pc = pc;
    for (const track of this.local.getTracks()) pc.addTrack(track, this.local);
    pc.addEventListener("track", (event) => {
      // a new stream object, so a view sees the change by identity
      this.remote = new MediaStream([...this.remote.getTracks(), event.track]);
      this.changed();
    });
    pc.addEventListener("icecandidate", (event) => this.onLocalCandidate(event.candidate));
    pc.addEventListener("connectionstatechange", () => this.onConnectionState());
    pc.addEventListener("iceconnectionstatechange", () => this.onIceState());
    this.phase = "connecting";
    this.changed();
    if (this.role === "offerer") await this.offer();
  }

  // The ICE servers for this call (TURN credentials are per call and per person).
  async iceServers() {
    try {
      const reply = await this.hub.request({ t: "call_ice_servers", ...this.ids }, "ice_servers", 8000);
      if (reply.t === "ice_servers" && Array.isArray(reply.servers)) return reply.servers;
    } catch {
      // no answer: try without; host candidates are enough on one network
    }
    return [];
  }

  async offer({ restart = false } = {}) {
    const pc = this.pc;
    if (!pc || this.closed) return;
    if (restart) pc.restartIce();
    this.localCandidates = this.localCandidates || [];
    await pc.setLocalDescription(await pc.createOffer());
    this.send({ t: "sdp", kind: "offer", sdp: pc.localDescription.sdp });
    this.releaseCandidates();
  }

  // Trickle ICE. A candidate found before our description went out waits for it.
  onLocalCandidate(candidate) {
    const frame = {
      t: "ice",
      candidate: candidate?.candidate || "",
      mid: candidate?.sdpMid || "",
      mline: candidate?.sdpMLineIndex || 0,
    };
    if (!frame.candidate) frame.mid = "";
    if (this.localCandidates) this.localCandidates.push(frame);
    else this.send(frame);
  }

  releaseCandidates() {
    const waiting = this.localCandidates || [];
    this.localCandidates = null;
    for (const frame of waiting) this.send(frame);
  }

  onConnectionState() {
    const state = this.pc.connectionState;
    if (state === "connected") {
      clearTimeout(this.lostTimer);
      this.lostTimer = null;
      if (!this.connectedAt) this.connectedAt = Date.now();
      this.phase = "connected";
      this.report();
    } else if ((state === "disconnected" || state === "failed") && this.connectedAt) {
      this.phase = "reconnecting";
      // The offerer restarts ICE meanwhile; if the other side is gone for good, neither waits forever.
      if (!this.lostTimer) this.lostTimer = setTimeout(() => this.fail("ice"), GIVE_UP_MS);
    }
    this.changed();
  }

  // The offerer restarts ICE when the path fails, or stays disconnected for a while.
  onIceState() {
    clearTimeout(this.disconnectTimer);
    if (this.role !== "offerer" || this.closed) return;
    const state = this.pc.iceConnectionState;
    if (state === "failed") this.restartOrFail();
    else if (state === "disconnected") this.disconnectTimer = setTimeout(() => this.restartOrFail(), RESTART_AFTER_MS);
  }

  restartOrFail() {
    if (this.closed) return;
    if (this.restarts >= MAX_RESTARTS) return this.fail("ice");
    this.restartIce();
  }

  /** Restart ICE with a new offer (offerer only); the citizen's page answers it. */
  restartIce() {
    if (this.role !== "offerer" || !this.pc || this.closed) return false;
    this.chain = this.chain.then(() => this.restartNow()).catch(() => this.fail("media"));
    return true;
  }

  // One offer at a time: while one waits for its answer, the restart waits for that answer.
  async restartNow() {
    if (this.closed) return;
    this.restartPending = this.pc.signalingState !== "stable";
    if (this.restartPending) return;
    this.restarts += 1;
    await this.offer({ restart: true });
  }

  // "connected" once per connection (again after an ICE restart has moved the server's state back).
  report() {
    if (this.closed || this.pc?.connectionState !== "connected") return;
    const state = this.call.state;
    if (state === "connected" || !MEDIA.has(state)) return;
    const round = this.call.restarts || 0;
    if (this.reportedFor === round) return;
    this.reportedFor = round;
    this.send({ t: "call_report", state: "connected" });
  }

  // -- the person's controls --------------------------------------------------------------

  setMuted(muted) {
    this.muted = muted;
    this.applyTrackFlags();
    this.changed();
  }

  setCameraOff(off) {
    this.cameraOff = off;
    this.applyTrackFlags();
    this.changed();
  }

  applyTrackFlags() {
    for (const track of this.local?.getAudioTracks() || []) track.enabled = !this.muted;
    for (const track of this.local?.getVideoTracks() || []) track.enabled = !this.cameraOff;
  }

  hangup() {
    if (this.closed) return;
    this.send({ t: "call_hangup" });
    this.close("ended");
  }

  // Give up: tell the server why, and let the chat carry on.
  fail(reason) {
    if (this.closed) return;
    this.failure = reason;
    this.send({ t: "call_report", state: "failed", reason });
    this.close("failed");
  }

  close(phase = "ended") {
    if (this.closed) return;
    this.closed = true;
    this.phase = phase;
    clearTimeout(this.disconnectTimer);
    clearTimeout(this.lostTimer);
    this.hub.removeEventListener("frame", this.onHubFrame);
    this.hub.removeEventListener("state", this.onHubState);
    stopStream(this.local);
    if (this.pc) this.pc.close();
    this.markReady();
    this.changed();
  }

  /** Bytes received per kind: {audioBytesReceived, videoBytesReceived, audioBytesSent, videoBytesSent}. */
  stats() {
    return rtpBytes(this.pc);
  }

  // -- sending ----------------------------------------------------------------------------

  send(fields) {
    const frame = { ...fields, ...this.ids, ref: `${this.ref}:${fields.t}` };
    if (!this.hub.raw(frame)) this.outbox.push(frame);
  }

  flush() {
    if (this.hub.state !== "open") return;
    const waiting = this.outbox;
    this.outbox = [];
    for (const frame of waiting) if (!this.hub.raw(frame)) this.outbox.push(frame);
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }
}

// The pre-call test: the browser sends its camera and microphone to the server's echo
// peer (POST /api/calltest) and gets them back. Events: "change".
//
// phase: "starting" → "testing" → "ok" | "failed" (failure: devices, busy, connection,
// no_media); "stopped" after stop().
export class EchoTest extends EventTarget {
  constructor({ api, iceServers = [], devices = {} }) {
    super();
    this.api = api;
    this.iceServers = iceServers;
    this.devices = { ...devices };
    this.phase = "starting";
    this.failure = "";
    this.pc = null;
    this.local = null;
    this.remote = new MediaStream();
    this.stopped = false;
    this.posted = false;
    this.timers = [];
  }

  async start() {
    try {
      this.local = await getMedia("video", this.devices);
    } catch {
      return this.finish("failed", "devices");
    }
    if (this.stopped) return stopStream(this.local);
    this.changed();
    try {
      await this.connect();
    } catch (err) {
      return this.finish("failed", err.status === 429 || err.status === 503 ? "busy" : "connection");
    }
    if (this.stopped) return;
    this.phase = "testing";
    this.changed();
    this.deadline = Date.now() + ECHO_VERDICT_MS;
    this.poll();
  }

  async connect() {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    this.pc = pc;
    for (const track of this.local.getTracks()) pc.addTrack(track, this.local);
    pc.addEventListener("track", (event) => {
      this.remote = new MediaStream([...this.remote.getTracks(), event.track]);
      this.changed();
    });
    await pc.setLocalDescription(await pc.createOffer());
    await this.gathered(pc);
    if (this.stopped) return;
    this.posted = true;
    const answer = await this.api.call("POST", "/api/calltest", { type: "offer", sdp: pc.localDescription.sdp });
    if (this.stopped) return;
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    // the server ends the test after expires_in_s: end it here too
    const ms = Math.max(5, answer.expires_in_s || 60) * 1000;
    this.timers.push(setTimeout(() => this.stop(), ms));
  }

  // The server takes a complete offer (no trickle): wait for the candidates, within reason.
  gathered(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        pc.removeEventListener("icegatheringstatechange", check);
        resolve();
      };
      const check = () => pc.iceGatheringState === "complete" && done();
      const timer = setTimeout(done, GATHER_WITHIN_MS);
      pc.addEventListener("icegatheringstatechange", check);
    });
  }

  async poll() {
    if (this.stopped || this.phase !== "testing") return;
    const bytes = await this.stats();
    if (bytes.audioBytesReceived > 0 && bytes.videoBytesReceived > 0) return this.finish("ok");
    if (Date.now() > this.deadline) {
      return this.finish("failed", this.pc?.connectionState === "connected" ? "no_media" : "connection");
    }
    this.timers.push(setTimeout(() => this.poll(), 500));
  }

  finish(phase, failure = "") {
    if (this.stopped) return;
    this.phase = phase;
    this.failure = failure;
    if (phase === "failed") this.release();
    this.changed();
  }

  // Camera and microphone off, the connection closed, the server's echo peer ended.
  release() {
    for (const timer of this.timers) clearTimeout(timer);
    stopStream(this.local);
    if (this.pc) this.pc.close();
    this.pc = null;
    if (this.posted) this.api.call("DELETE", "/api/calltest").catch(() => {});
    this.posted = false;
  }

  stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.release();
    this.phase = "stopped";
    this.changed();
  }

  stats() {
    return rtpBytes(this.pc);
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }
}

// -- small helpers for the two views ---------------------------------------------------------

// "01:23", or "1:02:03" past the hour.
export function callClock(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const [hours, minutes, seconds] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  const two = (n) => String(n).padStart(2, "0");
  return hours ? `${hours}:${two(minutes)}:${two(seconds)}` : `${two(minutes)}:${two(seconds)}`;
}

// Options for a device <select>: the browser's label, or "Kamera 1" while labels are hidden.
export function deviceOptions(devices, name, fallback) {
  if (!devices.length) return [{ value: "", label: fallback }];
  return devices.map((device, i) => ({ value: device.deviceId, label: device.label || name(i + 1) }));
}

// The client config's ice_servers as RTCIceServer objects (URLs may come as plain strings).
export function iceServerList(list) {
  return (Array.isArray(list) ? list : []).map((entry) => (typeof entry === "string" ? { urls: entry } : entry));
}

// Rebuild a view without losing keyboard focus: an element with the same data-focus
// takes it back; when it is gone, the view's first heading does (WCAG 2.4.3).
export function keepFocus(root, rebuild) {
  const active = document.activeElement;
  const inside = active && active !== document.body && root.contains(active);
  const key = inside ? active.dataset.focus : "";
  rebuild();
  if (!inside || root.contains(active)) return;
  const again = key && root.querySelector(`[data-focus="${key}"]`);
  const target = again && !again.disabled ? again : root.querySelector("h2, h3");
  if (target) target.focus();
}

// Point a media element at a stream (only when it changed: a reassignment restarts playback).
export function play(element, stream) {
  if (element.srcObject !== stream) element.srcObject = stream;
}
