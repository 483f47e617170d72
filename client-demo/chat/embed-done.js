// The end of a pop-up login for a chat framed on another site (chat/embedlogin.js): turn this
// window's login into a one-time code, hand it to the frame that opened us (this origin only),
// and close. Without an opener (the pop-up was opened as a tab) the page says what to do.

import { Api } from "../shared/api.js";

const params = new URLSearchParams(location.search);
const en = params.get("lang") === "en";
const TEXT = {
  done: en ? "You are logged in. You can close this window." : "Du är inloggad. Du kan stänga det här fönstret.",
  failed: en
    ? "The login could not be handed to the chat. Close this window and log in again from the chat."
    : "Inloggningen kunde inte lämnas över till chatten. Stäng fönstret och logga in igen från chatten.",
};

async function handOver() {
  const status = document.getElementById("status");
  document.documentElement.lang = en ? "en" : "sv";
  try {
    if (!window.opener) throw new Error("no opener");
    const api = new Api();
    await api.session();
    const { code } = await api.call("POST", "/auth/embed/code", { login: params.get("login") || "" });
    window.opener.postMessage({ type: "direkt:embed-code", code }, location.origin);
    status.textContent = TEXT.done;
    window.close();
  } catch {
    status.textContent = TEXT.failed;
  }
}

handOver();
