// End of tchat: the conversation is over for this tab. Shows the follow-up codes this tab received (for as long as
// the tab lives: they are nowhere else) and the numbers a flag of the tchat adds (minor: 119 and 3018; emergency:
// 17, 112, 114), which the page holds hidden: the URL carries the category only.
import { codeBlock } from "./consent.js";
import { read, remove } from "./session.js";

remove("tchat");
remove("outbox");
remove("highest_seq");
remove("read_seq");

const codes = read("codes", []);
if (Array.isArray(codes) && codes.length) {
  const box = document.getElementById("code-suivi");
  const list = document.getElementById("code-suivi-liste");
  codes.forEach((entry, index) => {
    if (entry && typeof entry.code === "string") list.append(codeBlock(entry.code, `fin-${index}`, { titled: false }));
  });
  box.hidden = false;
  box.focus();
}

const end = read("end", {}) || {};
const category = new URLSearchParams(location.search).get("tchat");
if (end.category === category) {
  for (const line of document.querySelectorAll("[data-only]")) {
    if (end[line.dataset.only] === true) line.hidden = false;
  }
}
