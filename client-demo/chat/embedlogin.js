// Logging in from a chat framed on another site (docs/identity.md, "Embedding on another site").
//
// In a clinic's page this chat is a third party: the site's own login cookie is not sent to it,
// and e-ID brokers refuse to be framed. So the login runs in a pop-up (first-party, top-level),
// which ends on /chat/embed-done.html; that page hands a one-time code back to this frame by
// postMessage, to this origin only. The frame takes it only from its own pop-up and this origin,
// and exchanges it for a session cookie of its own partition (the server binds the code to the
// cookie /auth/embed/start set here, so a code from another browser is refused).

const MESSAGE = "direkt:embed-code";

export function framed() {
  return window.parent !== window;
}

// Resolves true once the frame has its session, false when the pop-up was closed or blocked.
export async function popupLogin(api, loginPath, lang) {
  // Opened at once, inside the click, so no pop-up blocker stops it; the address follows.
  const popup = window.open("about:blank", "direkt-login", "popup,width=520,height=720");
  if (!popup) return false;
  let login;
  try {
    ({ login } = await api.call("POST", "/auth/embed/start"));
  } catch (err) {
    popup.close();
    throw err;
  }
  const done = `/chat/embed-done.html?login=${encodeURIComponent(login)}&lang=${lang}`;
  popup.location.href = `${loginPath}?next=${encodeURIComponent(done)}`;
  const code = await codeFrom(popup);
  if (!code) return false;
  await api.call("POST", "/auth/embed/exchange", { code });
  return true;
}

function codeFrom(popup) {
  return new Promise((resolve) => {
    const finish = (value) => {
      window.removeEventListener("message", onMessage);
      clearInterval(watch);
      resolve(value);
    };
    const onMessage = (event) => {
      if (event.origin !== location.origin || event.source !== popup) return;
      const data = event.data;
      if (data && data.type === MESSAGE && typeof data.code === "string") finish(data.code);
    };
    window.addEventListener("message", onMessage);
    // Closed without a login: give up (a closed window is seen even across origins).
    const watch = setInterval(() => popup.closed && finish(""), 500);
  });
}
