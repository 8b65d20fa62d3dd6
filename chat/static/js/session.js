// Everything the visitor's browser keeps lives in sessionStorage under "pnav.": gone with the tab, wiped by the
// quick exit. No cookie, no localStorage (which would outlive the tab on a shared phone).

const PREFIX = "pnav.";

function store() {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage disabled (some private modes): the tchat still works for this page's lifetime
  }
}

const memory = new Map();

export function read(key, fallback = null) {
  const s = store();
  const raw = s ? s.getItem(PREFIX + key) : memory.get(key);
  if (raw === null || raw === undefined) return fallback;
  try {
    return JSON.parse(raw);
  } catch {
    return fallback;
  }
}

export function write(key, value) {
  const raw = JSON.stringify(value);
  const s = store();
  try {
    if (s) s.setItem(PREFIX + key, raw);
    else memory.set(key, raw);
  } catch {
    memory.set(key, raw); // quota exceeded: keep it in memory rather than lose a message
  }
}

export function remove(key) {
  const s = store();
  if (s) s.removeItem(PREFIX + key);
  memory.delete(key);
}

export function wipe() {
  const s = store();
  if (s) {
    try {
      s.clear();
    } catch {
      /* nothing more we can do */
    }
  }
  memory.clear();
}

// The current tchat: { token, id, category, force, commune } once started.
export function currentTchat() {
  const tchat = read("tchat");
  return tchat && typeof tchat.token === "string" ? tchat : null;
}

export function randomId(prefix) {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
