// Calls in the nurse console: "Ring upp" and "Videosamtal" in a held chat's
// header, a citizen's request to answer or decline, and the call itself above
// the chat log (the chat stays usable). The staff side makes every offer.
//
// One ChatCall per chat tab. A nurse has one camera: while a call is live in
// one tab, the call buttons of every other tab are disabled.

import { clear, h } from "../shared/dom.js";
import {
  CallSession,
  LIVE,
  OVER,
  callClock,
  deviceOptions,
  isNewer,
  keepFocus,
  listDevices,
  play,
} from "../shared/call.js";

const all = new Set(); // every ChatCall of this console
let active = null; // the ChatCall whose session is live

function setActive(chatCall) {
  active = chatCall;
  if (window.direkt) window.direkt.calls = chatCall ? chatCall.session : null;
  for (const other of all) other.renderButtons();
}

export class ChatCall {
  constructor(chat) {
    this.chat = chat;
    this.ctx = chat.ctx;
    this.call = null; // the newest call frame of the case
    this.session = null;
    this.devices = { audio: [], video: [] };
    this.choice = { audio: "", video: "" };
    this.requesting = false;
    this.announced = "";
    this.timer = null;
    this.n = chat.n;
    this.root = h("div", { class: "callbox" });
    this.status = h("p", { class: "call-status", role: "status" });
    this.clock = h("span", { class: "clock" });
    this.remoteVideo = h("video", { class: "remote", autoplay: true, playsinline: true });
    this.remoteAudio = h("audio", { autoplay: true });
    this.localVideo = h("video", { class: "local", autoplay: true, playsinline: true, muted: true });
    this.audioButton = h("button", { type: "button", onclick: () => this.propose("audio") });
    this.videoButton = h("button", { type: "button", onclick: () => this.propose("video") });
    this.onChange = () => this.changed();
    all.add(this);
  }

  t(key, values) {
    return this.ctx.i18n.t(key, values);
  }

  get name() {
    return this.chat.firstName();
  }

  get mine() {
    return Boolean(this.session && !this.session.closed);
  }

  get live() {
    return Boolean(this.call && LIVE.has(this.call.state));
  }

  // -- the header buttons and the panel ----------------------------------------------------

  buttons() {
    this.audioButton.textContent = this.t("call_audio");
    this.videoButton.textContent = this.t("call_video");
    this.renderButtons();
    return [this.audioButton, this.videoButton];
  }

  renderButtons() {
    const off = this.chat.lost || this.requesting || this.live || Boolean(active && active !== this);
    this.audioButton.disabled = off;
    this.videoButton.disabled = off;
  }

  element() {
    this.render();
    return this.root;
  }

  dispose() {
    this.session?.close();
    this.release();
    all.delete(this);
    if (active === this) setActive(null);
  }

  // -- state -------------------------------------------------------------------------------

  onFrame(frame) {
    if (!isNewer(this.call, frame)) return;
    this.call = frame;
    const asked = frame.state === "proposed" && frame.proposer === "citizen";
    if (asked || (frame.state === "proposed" && this.mine)) this.loadDevices();
    this.render();
    this.renderButtons();
    if (asked && this.announced !== frame.call) {
      this.announced = frame.call;
      this.ctx.alerts.sound();
      this.ctx.alerts.toast(this.requestHeading());
    }
  }

  changed() {
    if (this.session?.closed) {
      this.release();
      if (active === this) setActive(null);
    } else if (window.direkt) window.direkt.calls = this.session;
    this.render();
  }

  async loadDevices() {
    this.devices = await listDevices();
    this.render();
  }

  startSession(call) {
    this.session = new CallSession({ hub: this.ctx.hub, call, role: "offerer", devices: this.choice });
    this.session.addEventListener("change", this.onChange);
    setActive(this);
  }

  release() {
    clearInterval(this.timer);
    this.timer = null;
  }

  // -- actions -----------------------------------------------------------------------------

  async request(frame) {
    try {
      const reply = await this.ctx.hub.request({ case: this.chat.case, ...frame }, "call", 8000);
      if (reply.t !== "error") return reply;
      this.ctx.alerts.toast(this.t("call_error", { message: reply.message }), "danger");
    } catch {
      this.ctx.alerts.toast(this.t("call_error", { message: this.t("no_connection") }), "danger");
    }
    return null;
  }

  async propose(media) {
    if (this.requesting || this.live || active) return;
    this.requesting = true;
    this.renderButtons();
    const reply = await this.request({ t: "call_propose", media });
    this.requesting = false;
    if (reply) {
      this.startSession(reply);
      this.onFrame(reply);
    }
    this.renderButtons();
    this.render();
    if (reply) this.root.querySelector("h3")?.focus();
  }

  async accept() {
    const call = this.call;
    if (active && active !== this) return;
    this.startSession(call);
    this.render();
    if (!(await this.request({ t: "call_accept", call: call.call }))) this.session.close();
  }

  decline() {
    this.request({ t: "call_decline", call: this.call.call });
  }

  hangup() {
    if (this.mine) this.session.hangup();
    else if (this.live) this.request({ t: "call_hangup", call: this.call.call });
  }

  // -- the panel ---------------------------------------------------------------------------

  render() {
    keepFocus(this.root, () => this.build());
  }

  build() {
    const view = this.view();
    this.status.textContent = this.statusText();
    clear(this.root, this.status, view);
    this.root.hidden = !view && !this.status.textContent;
  }

  view() {
    const call = this.call;
    if (!this.live || this.ended(call)) return null;
    if (this.requesting && call.state === "proposed" && call.proposer === "staff") return null; // ours, reply on its way
    if (call.state === "proposed" && call.proposer === "citizen" && !this.mine) return this.requestView();
    if (this.mine && call.state === "proposed") return this.ringingView();
    if (this.mine) return this.inCallView();
    return this.elsewhereView();
  }

  ended(call) {
    return Boolean(this.session && this.session.closed && this.session.id === call.call);
  }

  requestHeading() {
    const key = this.call.media === "video" ? "call_request_video" : "call_request_audio";
    return this.t(key, { name: this.name });
  }

  box(key, heading, ...children) {
    return h(
      "section",
      { class: `callpanel ${key}`, "aria-labelledby": `call-h-${this.n}` },
      h("h3", { id: `call-h-${this.n}`, tabindex: "-1" }, heading),
      children,
    );
  }

  requestView() {
    const video = this.call.media === "video";
    const busy = Boolean(active && active !== this);
    return this.box(
      "request",
      this.requestHeading(),
      h("p", {}, this.t(busy ? "call_busy_other" : video ? "call_request_text_video" : "call_request_text_audio")),
      this.deviceFields(video),
      h(
        "div",
        { class: "callactions" },
        h(
          "button",
          { type: "button", class: "primary", disabled: busy, dataset: { focus: "accept" }, onclick: () => this.accept() },
          this.t("call_accept"),
        ),
        h("button", { type: "button", dataset: { focus: "decline" }, onclick: () => this.decline() }, this.t("call_decline")),
      ),
    );
  }

  // Headed like the call it becomes ("Videosamtal med Erik"); the status above says "Ringer Erik…".
  ringingView() {
    const video = this.call.media === "video";
    return this.box(
      "ringing",
      this.t(video ? "call_incall_video" : "call_incall_audio", { name: this.name }),
      h("p", {}, this.t(video ? "call_ringing_text_video" : "call_ringing_text_audio")),
      this.deviceFields(video),
      h(
        "div",
        { class: "callactions" },
        h(
          "button",
          { type: "button", class: "danger", dataset: { focus: "cancel" }, onclick: () => this.hangup() },
          this.t("call_cancel"),
        ),
      ),
    );
  }

  inCallView() {
    const s = this.session;
    const video = s.media === "video";
    this.tick();
    play(video ? this.remoteVideo : this.remoteAudio, s.remote);
    if (video) play(this.localVideo, s.local);
    this.remoteVideo.setAttribute("aria-label", this.t("call_remote", { name: this.name }));
    this.localVideo.setAttribute("aria-label", this.t("call_local"));
    const flags = [s.muted ? this.t("call_muted") : "", video && s.cameraOff ? this.t("call_camera_isoff") : ""];
    const toggle = (key, pressed, label, onclick) =>
      h("button", { type: "button", "aria-pressed": String(pressed), dataset: { focus: key }, onclick }, label);
    return this.box(
      `incall ${video ? "video" : "audio"}`,
      this.t(video ? "call_incall_video" : "call_incall_audio", { name: this.name }),
      video ? h("div", { class: "stage" }, this.remoteVideo, this.localVideo) : this.remoteAudio,
      h(
        "div",
        { class: "callside" },
        s.connectedAt
          ? h("p", { class: "call-timer" }, h("span", { class: "visually-hidden" }, `${this.t("call_timer")} `), this.clock)
          : null,
        h("p", { class: "call-flags" }, flags.filter(Boolean).join(" ")),
        h(
          "div",
          { class: "callactions" },
          toggle("mute", s.muted, this.t("call_mute"), () => s.setMuted(!s.muted)),
          video ? toggle("camera", s.cameraOff, this.t("call_camera_off"), () => s.setCameraOff(!s.cameraOff)) : null,
          h(
            "button",
            { type: "button", class: "danger primary", dataset: { focus: "hangup" }, onclick: () => this.hangup() },
            this.t("call_hangup"),
          ),
        ),
      ),
    );
  }

  elsewhereView() {
    return this.box(
      "elsewhere",
      this.t("call_elsewhere"),
      h("p", {}, this.t("call_elsewhere_text")),
      h(
        "div",
        { class: "callactions" },
        h(
          "button",
          { type: "button", class: "danger", dataset: { focus: "hangup" }, onclick: () => this.hangup() },
          this.t("call_hangup"),
        ),
      ),
    );
  }

  deviceFields(video) {
    const field = (kind, label, name) => {
      const id = `call-${kind}-${this.n}`;
      const select = h("select", {
        id,
        dataset: { focus: id },
        onchange: (e) => {
          this.choice[kind] = e.target.value;
          if (this.session) this.session.devices[kind] = e.target.value; // used when the call starts
        },
      });
      for (const option of deviceOptions(this.devices[kind], name, this.t("call_device_default"))) {
        select.append(h("option", { value: option.value, selected: option.value === this.choice[kind] }, option.label));
      }
      return h("div", { class: "field device" }, h("label", { for: id }, label), select);
    };
    return h(
      "div",
      { class: "devices" },
      video ? field("video", this.t("call_camera"), (n) => this.t("call_camera_n", { n })) : null,
      field("audio", this.t("call_microphone"), (n) => this.t("call_microphone_n", { n })),
    );
  }

  statusText() {
    const call = this.call;
    if (!call) return "";
    if (OVER.has(call.state)) return this.overText(call);
    if (this.ended(call)) {
      return this.session.phase === "failed" ? this.failedText(this.session.failure) : this.t("call_status_ended");
    }
    if (call.state === "proposed") {
      if (this.mine || call.proposer === "staff") return this.t("call_status_ringing", { name: this.name });
      return this.t(call.media === "video" ? "call_status_request_video" : "call_status_request_audio");
    }
    if (!this.mine) return this.t("call_elsewhere");
    if (this.session.phase === "connected") return this.t("call_status_connected");
    if (this.session.phase === "reconnecting") return this.t("call_status_reconnecting");
    return this.t("call_status_connecting");
  }

  overText(call) {
    if (call.state === "failed") return this.failedText(this.session?.id === call.call ? this.session.failure : "");
    const name = this.name;
    if (call.state === "declined") return this.t(call.proposer === "staff" ? "call_status_declined_patient" : "call_status_declined_self", { name });
    if (call.reason === "cancelled") return this.t("call_status_cancelled");
    if (call.reason === "no_answer") return this.t("call_status_no_answer", { name });
    return this.t("call_status_ended");
  }

  failedText(failure) {
    const text = this.t("call_status_failed");
    return failure === "devices" ? `${text} ${this.t("call_failed_devices")}` : text;
  }

  tick() {
    const s = this.session;
    const update = () => {
      if (this.mine && s.connectedAt) this.clock.textContent = callClock(Date.now() - s.connectedAt);
    };
    update();
    if (!this.timer && s.connectedAt) this.timer = setInterval(update, 1000);
  }
}
