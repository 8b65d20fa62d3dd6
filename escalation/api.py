"""The visitor's HTTP endpoints: consent or refuse a proposed signalement, fetch a pending consent form, and the
anonymous follow-up by code. The visitor authenticates with their conversation token, in the body, never the URL."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chat import hooks, store
from chat.errors import ApiError, read_json_object
from chat.ratelimit import KeyedLimiter
from chat.state import ChatState, state_of
from chat.visitor_socket import token_usable
from escalation import codes, contact, signalements

NO_STORE = {"Cache-Control": "no-store"}
LINK_EXPIRED = ("Cette conversation n'est plus disponible (elle est terminée ou le lien a expiré). "
                 "Vous pouvez en commencer une nouvelle depuis l'accueil.")
UNKNOWN_CODE = ("Ce code de suivi est inconnu. Vérifiez qu'il est recopié sans erreur (les tirets et les "
                "majuscules ne comptent pas).")
TOO_MANY = "Trop d'essais en peu de temps. Patientez quelques minutes avant de saisir à nouveau votre code."
# Follow-up look-ups: a burst of 10 then one every 10 s per address. A person mistyping their code a few times is
# never stopped; a guesser gets under 9,000 tries a day per address against 2^100 possible codes.
FOLLOWUP_RATE, FOLLOWUP_BURST = 0.1, 10.0
_LIMITER = "escalation.followup_limiter"
# The ids of the documents ticked on the consent form: never more than the files a tchat may hold.
MAX_DOCUMENTS = 100


async def _conversation(state: ChatState, data: dict[str, Any]) -> store.ConversationRow:
    token = data.get("token")
    if not isinstance(token, str) or not token or len(token) > 128:
        raise ApiError(401, "invalid_token", LINK_EXPIRED)
    conversation = await store.by_token(state.sessions, token)
    if conversation is None or not token_usable(conversation, state.settings.token_grace_seconds):
        raise ApiError(401, "invalid_token", LINK_EXPIRED)
    return conversation


async def consent(request: Request) -> Response:
    """``POST /api/v1/signalements``: explicit consent + contact details → the follow-up code, shown this once."""
    state = state_of(request)
    data = await read_json_object(request)
    conversation = await _conversation(state, data)
    if data.get("consent") is not True:
        raise ApiError(422, "consent_required", "Cochez la case de consentement pour transmettre le signalement.",
                       field="consent")
    version = data.get("consent_version")
    if not isinstance(version, str):
        raise ApiError(422, "consent_required", "La version du texte de consentement est manquante.",
                       field="consent_version")
    proposal = data.get("proposal")
    details = contact.parse(data)
    chosen = data.get("attachments", [])
    if not isinstance(chosen, list) or len(chosen) > MAX_DOCUMENTS or not all(
            isinstance(i, str) and i.isalnum() and len(i) <= 32 for i in chosen):
        raise ApiError(422, "unknown_attachment", signalements.UNKNOWN_DOCUMENT, field="attachments")
    created = await signalements.accept(state, conversation, details, version,
                                        proposal if isinstance(proposal, str) else None, chosen)
    service = created.service
    return JSONResponse({
        "followup_code": created.code,
        "followup_url": "/suivi",
        "service": {"name": service.name, "address": service.address, "phone": service.phone},
        "message": "Votre signalement a été transmis. Notez votre code de suivi maintenant : il ne sera plus "
                   "jamais affiché. Il vous permet de voir, sur la page « Suivre mon signalement », ce qu'il advient "
                   "de votre signalement, sans donner votre nom.",
    }, status_code=201, headers=NO_STORE)


async def refuse(request: Request) -> Response:
    """``POST /api/v1/signalements/refuse``: the visitor declines; the tchat goes on anonymously."""
    state = state_of(request)
    conversation = await _conversation(state, await read_json_object(request))
    await signalements.refuse(state, conversation)
    return JSONResponse({"status": "refused", "message": "C'est noté : rien n'a été transmis. Vous pouvez "
                         "continuer la conversation de façon anonyme."}, headers=NO_STORE)


async def pending(request: Request) -> Response:
    """``POST /api/v1/signalements/pending``: the consent form still awaiting an answer (after a page reload)."""
    state = state_of(request)
    conversation = await _conversation(state, await read_json_object(request))
    frame = await signalements.pending_frame(state, conversation)
    if frame is None:
        raise ApiError(404, "no_pending_proposal", signalements.NO_PROPOSAL)
    return JSONResponse(frame, headers=NO_STORE)


def _limiter(state: ChatState) -> KeyedLimiter:
    return state.extension(_LIMITER, lambda: KeyedLimiter(FOLLOWUP_RATE, FOLLOWUP_BURST))


def _peer_key(state: ChatState, request: Request) -> str:
    """A keyed hash of the peer address: enough to count attempts, kept in memory only, never written anywhere."""
    address = hooks.peer_address(request) or ""
    return hmac.new(state.settings.secret_key.encode(), b"followup:" + address.encode(), hashlib.sha256).hexdigest()


def allow_followup(state: ChatState, request: Request) -> bool:
    """Follow-up code attempts per source (look-ups and document additions alike)."""
    return _limiter(state).allow(_peer_key(state, request))


async def followup(request: Request) -> Response:
    """``GET /api/v1/followup/{code}``: the status history, nothing personal; unknown codes and guessing refused."""
    state = state_of(request)
    if not allow_followup(state, request):
        raise ApiError(429, "rate_limited", TOO_MANY)
    canonical = codes.normalise(str(request.path_params.get("code", ""))[:64])
    found = await signalements.followup(state.sessions, codes.hash_code(canonical)) if canonical else None
    if found is None:
        raise ApiError(404, "unknown_followup_code", UNKNOWN_CODE)
    return JSONResponse(found, headers=NO_STORE)
