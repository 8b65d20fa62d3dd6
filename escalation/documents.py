"""The documents of a signalement: what the visitor handed over (on the consent form, or later from /suivi), listed
with their receipts, and the originals the local service downloads — each download audited.

The rows and sealed bytes belong to ``chat.attachments``; this module links them to signalements and decides who
may have them: only the local service the signalement was sent to, only the files the visitor chose.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from audit import trail
from chat.attachments import config as attachment_config
from chat.attachments import store as attachments
from chat.attachments import web as attachment_web
from chat.errors import ApiError
from chat.state import state_of
from escalation import codes, inbox
from escalation.api import TOO_MANY, UNKNOWN_CODE, allow_followup
from escalation.models import Signalement, SignalementAttachment
from operators import access

log = logging.getLogger("pnav.escalation.documents")

NOT_FOUND = "Ce document n'existe pas, ou il n'a pas été transmis à votre service."
SIGNALEMENT_CLOSED = ("Ce signalement est clos : il n'est plus possible d'y ajouter un document. Vous pouvez ouvrir "
                      "un nouveau tchat pour être aidé·e.")


async def of_signalement(sessions: async_sessionmaker[AsyncSession], signalement_id: str) -> list[attachments.Stored]:
    """The documents handed over with this signalement and still held, oldest first."""
    async with sessions() as session:
        ids = list(await session.scalars(select(SignalementAttachment.attachment_id)
                                         .where(SignalementAttachment.signalement_id == signalement_id)))
        return [a for a in await attachments.of_ids(session, ids) if not a.purged]


async def _signalement_by_code(request: Request) -> Signalement:
    state = state_of(request)
    if not allow_followup(state, request):
        raise ApiError(429, "rate_limited", TOO_MANY)
    canonical = codes.normalise(str(request.path_params.get("code", ""))[:64])
    signalement = None
    if canonical:
        async with state.sessions() as session:
            signalement = await session.scalar(select(Signalement).where(
                Signalement.followup_hash == codes.hash_code(canonical)))
    if signalement is None:
        raise ApiError(404, "unknown_followup_code", UNKNOWN_CODE)
    return signalement


async def add_from_followup(request: Request) -> Response:
    """``POST /api/v1/followup/{code}/attachments`` (multipart ``file``, ``client_id``, ``keep_name``): the visitor
    adds a document to her signalement with her follow-up code; the service receives it with the others."""
    state = state_of(request)
    signalement = await _signalement_by_code(request)
    if signalement.status == "closed" or signalement.purged_at is not None:
        raise ApiError(409, "signalement_closed", SIGNALEMENT_CLOSED)
    if not attachment_web.allow_source(state, request):
        raise ApiError(429, "rate_limited", attachment_web.TOO_FAST)
    cfg = attachment_config.of(state)
    received = await attachment_web.read(state, request)
    found = await attachments.find(state.sessions, signalement.conversation_id, received.client_id)
    if found is not None:  # a retry: the same receipt, nothing stored again
        return JSONResponse(found.receipt(), status_code=201, headers={"Cache-Control": "no-store"})
    checked = await attachment_web.check(state, received)
    try:
        async with state.sessions.begin() as session:
            added = await attachments.add_to_followup(
                session, cfg.key, signalement.conversation_id, checked, received.client_id,
                received.filename if received.keep_name else None, cfg.files_per_tchat)
            if not added.duplicate:
                session.add(SignalementAttachment(signalement_id=signalement.id, attachment_id=added.attachment.id,
                                                  source="followup", added_at=added.attachment.received_at))
                await session.execute(update(Signalement).where(Signalement.id == signalement.id)
                                      .values(updated_at=added.attachment.received_at))
                await trail.record(session, actor="visitor", action="signalement.document_added",
                                   target=signalement.id, details={"attachment": added.attachment.id,
                                                                   "size": added.attachment.size,
                                                                   "media_type": added.attachment.media_type})
    except attachments.TooMany as exc:
        raise ApiError(409, "too_many_attachments", str(exc)) from None
    if not added.duplicate:
        log.info("document added from /suivi: %d bytes, %s", added.attachment.size, added.attachment.media_type)
    return JSONResponse(added.attachment.receipt(), status_code=201, headers={"Cache-Control": "no-store"})


def _disposition(name: str) -> str:
    """``attachment`` with the name in both forms (RFC 6266): ASCII for old clients, UTF-8 for the others."""
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_") or "document"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


async def download(request: Request) -> Response:
    """``GET /service/signalements/{id}/documents/{attachment}``: the original, byte for byte, to the local service
    the signalement was sent to, if the visitor handed that file over; audited each time; the receipt in headers."""
    state = state_of(request)
    signed = await access.signed_in(request, roles=("local_service",))
    if isinstance(signed, Response):
        return signed
    signalement = await inbox.get(state.sessions, signed.account, str(request.path_params["id"]))
    attachment_id = str(request.path_params["attachment"])
    handed = signalement is not None and any(
        a.id == attachment_id for a in await of_signalement(state.sessions, signalement.id))
    attachment = await attachments.get(state.sessions, attachment_id) if handed else None
    if signalement is None or attachment is None or not inbox.may_update(signed.account, signalement):
        return PlainTextResponse(NOT_FOUND, status_code=404)
    data = await attachments.sealed_bytes(state.sessions, attachment_config.of(state).key, attachment, "original")
    if data is None:
        return PlainTextResponse(NOT_FOUND, status_code=404)
    await trail.record(state, actor=signed.account.username, action="signalement.document_downloaded",
                       target=signalement.id, details={"attachment": attachment.id, "size": attachment.size,
                                                       "media_type": attachment.media_type})
    return Response(data, media_type=attachment.media_type, headers={
        "Content-Disposition": _disposition(attachment.name), "Cache-Control": "no-store",
        "X-Pnav-Sha256": attachment.sha256, "X-Pnav-Received-At": attachment.at,
    })
