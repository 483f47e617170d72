// A photo from the citizen, in the composer: checked, previewed, uploaded (the
// server cleans it), then sent as a message of its own.

import { clear, h } from "../shared/dom.js";

// What the server accepts (server/care/photos.py, MAX_PHOTO_BYTES in server/http/api.py): checked here first to say so at once.
const PHOTO_TYPES = new Set(["image/jpeg", "image/png", "image/webp"]);
const MAX_PHOTO = 8 * 1024 * 1024;
// A refused upload in the citizen's words, by the server's typed code (never its English message).
const PHOTO_REFUSALS = {
  too_large: "chat.photo.bad",
  photo_rejected: "chat.photo.unreadable",
  head_too_large: "chat.photo.failed",
  bad_request: "chat.photo.failed",
  conflict: "chat.photo.closed",
};

export class PhotoStep {
  constructor(view) {
    this.view = view;
    this.app = view.app;
    this.photo = null; // {file, url, uploading}
    this.error = "";
    this.root = null;
  }

  // The "attach a photo" control, built with the composer.
  attachControl() {
    const input = h("input", {
      type: "file",
      id: "photo-input",
      class: "file-input",
      accept: [...PHOTO_TYPES].join(","),
      onchange: (e) => this.choose(e.target),
    });
    return h("div", { class: "attach" }, input, h("label", { for: "photo-input", class: "button" }, this.app.t("chat.photo.attach")));
  }

  // The step under the composer: the chosen photo's preview, or why it was refused.
  build() {
    this.root = h("div", { class: "photo-step", id: "photo-step" });
    this.render();
    return this.root;
  }

  choose(input) {
    const file = input.files && input.files[0];
    input.value = "";
    this.drop();
    this.error = "";
    if (!file) return this.render();
    if (!PHOTO_TYPES.has(file.type) || file.size > MAX_PHOTO) {
      this.error = this.app.t("chat.photo.bad");
      return this.render();
    }
    this.photo = { file, url: URL.createObjectURL(file), uploading: false };
    this.render();
    this.root?.querySelector("button.primary")?.focus();
  }

  drop() {
    if (this.photo) URL.revokeObjectURL(this.photo.url);
    this.photo = null;
  }

  render() {
    if (!this.root) return;
    const { t } = this.app;
    const error = this.error ? h("p", { class: "banner danger", role: "alert" }, this.error) : null;
    if (!this.photo) {
      clear(this.root, error);
      return;
    }
    const busy = this.photo.uploading;
    clear(
      this.root,
      h(
        "figure",
        { class: "preview" },
        h("img", { src: this.photo.url, alt: t("chat.photo.preview") }),
        h("figcaption", {}, this.photo.file.name),
      ),
      error,
      busy ? h("p", { role: "status" }, t("chat.photo.uploading")) : null,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "primary", disabled: busy, onclick: () => this.send() }, t("chat.photo.send")),
        h(
          "button",
          {
            type: "button",
            disabled: busy,
            onclick: () => {
              this.drop();
              this.render();
              this.view.root?.querySelector("#photo-input")?.focus();
            },
          },
          t("chat.photo.remove"),
        ),
      ),
    );
  }

  async send() {
    if (!this.photo || this.photo.uploading) return;
    const { file } = this.photo;
    this.photo.uploading = true;
    this.error = "";
    this.render();
    try {
      const path = `/api/cases/${encodeURIComponent(this.view.caseId)}/photos`;
      const stored = await this.app.api.call("POST", path, file, { raw: true, contentType: file.type });
      this.drop();
      this.render();
      this.view.restoreTitle();
      this.view.sendFrame({ photo: stored.photo }, { k: "photo", photo: stored.photo, text: "" });
      this.view.root?.querySelector("#message")?.focus();
    } catch (err) {
      if (this.photo) this.photo.uploading = false;
      this.error = this.refusal(err);
      this.render();
    }
  }

  refusal(err) {
    const status = err && err.status;
    if (!status || status >= 500 || status === 401) return this.app.errorText(err);
    return this.app.t(PHOTO_REFUSALS[err.code] || "chat.photo.failed");
  }
}
