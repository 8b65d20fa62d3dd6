"""``POST /api/v1/attachments``: a visitor attaches a file to her tchat and gets her receipt.

The visitor's token comes in ``Authorization: Bearer …`` (never in the URL); the file is read with a hard cap,
accepted by its content, sealed with its preview, given the next seq, committed, then published as an ``attachment``
frame. Logs carry sizes and types only: never a name, a digest or anything from the file.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chat import conversations, store
from chat.attachments import checks, config, upload
from chat.attachments import store as attachments
from chat.errors import ApiError
from chat.limits import limits_of
from chat.ratelimit import KeyedLimiter
from chat.startup_check import RequireConfig
from chat.state import ChatState, state_of
from chat.visitor_socket import token_usable

log = logging.getLogger("pnav.attachments")

LINK_EXPIRED = ("Cette conversation n'est plus disponible (elle est terminée ou le lien a expiré). "
                "Vous pouvez en commencer une nouvelle depuis l'accueil.")
CLOSED = "Cette conversation est terminée : le fichier n'a pas été ajouté."
TOO_FAST = "Vous envoyez beaucoup de fichiers en peu de temps : patientez une minute puis réessayez."
BUSY = "Beaucoup de fichiers arrivent en ce moment : le vôtre sera renvoyé dans un instant."
NO_STORE = {"Cache-Control": "no-store"}
_LIMITER = "chat.attachments.limiter"


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and 0 < len(token) <= 128 else None


def allow_source(state: ChatState, request: Request) -> bool:
    """Uploads per minute per source address (the keyed hash of chat.limits), when the limit is on."""
    per_minute = config.of(state).uploads_per_minute
    if per_minute <= 0:
        return True
    source = limits_of(state).source(request)
    limiter = state.extension(_LIMITER, lambda: KeyedLimiter(per_minute / 60, per_minute))
    return source is None or limiter.allow(source)


async def read(state: ChatState, request: Request) -> upload.Upload:
    """Read one upload under the process's gate; raises ApiError with a French message."""
    cfg = config.of(state)
    if cfg.reading.locked():
        raise ApiError(429, "rate_limited", BUSY, retry=True)
    async with cfg.reading:
        try:
            return await upload.read(request, cfg.max_bytes)
        except checks.Refused as refused:
            log.info("attachment refused: %s", refused.code)
            raise ApiError(refused.status, refused.code, refused.message) from None


async def check(state: ChatState, received: upload.Upload) -> checks.Checked:
    """Accept the file by its content (images decoded one at a time per process); ApiError otherwise."""
    cfg = config.of(state)
    try:
        async with cfg.decoding:
            return await asyncio.to_thread(checks.check, received.data, cfg.max_pixels)
    except checks.Refused as refused:
        log.info("attachment refused: %s, %d bytes", refused.code, len(received.data))
        raise ApiError(refused.status, refused.code, refused.message) from None


async def attach(request: Request) -> Response:
    state = state_of(request)
    token = bearer_token(request)
    conversation = await store.by_token(state.sessions, token) if token else None
    if conversation is None or not token_usable(conversation, state.settings.token_grace_seconds):
        raise ApiError(401, "invalid_token", LINK_EXPIRED)
    if not allow_source(state, request):
        raise ApiError(429, "rate_limited", TOO_FAST)
    cfg = config.of(state)
    received = await read(state, request)
    # A retry of a file already stored gets its receipt again, even if the tchat has ended meanwhile.
    found = await attachments.find(state.sessions, conversation.id, received.client_id)
    if found is not None:
        if found.seq is not None:
            # Published again, like a retried message: its first attempt may have died before publishing.
            await conversations.publish(state, conversation.id, {**found.frame_fields(), "seq": found.seq,
                                                                 "at": found.at})
        return JSONResponse(found.receipt(), status_code=201, headers=NO_STORE)
    if conversation.status not in store.OPEN_STATUSES:
        raise ApiError(409, "conversation_closed", CLOSED)
    checked = await check(state, received)
    try:
        added = await attachments.add_to_tchat(state.sessions, cfg.key, conversation.id, checked, received.client_id,
                                               received.filename if received.keep_name else None,
                                               cfg.files_per_tchat)
    except store.ConversationClosed:
        raise ApiError(409, "conversation_closed", CLOSED) from None
    except attachments.TooMany as exc:
        raise ApiError(409, "too_many_attachments", str(exc)) from None
    if added.message is not None:
        # A retry is published again, like a retried message: its first attempt may have died before publishing.
        await conversations.publish(state, conversation.id, added.message.frame())
    if not added.duplicate:
        log.info("attachment stored: %d bytes, %s", added.attachment.size, added.attachment.media_type)
    return JSONResponse(added.attachment.receipt(), status_code=201, headers=NO_STORE)


def preview_url(frame: dict[str, Any]) -> str | None:
    """Where staff fetch an attachment's preview (images only; a PDF is listed, not rendered)."""
    media_type = str(frame.get("media_type", ""))
    return f"/console/pieces/{frame['id']}/apercu" if media_type.startswith("image/") else None


routes: list[BaseRoute] = [Route("/api/v1/attachments", attach, methods=["POST"])]
middleware = [Middleware(RequireConfig, load=config.of)]  # no start without a usable attachment key
