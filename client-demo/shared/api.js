// The HTTP API: JSON in and out, the session's CSRF token on every change,
// typed errors. See /openapi.json for the routes.

export class ApiError extends Error {
  // text: the message in the citizen's words, by language ({sv, en}), when the server gives one.
  constructor(status, code, message, text = null) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.text = text;
  }
}

export class Api {
  constructor(base = "") {
    this.base = base;
    this.csrf = "";
    this.me = null;
  }

  // The logged-in user, or null. Keeps the CSRF token for later changes.
  // The server answers 200 either way ({logged_in: false} without a session).
  async session() {
    const me = await this.call("GET", "/api/session");
    this.me = me && me.logged_in ? me : null;
    this.csrf = this.me ? this.me.csrf : "";
    return this.me;
  }

  async call(method, path, body, { raw = false, contentType = "application/json" } = {}) {
    const headers = { Accept: "application/json" };
    if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = this.csrf;
    let payload;
    if (body !== undefined) {
      headers["Content-Type"] = contentType;
      payload = raw ? body : JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(this.base + path, { method, headers, body: payload, credentials: "same-origin" });
    } catch {
      throw new ApiError(0, "network", "no connection to the server");
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(response.status, error.code || "http_error", error.message || response.statusText, error.text || null);
    }
    return data;
  }

  async loginCitizen(pnr) {
    this.me = await this.call("POST", "/auth/test-eid", { pnr });
    this.csrf = this.me.csrf;
    return this.me;
  }

  async loginStaff(username, password) {
    this.me = await this.call("POST", "/auth/staff/login", { username, password });
    this.csrf = this.me.csrf;
    return this.me;
  }

  async logout() {
    let answer = {};
    try {
      answer = (await this.call("POST", "/auth/logout")) || {};
    } finally {
      this.me = null;
      this.csrf = "";
    }
    if (answer.end_session_url) {
      // RP-initiated logout: the identity provider ends its own session too, then sends the
      // browser back here. Never settle, so no caller reloads the page over this navigation.
      location.assign(answer.end_session_url);
      await new Promise(() => {});
    }
  }
}
