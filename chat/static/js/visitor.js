// Shared by every visitor page: the quick exit and navigation that leaves no trail in the tab's history.
import { currentTchat, wipe } from "./session.js";

// Two presses of Escape within this window trigger the quick exit: long enough for a panicked double press,
// short enough that closing a menu with Escape and another one a few seconds later does not throw anyone out.
const ESCAPE_WINDOW_MS = 1500;

const beforeExit = [];

// Other modules (the chat client) register what must happen before the page goes away.
export function onQuickExit(fn) {
  beforeExit.push(fn);
}

function exitUrl() {
  return document.body.dataset.exitUrl || "https://meteofrance.com/";
}

export function quickExit() {
  document.documentElement.classList.add("pnav-leaving"); // hide the page at once, before the network answers
  document.title = "";
  const tchat = currentTchat();
  for (const fn of beforeExit) {
    try {
      fn();
    } catch {
      /* leaving matters more than any clean-up */
    }
  }
  if (tchat && navigator.sendBeacon) {
    try {
      // A plain string body: the beacon needs no preflight and survives the page being replaced.
      navigator.sendBeacon("/api/v1/conversations/leave", JSON.stringify({ token: tchat.token }));
    } catch {
      /* the server also marks the tchat abandoned when the visitor stays away */
    }
  }
  wipe();
  window.location.replace(exitUrl());
}

// Internal navigation replaces the current history entry: "back" never walks through the visitor's path here.
export function go(url) {
  window.location.replace(url);
}

function onClick(event) {
  const link = event.target instanceof Element ? event.target.closest("a[data-replace]") : null;
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  go(link.href);
}

let lastEscape = 0;

function onKey(event) {
  if (event.key !== "Escape" || event.repeat) return;
  const now = Date.now();
  if (now - lastEscape <= ESCAPE_WINDOW_MS) {
    event.preventDefault();
    quickExit();
    return;
  }
  lastEscape = now;
}

const exitButton = document.getElementById("quitter-bouton");
if (exitButton) {
  exitButton.addEventListener("click", (event) => {
    event.preventDefault();
    quickExit();
  });
}
document.addEventListener("click", onClick);
document.addEventListener("keydown", onKey, true);
