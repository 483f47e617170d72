// A photo from staff, in the composer: checked, previewed, uploaded (the server
// cleans it as it does a citizen's), then sent with the draft as its caption.

import { h, clear } from "../shared/dom.js";

// What the server accepts (server/care/photos.py, MAX_PHOTO_BYTES in server/http/api.py): checked here first to say so at once.
const PHOTO_TYPES = new Set(["image/jpeg", "image/png", "image/webp"]);
const MAX_PHOTO = 8 * 1024 * 1024;
// A refused upload in the staff member's language, by its code (the server's messages are English).
const PHOTO_REFUSALS = {
  too_large: "photo_bad",
  photo_rejected: "photo_unreadable",
  conflict: "photo_not_held",
  stale_token: "photo_not_held",
};

export class PhotoStep {
  constructor(chat) {
    this.chat = chat;
    this.photo = null; // {file, url, uploading}: a photo chosen, not sent yet
    this.error = "";
    this.input = null;
    this.attach = null;
    this.root = null;
  }

  t(key, values) {
    return this.chat.t(key, values);
  }

  // The "attach a photo" control (this.attach, its file input this.input) and the step under the
  // draft (this.root), built afresh with the panel.
  build() {
    this.input = h("input", {
      type: "file",
      id: `attach-${this.chat.n}`,
      class: "visually-hidden",
      accept: [...PHOTO_TYPES].join(","),
      onchange: (e) => this.choose(e.currentTarget),
    });
    this.attach = h("span", { class: "attach" }, this.input, h("label", { for: this.input.id, class: "button" }, this.t("photo_attach")));
    this.root = h("div", { class: "cphoto" });
  }

  choose(input) {
    const file = input.files && input.files[0];
    input.value = "";
    this.drop();
    this.error = "";
    if (file && (!PHOTO_TYPES.has(file.type) || file.size > MAX_PHOTO)) this.error = this.t("photo_bad");
    else if (file) this.photo = { file, url: URL.createObjectURL(file), uploading: false };
    this.render();
    this.root.querySelector("button.primary")?.focus();
  }

  drop() {
    if (this.photo) URL.revokeObjectURL(this.photo.url);
    this.photo = null;
  }

  async send() {
    const chat = this.chat;
    if (!this.photo || this.photo.uploading || chat.lost || chat.ending) return;
    this.photo.uploading = true;
    this.error = "";
    this.render();
    const { file } = this.photo;
    try {
      const path = `/api/cases/${encodeURIComponent(chat.case)}/photos`;
      const stored = await chat.ctx.api.call("POST", path, file, { raw: true, contentType: file.type });
      const caption = chat.textarea.value.trim();
      chat.post({ photo: stored.photo, text: caption });
      if (caption) chat.textarea.value = "";
      this.drop();
      chat.textarea.focus();
    } catch (err) {
      if (this.photo) this.photo.uploading = false;
      this.error = this.t(PHOTO_REFUSALS[err.code] || "photo_failed");
    }
    this.render();
  }

  render() {
    const error = this.error ? h("p", { class: "dlg-error", role: "alert" }, this.error) : null;
    if (!this.photo) return clear(this.root, error);
    const busy = this.photo.uploading;
    clear(
      this.root,
      h("img", { src: this.photo.url, alt: this.t("photo_preview") }),
      h(
        "div",
        { class: "cphoto-text" },
        h("p", {}, this.photo.file.name),
        h("p", { class: "hint" }, busy ? this.t("photo_uploading") : this.t("photo_caption_hint")),
        error,
        h(
          "div",
          { class: "cbuttons" },
          h("button", { type: "button", class: "primary", disabled: busy, onclick: () => this.send() }, this.t("photo_send")),
          h(
            "button",
            {
              type: "button",
              disabled: busy,
              onclick: () => {
                this.drop();
                this.render();
                this.input.focus();
              },
            },
            this.t("photo_remove"),
          ),
        ),
      ),
    );
  }
}
