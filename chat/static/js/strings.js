// What the visitor's pages say from JavaScript, shared by several scripts (the templates hold the rest). Every
// string is French marked _("…"): `make messages` extracts it into pnav/locales/js.pot, and the page's language
// comes from the catalogue it carries (i18n.js, read when the modules run, after the page is parsed). Functions for
// the sentences built around a value.
import { _, number } from "./i18n.js";

function thousands(n) {
  return number(n);
}

export const T = {
  // Who wrote a message.
  you: _("Vous"),
  police: _("Police"),
  gendarmerie: _("Gendarmerie"),
  policeOrGendarmerie: _("Police ou gendarmerie"),
  psychologist: _("Psychologue"),
  information: _("Information"),

  // What happens in the tchat (drawn in the transcript, replayed after a reload).
  operatorJoined(force) {
    if (force === "gendarmerie") return _("Un ou une gendarme a rejoint le tchat et vous répond.");
    if (force === "police") return _("Un policier ou une policière a rejoint le tchat et vous répond.");
    return _("Un policier ou un gendarme a rejoint le tchat et vous répond.");
  },
  psychologistJoined: _("Un ou une psychologue a rejoint le tchat."),
  psychologistLeft: _("Le ou la psychologue a quitté le tchat."),
  operatorLeft: _("La personne qui vous répondait a quitté le tchat."),
  conversationOver: _("La conversation est terminée."),
  inConversationWith(force) {
    if (force === "police") return _("Vous êtes en conversation avec la police.");
    if (force === "gendarmerie") return _("Vous êtes en conversation avec la gendarmerie.");
    return _("Vous êtes en conversation avec la police ou la gendarmerie.");
  },

  // Message statuses (text, not colour alone).
  sending: _("Envoi…"),
  waitingNetwork: _("En attente du réseau : il partira tout seul"),
  sent: _("Envoyé"),
  read: _("Lu"),
  notSent: _("Non envoyé."),
  delayed: _("Envoi retardé, nouvel essai dans un instant."),

  // The composer.
  writeSomething: _("Écrivez quelques mots avant d'envoyer."),
  count(length, max) {
    return _("{length} / {max} caractères", { length: thousands(length), max: thousands(max) });
  },
  willSplit(length, parts) {
    return _("{length} caractères : ce texte partira en {parts} messages, dans l'ordre.",
      { length: thousands(length), parts });
  },
  tooLongForOnce(length, max, parts) {
    return _("{length} caractères : les {first} premiers partiront en {parts} messages ; la suite restera ici, "
      + "pour un prochain envoi.", { length: thousands(length), first: thousands(max * parts), parts });
  },
  overLimitAnnounce: _("Votre texte dépasse la longueur d'un message : il partira en plusieurs messages."),
  restKept(parts, rest) {
    return _("Votre texte était très long : le début est parti en {parts} messages. La suite ({rest} caractères) "
      + "est restée dans la zone de saisie : relisez-la, puis envoyez-la.", { parts, rest: thousands(rest) });
  },
  newMessages(n) {
    return n > 1 ? _("Nouveaux messages : {n}", { n: thousands(n) }) : _("Nouveau message");
  },

  // Announcements for screen readers.
  newCard: (summary) => _("Nouvelle fiche : {summary}", { summary }),
  newProposal: (summary) => _("Nouvelle proposition : {summary}. Lisez-la avant de répondre.", { summary }),
  tchatOver: _("La conversation est terminée."),
  connectionBack: _("Connexion rétablie."),
  connectionLost: _("Connexion perdue. Vos messages seront envoyés dès son retour."),

  // The signalement and its follow-up code.
  signalementSent: _("Votre signalement a été transmis."),
  sentTo: (service) => _("Service qui le reçoit : {service}.", { service }),
  nothingSent: _("Rien n'a été transmis : la conversation continue de façon anonyme."),
  yourCode: _("Votre code de suivi"),
  codeHint: _("Notez-le maintenant, sur papier ou dans un endroit sûr : il vous permet de voir, sans donner votre "
    + "nom, ce qu'il advient de votre signalement, sur la page « Suivre un signalement ». Il reste affiché dans cet "
    + "onglet jusqu'à ce que vous le fermiez ; ensuite, personne ne pourra vous le redonner."),
  copyCode: _("Copier le code"),
  copied: _("Code copié."),
  copyFailed: _("La copie n'a pas fonctionné : recopiez le code à la main."),
  clipboardHint: _("Sur un téléphone qui n'est pas le vôtre, préférez le papier : un code copié reste dans le "
    + "presse-papiers de l'appareil."),
  codeAnnounce: (code) => _("Signalement transmis. Votre code de suivi est {code}.", { code }),
  refusedAnnounce: _("Rien n'a été transmis. La conversation continue de façon anonyme."),

  // Files attached to the tchat (or to a signalement from /suivi), and their receipts.
  fileKind(mediaType) {
    if (mediaType === "application/pdf") return _("document PDF");
    const sub = String(mediaType || "").replace("image/", "").toUpperCase();
    return sub ? _("image {format}", { format: sub }) : _("fichier");
  },
  fileSize(size) {
    const n = Number(size) || 0;
    if (n < 1024 * 1024) return _("{size} Ko", { size: thousands(Math.max(1, Math.round(n / 1024))) });
    return _("{size} Mo", { size: number(n / (1024 * 1024), { maximumFractionDigits: 1 }) });
  },
  uploading: (percent) => (percent === null ? _("Envoi…") : _("Envoi… {percent} %", { percent })),
  uploadWaiting: _("En attente du réseau : le fichier partira tout seul."),
  uploadRetrying: _("Envoi interrompu : nouvel essai dans un instant."),
  uploadFailed: _("Ce fichier n'a pas pu être envoyé."),
  tooBig: (max) => _("Ce fichier est trop lourd : {max} Mo au plus par fichier.",
    { max: Math.round(max / (1024 * 1024)) }),
  retry: _("Réessayer"),
  removeFile: _("Retirer"),
  receipt: _("Reçu"),
  receivedAt: (text) => _("Reçu par le service le {date}.", { date: text }),
  fingerprint: _("Empreinte SHA-256 :"),
  fingerprintMatches: _("C'est bien l'empreinte du fichier envoyé depuis cet appareil."),
  fingerprintDiffers: _("Attention : cette empreinte ne correspond pas au fichier de cet appareil."),
  copyReceipt: _("Copier le reçu"),
  receiptCopied: _("Reçu copié."),
  receiptText: (name, at, sha256) => [_("Reçu pnav — {name}", { name }), _("Reçu le {date}", { date: at }),
    _("Empreinte SHA-256 : {sha256}", { sha256 })].join("\n"),
  fileReceived: (name) => _("Fichier reçu : {name}. Votre reçu est affiché.", { name }),
  chooseFiles: _("Choisir des captures ou des documents"),
  chooseFileFirst: _("Choisissez d'abord un fichier."),
  documentsTitle: _("Documents à transmettre"),
  noDocumentTicked: _("Aucun document ne sera transmis."),
};
