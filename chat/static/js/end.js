// End of tchat: the conversation is over for this tab. Shows the follow-up code once, if there is one.
import { read, remove } from "./session.js";

remove("tchat");
remove("outbox");
remove("highest_seq");

const code = read("followup");
if (typeof code === "string" && code) {
  const box = document.getElementById("code-suivi");
  document.getElementById("code-suivi-valeur").textContent = code;
  box.hidden = false;
  box.focus();
  // Shown once: after this page, the code lives only where the visitor wrote it down.
  remove("followup");
}
