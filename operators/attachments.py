"""Evidence on the staff side: the preview of an attachment, for those who may read its tchat, and the card that
invites the visitor to attach screenshots.

Nobody on the platform side downloads an original: the preview is what the server decoded and re-encoded at
upload, without any metadata (chat/attachments/checks.py); a PDF has none and is listed only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from chat import conversations, store
from chat.attachments import config
from chat.attachments import store as attachments
from chat.state import state_of
from operators import access
from operators.consoles import Console
from operators.models import Account
from operators.permissions import CONSOLE_ROLES, may_read

NOT_FOUND = "Cet aperçu n'existe pas, ou vous n'avez pas accès à cette conversation."
EVIDENCE_CARD = {
    "kind": "evidence_upload",
    "title": "Vous pouvez déposer des captures d'écran ici",
    "text": "Captures d'écran, photos ou documents PDF : ils sont conservés tels quels, sous scellés. Nous voyons "
            "un aperçu sans les informations cachées du fichier ; l'original n'est transmis au service local "
            "qu'avec votre accord. Vous recevez un reçu pour chaque fichier.",
}


async def _participating(request: Request, account: Account, conversation_id: str) -> bool:
    from chat.models import Participant

    async with state_of(request).sessions() as session:
        found = await session.scalar(select(Participant.id).where(
            Participant.conversation_id == conversation_id, Participant.account_id == account.id,
            Participant.role == "psychologist", Participant.left_at.is_(None)))
        return found is not None


async def preview(request: Request) -> Response:
    """``GET /console/pieces/{id}/apercu``: the metadata-free preview, to staff entitled to the tchat; 404 for an
    unknown attachment and a forbidden one alike (nothing tells them apart)."""
    signed = await access.signed_in(request, roles=CONSOLE_ROLES)
    if isinstance(signed, Response):
        return signed
    state = state_of(request)
    attachment = await attachments.get(state.sessions, str(request.path_params["id"]))
    conversation = await store.get(state.sessions, attachment.conversation_id) if attachment else None
    if attachment is None or conversation is None or not attachment.image or attachment.purged:
        return PlainTextResponse(NOT_FOUND, status_code=404)
    account = signed.account
    participating = account.role == "psychologist" and await _participating(request, account, conversation.id)
    if not may_read(account, conversation, participating=participating):
        return PlainTextResponse(NOT_FOUND, status_code=404)
    data = await attachments.sealed_bytes(state.sessions, config.of(state).key, attachment, "preview")
    if data is None:
        return PlainTextResponse(NOT_FOUND, status_code=404)
    return Response(data, media_type="image/jpeg", headers={
        "Cache-Control": "no-store", "Content-Disposition": 'inline; filename="apercu.jpg"'})


async def request_evidence(console: Console, fields: dict[str, Any]) -> None:
    """The operator asks for evidence in one click: a card with the upload button, in the transcript."""
    conversation = await console.conversation(fields, need="manage")
    if conversation is None:
        return
    if conversation.status != "active":
        await console.error("conversation_closed", conversation.id)
        return
    await conversations.post_card(console.state, conversation.id, dict(EVIDENCE_CARD), author="operator",
                                  author_id=console.account.id)
