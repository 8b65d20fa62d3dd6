// What the visitor's pages say from JavaScript, in one place (the templates hold the rest): the day these pages
// speak other languages, this module is the one to translate. Plain strings, and functions for the few sentences
// built around a value.

const FORCE_TEAM = {
  police: "la police",
  gendarmerie: "la gendarmerie",
};

function thousands(n) {
  return n.toLocaleString("fr-FR");
}

export const T = {
  // Who wrote a message.
  you: "Vous",
  police: "Police",
  gendarmerie: "Gendarmerie",
  policeOrGendarmerie: "Police ou gendarmerie",
  psychologist: "Psychologue",
  information: "Information",

  // What happens in the tchat (drawn in the transcript, replayed after a reload).
  operatorJoined(force) {
    if (force === "gendarmerie") return "Un ou une gendarme a rejoint le tchat et vous répond.";
    if (force === "police") return "Un policier ou une policière a rejoint le tchat et vous répond.";
    return "Un policier ou un gendarme a rejoint le tchat et vous répond.";
  },
  psychologistJoined: "Un ou une psychologue a rejoint le tchat.",
  psychologistLeft: "Le ou la psychologue a quitté le tchat.",
  operatorLeft: "La personne qui vous répondait a quitté le tchat.",
  conversationOver: "La conversation est terminée.",
  inConversationWith(force) {
    return `Vous êtes en conversation avec ${FORCE_TEAM[force] || "la police ou la gendarmerie"}.`;
  },

  // Message statuses (text, not colour alone).
  sending: "Envoi…",
  waitingNetwork: "En attente du réseau : il partira tout seul",
  sent: "Envoyé",
  read: "Lu",
  notSent: "Non envoyé.",
  delayed: "Envoi retardé, nouvel essai dans un instant.",

  // The composer.
  writeSomething: "Écrivez quelques mots avant d'envoyer.",
  count(length, max) {
    return `${thousands(length)} / ${thousands(max)} caractères`;
  },
  willSplit(length, parts) {
    return `${thousands(length)} caractères : ce texte partira en ${parts} messages, dans l'ordre.`;
  },
  tooLongForOnce(length, max, parts) {
    return `${thousands(length)} caractères : les ${thousands(max * parts)} premiers partiront en ${parts} messages ; `
      + "la suite restera ici, pour un prochain envoi.";
  },
  overLimitAnnounce: "Votre texte dépasse la longueur d'un message : il partira en plusieurs messages.",
  restKept(parts, rest) {
    return `Votre texte était très long : le début est parti en ${parts} messages. La suite (${thousands(rest)} `
      + "caractères) est restée dans la zone de saisie : relisez-la, puis envoyez-la.";
  },
  newMessages(n) {
    return n > 1 ? `${n} nouveaux messages` : "Nouveau message";
  },

  // Announcements for screen readers.
  newCard: (summary) => `Nouvelle fiche : ${summary}`,
  newProposal: (summary) => `Nouvelle proposition : ${summary}. Lisez-la avant de répondre.`,
  tchatOver: "La conversation est terminée.",
  connectionBack: "Connexion rétablie.",
  connectionLost: "Connexion perdue. Vos messages seront envoyés dès son retour.",

  // The signalement and its follow-up code.
  signalementSent: "Votre signalement a été transmis.",
  sentTo: (service) => `Service qui le reçoit : ${service}.`,
  nothingSent: "Rien n'a été transmis : la conversation continue de façon anonyme.",
  yourCode: "Votre code de suivi",
  codeHint: "Notez-le maintenant, sur papier ou dans un endroit sûr : il vous permet de voir, sans donner votre "
    + "nom, ce qu'il advient de votre signalement, sur la page « Suivre un signalement ». Il reste affiché dans cet "
    + "onglet jusqu'à ce que vous le fermiez ; ensuite, personne ne pourra vous le redonner.",
  copyCode: "Copier le code",
  copied: "Code copié.",
  copyFailed: "La copie n'a pas fonctionné : recopiez le code à la main.",
  clipboardHint: "Sur un téléphone qui n'est pas le vôtre, préférez le papier : un code copié reste dans le "
    + "presse-papiers de l'appareil.",
  codeAnnounce: (code) => `Signalement transmis. Votre code de suivi est ${code}.`,
  refusedAnnounce: "Rien n'a été transmis. La conversation continue de façon anonyme.",

  // Files attached to the tchat (or to a signalement from /suivi), and their receipts.
  fileKind(mediaType) {
    if (mediaType === "application/pdf") return "document PDF";
    const sub = String(mediaType || "").replace("image/", "").toUpperCase();
    return sub ? `image ${sub === "JPEG" ? "JPEG" : sub}` : "fichier";
  },
  fileSize(size) {
    const n = Number(size) || 0;
    if (n < 1024 * 1024) return `${thousands(Math.max(1, Math.round(n / 1024)))} Ko`;
    return `${(n / (1024 * 1024)).toLocaleString("fr-FR", { maximumFractionDigits: 1 })} Mo`;
  },
  uploading: (percent) => (percent === null ? "Envoi…" : `Envoi… ${percent} %`),
  uploadWaiting: "En attente du réseau : le fichier partira tout seul.",
  uploadRetrying: "Envoi interrompu : nouvel essai dans un instant.",
  uploadFailed: "Ce fichier n'a pas pu être envoyé.",
  tooBig: (max) => `Ce fichier est trop lourd : ${Math.round(max / (1024 * 1024))} Mo au plus par fichier.`,
  retry: "Réessayer",
  removeFile: "Retirer",
  receipt: "Reçu",
  receivedAt: (text) => `Reçu par le service le ${text}.`,
  fingerprint: "Empreinte SHA-256 :",
  fingerprintMatches: "C'est bien l'empreinte du fichier envoyé depuis cet appareil.",
  fingerprintDiffers: "Attention : cette empreinte ne correspond pas au fichier de cet appareil.",
  copyReceipt: "Copier le reçu",
  receiptCopied: "Reçu copié.",
  receiptText: (name, at, sha256) => `Reçu pnav — ${name}\nReçu le ${at}\nEmpreinte SHA-256 : ${sha256}`,
  fileReceived: (name) => `Fichier reçu : ${name}. Votre reçu est affiché.`,
  chooseFiles: "Choisir des captures ou des documents",
  chooseFileFirst: "Choisissez d'abord un fichier.",
  documentsTitle: "Documents à transmettre",
  noDocumentTicked: "Aucun document ne sera transmis.",
};
