// The browser side of the hub socket (docs/protocol.md), JSON subprotocol.
//
// Nothing lost, nothing twice:
// - every send has a client id (cid) and stays pending until its ack; after a
//   reconnect pending sends go again with the same cid (the server answers a
//   retry with the stored id and dup: true);
// - for every followed case we keep (epoch, last id) and rejoin with them, so
//   the server replays exactly the gap; entries are handed on once, by id;
// - history_lost resets a case: the UI clears it and receives the new epoch.
//
// Events (EventTarget): "state" {state}, "frame" {frame}, "history_lost" {case}.
// States: connecting, open, reconnecting, ended (logged out or session over).

const PROTOCOL = "direkt.v1.json";
const PING_EVERY_MS = 15000;
const PONG_WITHIN_MS = 10000;
const BACKOFF_MS = [250, 1000, 2000, 4000, 8000];
const SESSION_ENDED = 4001;

// Stream ids "ms-seq" in order.
export function compareIds(a, b) {
  const [am, as] = a.split("-").map(Number);
  const [bm, bs] = b.split("-").map(Number);
  return am - bm || as - bs;
}

function newCid() {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return "w" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Hub extends EventTarget {
  constructor(api) {
    super();
    this.api = api;
    this.ws = null;
    this.state = "connecting";
    this.cursors = new Map(); // case -> {epoch, last}
    this.pending = new Map(); // cid -> {frame, resolve, reject}
    this.resendQueue = []; // cids still to send again in this round (resendPending)
    this.resendTimer = null;
    this.requests = new Map(); // ref -> {reply, resolve, reject}
    this.attempt = 0;
    this.refs = 0;
    this.connecting = false;
    this.stopped = true; // until start(): an "online" event must not connect a hub nobody started
    this.pingTimer = null;
    this.pongTimer = null;
    this.welcome = null;
    window.addEventListener("online", () => this.reconnectNow());
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.setState("ended");
    if (this.ws) this.ws.close(1000, "bye");
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state } }));
  }

  async connect() {
    if (this.stopped) return;
    this.setState(this.attempt === 0 && !this.welcome ? "connecting" : "reconnecting");
    if (navigator.onLine === false) return; // offline: the "online" event reconnects
    if (this.connecting) return; // one handshake at a time ("online" may fire during one)
    this.connecting = true;
    let ticket;
    try {
      ticket = await this.api.call("POST", "/api/tickets");
    } catch (err) {
      if (err.status === 401) return this.end();
      return this.retryLater();
    } finally {
      this.connecting = false;
    }
    if (this.stopped || (this.ws && this.ws.readyState !== WebSocket.CLOSED)) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}${ticket.url}`, PROTOCOL);
    this.ws = ws;
    ws.onmessage = (event) => this.onFrame(JSON.parse(event.data));
    ws.onclose = (event) => this.onClose(ws, event);
  }

  end() {
    this.stopped = true;
    this.setState("ended");
  }

  retryLater() {
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), base + Math.random() * base * 0.5);
  }

  reconnectNow() {
    if (this.stopped || this.state === "open") return;
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    if (!this.ws || this.ws.readyState === WebSocket.CLOSED) this.connect();
  }

  // Close the socket as if the network dropped (tests and the "reconnect" button).
  drop() {
    if (this.ws) this.lose(this.ws, "client drop");
  }

  // Give up on a socket at once: with the network gone its closing handshake cannot finish, and
  // the browser's "close" event can come many seconds later; the user is told and the retries
  // start now (the late event is ignored: it is no longer this.ws).
  lose(ws, reason) {
    ws.close(4000, reason);
    this.onClose(ws, { code: 4000 });
  }

  onClose(ws, event) {
    if (ws !== this.ws) return;
    this.ws = null;
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    clearTimeout(this.resendTimer); // the next welcome starts a new round
    for (const [ref, waiter] of this.requests) {
      waiter.reject(new Error("disconnected"));
      this.requests.delete(ref);
    }
    if (event.code === SESSION_ENDED) return this.end();
    if (!this.stopped) this.retryLater();
  }

  onOpen(welcome) {
    this.welcome = welcome;
    this.attempt = 0;
    this.setState("open");
    for (const caseId of this.cursors.keys()) this.join(caseId);
    this.resendPending(0);
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.ping(), PING_EVERY_MS);
  }

  ping() {
    this.raw({ t: "ping", n: Date.now() });
    clearTimeout(this.pongTimer);
    const ws = this.ws;
    this.pongTimer = setTimeout(() => ws && this.lose(ws, "no pong"), PONG_WITHIN_MS);
  }

  onFrame(frame) {
    switch (frame.t) {
      case "welcome":
        this.onOpen(frame);
        break;
      case "pong":
        clearTimeout(this.pongTimer);
        return;
      case "ack":
        this.onAck(frame);
        break;
      case "msg":
        if (!this.advance(frame)) return; // already delivered
        break;
      case "synced":
        this.onSynced(frame);
        break;
      case "history_lost":
        this.cursors.set(frame.case, { epoch: frame.epoch, after: "" });
        this.dispatchEvent(new CustomEvent("history_lost", { detail: { case: frame.case } }));
        break;
      case "error":
        this.onError(frame);
        break;
    }
    const waiter = frame.ref && this.requests.get(frame.ref);
    if (waiter && (frame.t === waiter.reply || frame.t === "error")) {
      this.requests.delete(frame.ref);
      waiter.resolve(frame);
    }
    this.dispatchEvent(new CustomEvent("frame", { detail: { frame } }));
  }

  advance(frame) {
    const cursor = this.cursors.get(frame.case);
    if (!cursor) return true;
    if (cursor.after && compareIds(frame.id, cursor.after) <= 0) return false;
    cursor.after = frame.id;
    return true;
  }

  onSynced(frame) {
    const cursor = this.cursors.get(frame.case);
    if (cursor) cursor.epoch = frame.epoch;
  }

  onAck(frame) {
    const waiter = this.pending.get(frame.cid);
    if (!waiter) return;
    this.pending.delete(frame.cid);
    waiter.resolve(frame);
  }

  onError(frame) {
    if (frame.ref && frame.ref.startsWith("join:") && frame.code === "bad_position") {
      // Our position is not in this transcript: start again from its beginning.
      const caseId = frame.ref.slice(5);
      this.cursors.set(caseId, { epoch: "", after: "" });
      this.dispatchEvent(new CustomEvent("history_lost", { detail: { case: caseId } }));
      this.join(caseId);
      return;
    }
    // A refused send will not succeed on retry (except a rate limit): give it up.
    for (const [cid, waiter] of this.pending) {
      if (waiter.frame.ref === frame.ref && frame.code !== "rate_limited") {
        this.pending.delete(cid);
        waiter.reject(Object.assign(new Error(frame.message), { code: frame.code }));
      }
    }
    if (frame.code === "rate_limited") this.resendPending(1000);
  }

  // Pending sends go again after `delayMs`, paced under the server's rate, one round at a
  // time: sent all at once after a reconnect, or once per rate_limited error, a backlog of
  // some forty turned into a flood that the server closes and then bars for seconds.
  resendPending(delayMs) {
    clearTimeout(this.resendTimer);
    this.resendQueue = [...this.pending.keys()];
    this.resendTimer = setTimeout(() => this.resendSome(), delayMs);
  }

  resendSome() {
    const rate = this.welcome?.limits?.rate_per_s || 20;
    const perRound = Math.max(1, Math.floor(rate * 0.4)); // every half second: 80 % of the rate
    for (const cid of this.resendQueue.splice(0, perRound)) {
      const waiter = this.pending.get(cid);
      if (waiter) this.raw(waiter.frame);
    }
    this.resendTimer = this.resendQueue.length ? setTimeout(() => this.resendSome(), 500) : null;
  }

  raw(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  // Follow a case: replay from where we were, then live entries.
  follow(caseId) {
    if (!this.cursors.has(caseId)) this.cursors.set(caseId, { epoch: "", after: "" });
    this.join(caseId);
  }

  join(caseId) {
    this.raw({ t: "join", case: caseId, ref: `join:${caseId}`, ...this.cursors.get(caseId) });
  }

  unfollow(caseId) {
    this.cursors.delete(caseId);
    this.raw({ t: "leave", case: caseId });
  }

  // Send a chat message; resolves with the ack once it is stored. Survives reconnects.
  send(caseId, fields) {
    const cid = newCid();
    const frame = { t: "send", case: caseId, cid, ref: cid, ...fields };
    return {
      cid,
      stored: new Promise((resolve, reject) => {
        this.pending.set(cid, { frame, resolve, reject });
        this.raw(frame);
      }),
    };
  }

  // A request/reply frame (claim, close, transfer…): resolves with the reply or an error frame.
  request(frame, reply, timeoutMs = 10000) {
    const ref = `r${++this.refs}`;
    return new Promise((resolve, reject) => {
      if (!this.raw({ ...frame, ref })) return reject(new Error("disconnected"));
      const timer = setTimeout(() => {
        this.requests.delete(ref);
        reject(new Error("timeout"));
      }, timeoutMs);
      this.requests.set(ref, {
        reply,
        resolve: (f) => (clearTimeout(timer), resolve(f)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
  }

  typing(caseId, on) {
    this.raw({ t: "typing", case: caseId, on });
  }

  read(caseId, id) {
    this.raw({ t: "read", case: caseId, id });
  }
}
