// The server's errors in the page's language. The server answers in French (its logs and the operators' side are
// French) with a stable code; the visitor's scripts show the text of that code from their own catalogue, and the
// server's French text only for a code they do not know. One place, so that a new visitor-facing code is added here.
import { _, LANG } from "./i18n.js";


const BY_CODE = {
  // The visitor's socket (chat/visitor_socket.py, chat/protocol.py).
  invalid_token: () => _("Cette conversation n'est plus disponible (elle est terminée ou le lien a expiré). Vous "
    + "pouvez en commencer une nouvelle depuis l'accueil."),
  conversation_closed: () => _("Cette conversation est terminée. Vous pouvez en commencer une nouvelle depuis "
    + "l'accueil."),
  rate_limited: () => _("Vous allez un peu vite : patientez quelques secondes puis réessayez."),
  too_many_connections: () => _("Trop de connexions ouvertes depuis cet appareil. Fermez les autres onglets du tchat "
    + "puis réessayez."),
  too_many_tabs: () => _("Cette conversation est déjà ouverte dans trop d'onglets ou d'appareils. Fermez ceux qui "
    + "ne servent plus puis rechargez la page ; en cas de danger, appelez le 17 ou le 112, ou envoyez un SMS au 114."),
  tchat_full: () => _("Cette conversation a atteint sa taille maximale : ce message n'a pas été enregistré, et la "
    + "personne qui vous répond en est informée. Pour continuer, commencez une nouvelle conversation depuis "
    + "l'accueil ; en cas de danger, appelez le 17 ou le 112, ou envoyez un SMS au 114."),
  storage_unavailable: () => _("Le service est momentanément surchargé. Cela va se rétablir tout seul dans quelques "
    + "secondes ; en cas de danger, appelez le 17 ou le 112, ou envoyez un SMS au 114."),
  frame_too_large: () => _("Ce message est trop long pour être envoyé d'un coup. Découpez-le en plusieurs messages."),
  message_too_long: () => _("Ce message est trop long. Découpez-le en plusieurs messages."),
  empty_message: () => _("Le message est vide : écrivez quelques mots avant d'envoyer."),
  forbidden_characters: () => _("Le message contient des caractères non autorisés. Retirez-les puis renvoyez-le."),
  hello_required: () => _("La connexion n'est pas encore ouverte. Patientez un instant puis réessayez."),
  malformed_frame: () => _("Une erreur technique est survenue. Rechargez la page si le problème continue."),
  unknown_frame: () => _("Une erreur technique est survenue. Rechargez la page si le problème continue."),
  invalid_field: () => _("Une erreur technique est survenue. Rechargez la page si le problème continue."),
  // The public API (start, consent, files, follow-up, feedback).
  invalid_postal_code: () => _("Le code postal s'écrit avec 5 chiffres, par exemple 75011 ou 97400."),
  unknown_postal_code: () => _("Ce code postal n'existe pas. Vérifiez-le, ou cherchez votre commune par son nom."),
  unknown_commune: () => _("Cette commune est introuvable. Choisissez-la dans la liste."),
  insee_not_in_postal_code: () => _("Cette commune ne correspond pas à ce code postal. Choisissez-la dans la liste."),
  too_many_tchats: () => _("Trop de tchats ont été ouverts depuis cet appareil. Patientez quelques minutes puis "
    + "réessayez ; en cas de danger, appelez le 17 ou le 112, ou envoyez un SMS au 114."),
  consent_required: () => _("Cochez la case de consentement pour transmettre le signalement."),
  consent_outdated: () => _("Cette demande a changé. Lisez la nouvelle version avant de répondre."),
  already_answered: () => _("Vous avez déjà répondu à cette demande."),
  no_pending_proposal: () => _("Cette proposition n'est plus en attente."),
  invalid_contact: () => _("Vérifiez les coordonnées indiquées."),
  unknown_followup_code: () => _("Code inconnu : vérifiez qu'il est recopié sans erreur. Un code ne fonctionne "
    + "qu'après la transmission du signalement."),
  signalement_closed: () => _("Ce signalement est clos : vous ne pouvez plus y ajouter de document."),
  too_many_attachments: () => _("Vous avez atteint le nombre maximal de fichiers pour cette conversation."),
  unknown_attachment: () => _("Ce fichier est introuvable. Réessayez de l'envoyer."),
  feedback_already_given: () => _("Merci, votre avis est déjà enregistré."),
  unsupported_media_type: () => _("Ce type de fichier n'est pas accepté : JPEG, PNG, WebP ou PDF seulement."),
  body_too_large: () => _("Ce fichier est trop lourd."),
  internal_error: () => _("Une erreur est survenue de notre côté. Réessayez dans un instant ; en cas d'urgence, "
    + "appelez le 17 ou le 112, ou envoyez un SMS au 114."),
  unavailable: () => _("Le service est momentanément indisponible. Réessayez dans un instant ; en cas d'urgence, "
    + "appelez le 17 ou le 112, ou envoyez un SMS au 114."),
};

export const KNOWN_CODES = Object.keys(BY_CODE);

// The text to show for an error ({ code, message } from a frame or an API body), or `fallback`. In French, the
// server's own text (it may carry details); in another language, the catalogue's text of the code, and for a code
// this module does not know, the fallback (written by the caller, translated) rather than French.
export function errorText(error, fallback = "") {
  if (!error) return fallback;
  if (LANG === "fr") return error.message || fallback;
  const text = Object.prototype.hasOwnProperty.call(BY_CODE, error.code) ? BY_CODE[error.code]() : "";
  return text || fallback || error.message || "";
}
