// Web storage that may be refused: a chat framed on another site is a third party, and a
// browser that blocks third-party cookies blocks its storage too (reading localStorage then
// throws). Each call then does nothing (get answers null), and the page works without memory.

function area(kind) {
  try {
    return kind === "session" ? window.sessionStorage : window.localStorage;
  } catch {
    return null;
  }
}

export function stored(kind, key) {
  try {
    return area(kind)?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

export function store(kind, key, value) {
  try {
    area(kind)?.setItem(key, value);
  } catch {
    // refused or full: not remembered
  }
}

export function unstore(kind, key) {
  try {
    area(kind)?.removeItem(key);
  } catch {
    // refused: nothing was stored either
  }
}
