// Calls in the citizen widget: asking for a call, the consent prompt when the
// nurse calls, the call itself beside the chat, and the pre-call test of the
// camera and microphone. The chat stays usable the whole time.
//
// One CitizenCall per case screen; its root element is kept across renders, so a
// re-render of the chat never interrupts the videos.

import { clear, h } from "../shared/dom.js";
import {
  CallSession,
  EchoTest,
  LIVE,
  OVER,
  callClock,
  deviceOptions,
  iceServerList,
  isNewer,
  keepFocus,
  listDevices,
  play,
} from "../shared/call.js";
import { chime } from "./sound.js";

export class CitizenCall {
  constructor(screen) {
    this.screen = screen;
    this.app = screen.app;
    this.caseId = screen.caseId;
    this.call = null; // the newest call frame of the case
    this.session = null; // this tab's CallSession, when this tab is in the call
    this.echo = null; // the pre-call test
    this.devices = { audio: [], video: [] };
    this.choice = { audio: "", video: "" };
    this.error = "";
    this.prompted = ""; // the call whose consent prompt took focus already
    this.forgotten = ""; // a call of an earlier chat of the case: its frames are old news
    this.echoEnded = false;
    this.timer = null;
    this.root = h("div", { class: "call-area" });
    this.status = h("p", { class: "call-status", role: "status" });
    this.echoStatus = h("p", { class: "call-status", role: "status" });
    this.clock = h("span", { class: "clock" });
    this.remoteVideo = h("video", { class: "remote", autoplay: true, playsinline: true });
    this.remoteAudio = h("audio", { autoplay: true });
    this.localVideo = h("video", { class: "local", autoplay: true, playsinline: true, muted: true });
    this.echoVideo = h("video", { class: "remote", autoplay: true, playsinline: true });
    this.echoLocal = h("video", { class: "local", autoplay: true, playsinline: true, muted: true });
    this.onChange = () => this.changed();
    this.onDevices = () => this.loadDevices();
    navigator.mediaDevices?.addEventListener?.("devicechange", this.onDevices);
    this.expose();
  }

  destroy() {
    navigator.mediaDevices?.removeEventListener?.("devicechange", this.onDevices);
    clearInterval(this.timer);
    this.session?.removeEventListener("change", this.onChange);
    this.session?.hangup(); // leaving the case leaves its call
    this.echo?.removeEventListener("change", this.onChange);
    this.echo?.stop();
    this.session = null;
    this.echo = null;
    this.expose();
  }

  // For tests and support: the live session and the pre-call test of this page.
  expose() {
    if (!window.direkt) return;
    window.direkt.calls = this.session && !this.session.closed ? this.session : null;
    window.direkt.echo = this.echo;
  }

  t(key, values) {
    return this.app.t(key, values);
  }

  get who() {
    return this.screen.staffWho();
  }

  get mine() {
    return Boolean(this.session && !this.session.closed);
  }

  // -- frames and state ------------------------------------------------------------------

  onFrame(frame) {
    if (frame.t !== "call" || frame.call === this.forgotten || !isNewer(this.call, frame)) return;
    this.call = frame;
    this.error = "";
    if (frame.state === "proposed" && frame.proposer === "staff" && !this.mine) this.loadDevices();
    this.render();
    if (frame.state === "proposed" && frame.proposer === "staff" && this.prompted !== frame.call) {
      this.prompted = frame.call;
      chime();
      this.root.querySelector(".consent h3")?.focus();
    }
  }

  // The case went back to the queue: its call, and how it ended, belong to the chat that is over.
  forget() {
    if (this.call) this.forgotten = this.call.call;
    this.call = null;
    this.error = "";
    this.render();
  }

  changed() {
    if (this.session?.closed) this.release();
    if (this.echo?.stopped) this.stopEcho(); // its time ran out
    this.expose();
    this.render();
  }

  async loadDevices() {
    this.devices = await listDevices();
    this.render();
  }

  startSession(call) {
    this.stopEcho();
    this.echoEnded = false;
    this.session = new CallSession({ hub: this.app.hub, call, role: "answerer", devices: this.choice });
    this.session.addEventListener("change", this.onChange);
    this.expose();
  }

  release() {
    clearInterval(this.timer);
    this.timer = null;
  }

  // -- actions --------------------------------------------------------------------------

  async request(frame, reply = "call") {
    try {
      const answer = await this.app.hub.request({ case: this.caseId, ...frame }, reply);
      if (answer.t !== "error") return answer;
      this.error = answer.message || this.t("error.generic");
    } catch {
      this.error = this.t("error.network");
    }
    this.render();
    return null;
  }

  async ask(media) {
    const reply = await this.request({ t: "call_propose", media });
    if (!reply) return;
    this.onFrame(reply);
    if (!this.mine) this.startSession(reply);
    this.render();
  }

  async accept() {
    const call = this.call;
    this.startSession(call);
    this.render();
    const reply = await this.request({ t: "call_accept", call: call.call });
    if (!reply) {
      this.session.close();
      this.render();
    }
  }

  decline() {
    this.request({ t: "call_decline", call: this.call.call });
  }

  hangup() {
    if (this.mine) this.session.hangup();
    else if (this.call && LIVE.has(this.call.state)) this.request({ t: "call_hangup", call: this.call.call });
  }

  async startEcho() {
    this.stopEcho();
    this.echoEnded = false;
    const iceServers = iceServerList(this.app.config.ice_servers);
    this.echo = new EchoTest({ api: this.app.api, iceServers, devices: this.choice });
    this.echo.addEventListener("change", this.onChange);
    this.expose();
    this.render();
    this.root.querySelector(".echo h3")?.focus();
    await this.echo.start();
    if (!this.devices.video.some((d) => d.label)) this.loadDevices(); // labels show once allowed
  }

  endEcho() {
    this.stopEcho();
    this.render();
  }

  stopEcho() {
    const echo = this.echo;
    if (!echo) return;
    this.echo = null;
    echo.removeEventListener("change", this.onChange);
    echo.stop();
    this.echoEnded = true;
    this.expose();
  }

  // -- views ----------------------------------------------------------------------------

  // The call area for the case screen: in the waiting room only the pre-call test.
  element() {
    this.render();
    return this.root;
  }

  render() {
    keepFocus(this.root, () => this.build());
  }

  build() {
    const chat = this.screen.phase() === "chat";
    const parts = [];
    if (chat) parts.push(this.callView());
    if (this.error) parts.push(h("p", { class: "banner danger", role: "alert" }, this.error));
    parts.push(this.echo ? this.echoView() : null);
    if (!this.busy) parts.push(this.tools(chat));
    this.status.textContent = chat ? this.statusText() : "";
    this.echoStatus.textContent = this.echoText();
    const verdict = { ok: " banner ok", failed: " banner danger" }[this.echo?.phase] || "";
    this.echoStatus.className = `call-status${verdict}`;
    // the test's result sits in the test's box; the same element, so screen readers hear each change
    clear(this.root, this.status, parts, this.echo ? null : this.echoStatus);
  }

  // This tab was in the call and has left it (the server's word may still be on its way).
  ended(call) {
    return Boolean(this.session && this.session.closed && this.session.id === call.call);
  }

  get busy() {
    return Boolean(this.call && LIVE.has(this.call.state));
  }

  callView() {
    const call = this.call;
    if (!call || !LIVE.has(call.state)) return null;
    if (this.ended(call)) return null;
    if (call.state === "proposed" && call.proposer === "citizen") return this.askingView();
    if (this.mine) return this.inCallView();
    if (call.state === "proposed") return this.consentView();
    return this.elsewhereView();
  }

  tools(chat) {
    const t = (key) => this.t(key);
    return h(
      "div",
      { class: "call-tools", role: "group", "aria-label": t("call.tools") },
      chat
        ? [
            h("button", { type: "button", dataset: { focus: "ask-video" }, onclick: () => this.ask("video") }, t("call.ask.video")),
            h("button", { type: "button", dataset: { focus: "ask-audio" }, onclick: () => this.ask("audio") }, t("call.ask.audio")),
          ]
        : null,
      this.echo ? null : h("button", { type: "button", dataset: { focus: "echo" }, onclick: () => this.startEcho() }, t("echo.open")),
    );
  }

  consentView() {
    const video = this.call.media === "video";
    const t = (key, values) => this.t(key, values);
    return h(
      "section",
      { class: "call-box consent", role: "alertdialog", "aria-labelledby": "consent-h", "aria-describedby": "consent-text" },
      h("h3", { id: "consent-h", tabindex: "-1" }, t(video ? "call.consent.video" : "call.consent.audio", { who: this.who })),
      h("p", { id: "consent-text" }, t(video ? "call.consent.text.video" : "call.consent.text.audio")),
      this.deviceFields("consent", video),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "primary", dataset: { focus: "accept" }, onclick: () => this.accept() }, t("call.accept")),
        h("button", { type: "button", dataset: { focus: "decline" }, onclick: () => this.decline() }, t("call.decline")),
      ),
    );
  }

  askingView() {
    const t = (key) => this.t(key);
    const video = this.call.media === "video";
    return h(
      "section",
      { class: "call-box", "aria-labelledby": "asking-h" },
      h("h3", { id: "asking-h", tabindex: "-1" }, t(video ? "call.asking.video" : "call.asking.audio")),
      h("p", {}, t("call.asking.text")),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "danger", dataset: { focus: "cancel" }, onclick: () => this.hangup() }, t("call.cancel")),
      ),
    );
  }

  inCallView() {
    const s = this.session;
    const video = s.media === "video";
    const t = (key, values) => this.t(key, values);
    this.tick();
    play(video ? this.remoteVideo : this.remoteAudio, s.remote);
    if (video) play(this.localVideo, s.local);
    this.remoteVideo.setAttribute("aria-label", t("call.remote", { who: this.who }));
    this.localVideo.setAttribute("aria-label", t("call.local"));
    const flags = [s.muted ? t("call.muted") : "", video && s.cameraOff ? t("call.camera.isoff") : ""].filter(Boolean);
    return h(
      "section",
      { class: `call-box incall ${video ? "video" : "audio"}`, "aria-labelledby": "incall-h" },
      h("h3", { id: "incall-h", tabindex: "-1" }, t(video ? "call.incall.video" : "call.incall.audio", { who: this.who })),
      s.connectedAt ? h("p", { class: "call-timer" }, h("span", { class: "visually-hidden" }, `${t("call.timer")} `), this.clock) : null,
      video ? h("div", { class: "stage" }, this.remoteVideo, this.localVideo) : this.remoteAudio,
      flags.length ? h("p", { class: "call-flags" }, flags.join(" ")) : null,
      h(
        "div",
        { class: "call-controls" },
        h(
          "button",
          { type: "button", "aria-pressed": String(s.muted), dataset: { focus: "mute" }, onclick: () => s.setMuted(!s.muted) },
          t("call.mute"),
        ),
        video
          ? h(
              "button",
              {
                type: "button",
                "aria-pressed": String(s.cameraOff),
                dataset: { focus: "camera" },
                onclick: () => s.setCameraOff(!s.cameraOff),
              },
              t("call.camera.off"),
            )
          : null,
        h("button", { type: "button", class: "danger primary", dataset: { focus: "hangup" }, onclick: () => this.hangup() }, t("call.hangup")),
      ),
    );
  }

  elsewhereView() {
    const t = (key) => this.t(key);
    return h(
      "section",
      { class: "call-box", "aria-labelledby": "elsewhere-h" },
      h("h3", { id: "elsewhere-h", tabindex: "-1" }, t("call.status.elsewhere")),
      h("p", {}, t("call.elsewhere.text")),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "danger", dataset: { focus: "hangup" }, onclick: () => this.hangup() }, t("call.hangup")),
      ),
    );
  }

  echoView() {
    const echo = this.echo;
    const t = (key) => this.t(key);
    play(this.echoVideo, echo.remote);
    play(this.echoLocal, echo.local);
    this.echoVideo.setAttribute("aria-label", t("echo.echoed"));
    this.echoLocal.setAttribute("aria-label", t("call.local"));
    return h(
      "section",
      { class: "call-box echo", "aria-labelledby": "echo-h" },
      h("h3", { id: "echo-h", tabindex: "-1" }, t("echo.heading")),
      h("p", {}, t("echo.intro")),
      this.deviceFields("echo", true, () => this.startEcho()),
      this.echoStatus,
      h("div", { class: "stage" }, this.echoVideo, this.echoLocal),
      h(
        "div",
        { class: "actions" },
        echo.phase === "failed"
          ? h("button", { type: "button", dataset: { focus: "echo-again" }, onclick: () => this.startEcho() }, t("echo.again"))
          : null,
        h("button", { type: "button", dataset: { focus: "echo-stop" }, onclick: () => this.endEcho() }, t("echo.stop")),
      ),
    );
  }

  // Camera and microphone choice; labels may be empty until the person has allowed them.
  deviceFields(prefix, video, onChange = () => {}) {
    const t = (key, values) => this.t(key, values);
    const field = (kind, label, name) => {
      const id = `${prefix}-${kind}`;
      const select = h("select", {
        id,
        dataset: { focus: id },
        onchange: (e) => {
          this.choice[kind] = e.target.value;
          onChange();
        },
      });
      for (const option of deviceOptions(this.devices[kind], name, t("call.device.default"))) {
        select.append(h("option", { value: option.value, selected: option.value === this.choice[kind] }, option.label));
      }
      return h("div", { class: "device" }, h("label", { for: id }, label), select);
    };
    return h(
      "div",
      { class: "devices" },
      video ? field("video", t("call.camera"), (n) => t("call.camera.n", { n })) : null,
      field("audio", t("call.microphone"), (n) => t("call.microphone.n", { n })),
    );
  }

  statusText() {
    const call = this.call;
    const t = (key) => this.t(key);
    if (!call) return "";
    if (OVER.has(call.state)) return this.overText(call);
    if (this.ended(call)) {
      return this.session.phase === "failed" ? this.failedText(this.session.failure) : t("call.status.ended");
    }
    if (call.state === "proposed") {
      if (call.proposer === "citizen") return this.t("call.status.ringing", { who: this.who });
      return t(call.media === "video" ? "call.status.incoming.video" : "call.status.incoming.audio");
    }
    if (!this.mine) return t("call.status.elsewhere");
    if (this.session.phase === "connected") return t("call.status.connected");
    if (this.session.phase === "reconnecting") return t("call.status.reconnecting");
    return t("call.status.connecting");
  }

  overText(call) {
    const t = (key) => this.t(key);
    if (call.state === "failed") return this.failedText(this.session?.id === call.call ? this.session.failure : "");
    if (call.state === "declined") return t(call.proposer === "staff" ? "call.status.declined.self" : "call.status.declined.staff");
    if (call.reason === "cancelled") return t("call.status.cancelled");
    if (call.reason === "no_answer") return t("call.status.no_answer");
    return t("call.status.ended");
  }

  failedText(failure) {
    const text = this.t("call.status.failed");
    return failure === "devices" ? `${text} ${this.t("call.failed.devices")}` : text;
  }

  echoText() {
    const echo = this.echo;
    if (!echo) return this.echoEnded ? this.t("echo.stopped") : "";
    if (echo.phase === "failed") return this.t(`echo.failed.${echo.failure}`);
    return this.t(`echo.${echo.phase}`);
  }

  // The call timer: its own element, outside the status region, so it is not read out every second.
  tick() {
    const s = this.session;
    const update = () => {
      if (!this.mine || !s.connectedAt) return;
      this.clock.textContent = callClock(Date.now() - s.connectedAt);
    };
    update();
    if (!this.timer && s.connectedAt) this.timer = setInterval(update, 1000);
    if (this.timer && !this.mine) this.release();
  }
}
