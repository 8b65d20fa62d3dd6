"""HTTP and WebSocket endpoints of the chat core: start a conversation, health, the visitor socket."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

import routing
from chat import conversations, feedback, hooks, languages, openapi, store
from chat.db import utcnow
from chat.deadlines import answer_within
from chat.errors import ApiError, read_json_object
from chat.limits import TOO_MANY_TCHATS, limits_of
from chat.models import CATEGORIES, ROLES, UNLOCATED, Conversation
from chat.state import ChatState, state_of
from chat.visitor_socket import VisitorSocket
from routing.communes import DEFAULT_LIMIT, MAX_QUERY_CHARS

log = logging.getLogger("pnav")

UNKNOWN_CATEGORY = "Ce type de tchat n'existe pas. Choisissez l'un des trois tchats proposés sur l'accueil."
UNKNOWN_ROLE = "Indiquez si vous êtes victime, témoin, proche ou professionnel."
# A visitor whose socket has been gone this long while queued or in a tchat has left: their conversation is
# marked abandoned so the queue stays honest and the operator knows. Five minutes covers a phone that switches
# networks, a tunnel or a locked screen; a person who comes back later starts a new tchat.
ABANDON_AFTER = timedelta(minutes=5)
# The sweeper looks every 30 s: abandonment is reported within 5½ minutes at worst.
SWEEP_INTERVAL = 30.0


def _routing_error(exc: routing.RoutingError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, **exc.details)


# POST /api/v1/conversations answers within this time (the database calls it makes have their own 2–3 s deadlines,
# but a pool checkout, a statement and a release can add up past 5 s). 3 s: the person is promised an answer
# within 5 s, and the request's own path took up to 1.2 s more on the loaded test machine (SECURITY.md,
# PostgreSQL frozen); a healthy database creates a tchat in milliseconds.
START_DEADLINE = 3.0
# /healthz answers within this time whatever the backends do (a load balancer's check times out at about 5 s):
# the database and broker checks run side by side, and one that has not answered by then counts as down.
HEALTH_DEADLINE = 3.0


async def _database_answers(state: ChatState) -> bool:
    try:
        async with state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except (SQLAlchemyError, OSError):
        return False


async def healthz(request: Request) -> Response:
    state = state_of(request)
    checks = [asyncio.ensure_future(_database_answers(state)), asyncio.ensure_future(state.broker.ping())]
    await asyncio.wait(checks, timeout=HEALTH_DEADLINE)
    database, broker = (check.done() and not check.cancelled() and check.exception() is None and check.result()
                        for check in checks)
    for check in checks:
        # A check still waiting for a frozen backend is left to its own deadlines (2–3 s), not cancelled midway
        # through a pool checkout; its result is consumed so that nothing is logged as never retrieved.
        check.add_done_callback(lambda done: None if done.cancelled() else done.exception())
    if database and broker:
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "unavailable", "database": database, "broker": broker}, status_code=503)


async def routing_lookup(request: Request) -> Response:
    try:
        result = routing.lookup(request.query_params.get("postal_code", ""))
    except routing.RoutingError as exc:
        raise _routing_error(exc) from None
    return JSONResponse(result.as_json())


async def commune_search(request: Request) -> Response:
    """``GET /api/v1/communes?q=…``: communes by name (accents and case ignored) or postal code, for a visitor who
    does not know the code, and for the operator who sets the commune of a tchat started sans localisation."""
    if "q" not in request.query_params:
        raise ApiError(422, "query_required", "Indiquez le nom de la commune (deux lettres au moins) ou son code "
                       "postal.")
    query = request.query_params["q"][:MAX_QUERY_CHARS]
    limit = request.query_params.get("limit", "")[:4]
    found = routing.search(query, int(limit) if limit.isascii() and limit.isdigit() else DEFAULT_LIMIT)
    return JSONResponse({"query": query, "communes": [commune.as_json() for commune in found]})


def _choice(data: dict[str, object], key: str, allowed: tuple[str, ...], code: str, message: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or value not in allowed:
        raise ApiError(422, code, message)
    return value


async def create_conversation(request: Request) -> Response:
    state = state_of(request)
    data = await read_json_object(request)
    category = _choice(data, "category", CATEGORIES, "unknown_category", UNKNOWN_CATEGORY)
    role = _choice(data, "role", ROLES, "unknown_role", UNKNOWN_ROLE)
    new = dataclasses.replace(_located(category, role, data), language=_language(data))
    if not limits_of(state).allow_tchat(request):
        raise ApiError(429, "too_many_tchats", TOO_MANY_TCHATS)
    # A person starting a tchat hears back within 5 s even if the database is frozen: past the deadline the
    # storage error handler answers 503 in French and the start page lets them try again. A tchat committed after
    # the deadline is left queued without its visitor; the sweeper marks it abandoned.
    conversation, token = await answer_within(START_DEADLINE, _start(state, request, new))
    # Sans localisation, the location fields are unknown: null in the answer (stored as empty strings).
    return JSONResponse(
        {"id": conversation.id, "token": token, "force": conversation.force or None,
         "department": conversation.department or None, "insee": conversation.insee or None,
         "commune": conversation.commune_name or None, "status": conversation.status},
        status_code=201,
    )


def _language(data: dict[str, object]) -> str:
    """The language of the visitor's pages; anything else is French rather than a refusal (never block someone
    in distress over a detail)."""
    value = data.get("language")
    return value if isinstance(value, str) and value in languages.LANGUAGES else languages.SOURCE


def _located(category: str, role: str, data: dict[str, object]) -> store.NewConversation:
    """Where the tchat goes: by postal code (and commune), by a commune chosen by name (``insee`` alone), or
    nowhere yet (``"unlocated": true``: the queue both forces see)."""
    if data.get("unlocated") is True:
        # The other fields keep their types even when unused (the OpenAPI contract, checked by schemathesis).
        if ("postal_code" in data and not isinstance(data["postal_code"], str)) or not isinstance(
                data.get("insee"), str | None):
            raise ApiError(422, "invalid_postal_code", "Indiquez un code postal de cinq chiffres, ou aucun.")
        return store.NewConversation(category=category, requester_role=role, postal_code="", insee="",
                                     commune_name="", department="", force=UNLOCATED, local_service_id=None,
                                     local_service_approximate=False)
    postal_code, insee = data.get("postal_code"), data.get("insee")
    if not isinstance(postal_code, str):
        postal_code = "" if postal_code is None else str(postal_code)
    if insee is not None and not isinstance(insee, str):
        raise ApiError(422, "insee_not_in_postal_code", "La commune choisie ne correspond pas à ce code postal.")
    try:
        if insee and not postal_code.strip():
            resolved = routing.resolve_commune(insee)
        else:
            resolved = routing.resolve(postal_code, insee or None)
    except routing.RoutingError as exc:
        raise _routing_error(exc) from None
    service = resolved.local_service
    return store.NewConversation(
        category=category, requester_role=role, postal_code=resolved.postal_code, insee=resolved.insee,
        commune_name=resolved.commune_name, department=resolved.department, force=resolved.force,
        local_service_id=service.id if service else None,
        local_service_approximate=service.approximate if service else False,
    )


async def _start(state: ChatState, request: Request, new: store.NewConversation) -> tuple[Conversation, str]:
    conversation, token = await store.create_conversation(state.sessions, new)
    await hooks.notify_visitor_connected(state, conversation.id, request)
    await conversations.publish_queue(state, conversation.force, conversation.category)
    return conversation, token


async def leave_conversation(request: Request) -> Response:
    """Quick exit when the socket is not open (``navigator.sendBeacon``): the visitor's token ends the tchat."""
    state = state_of(request)
    data = await read_json_object(request)
    token = data.get("token")
    if not isinstance(token, str) or not token:
        raise ApiError(422, "invalid_token", "Le jeton de conversation est manquant.")
    conversation = await store.by_token(state.sessions, token)
    if conversation is not None:
        await conversations.finish(state, conversation.id, status="abandoned", by="visitor")
    # The same answer whether or not the token existed: the endpoint reveals nothing.
    return Response(status_code=204)


async def visitor_socket(websocket: WebSocket) -> None:
    await VisitorSocket(state_of(websocket), websocket).run()


async def abandon_sweeper(state: ChatState) -> None:
    """Mark abandoned the open conversations whose visitor has been gone longer than ABANDON_AFTER."""
    while True:
        await asyncio.sleep(SWEEP_INTERVAL)
        with contextlib.suppress(SQLAlchemyError, OSError):
            await sweep_abandoned(state)


async def sweep_abandoned(state: ChatState) -> list[str]:
    cutoff = utcnow() - ABANDON_AFTER
    async with state.sessions() as session:
        candidates = list(await session.scalars(
            select(Conversation.id).where(
                Conversation.status.in_(store.OPEN_STATUSES), Conversation.visitor_seen_at < cutoff
            ).limit(1000)
        ))
    present = await state.presence.present(candidates)
    gone = [cid for cid in candidates if cid not in present]
    for conversation_id in gone:
        await conversations.finish(state, conversation_id, status="abandoned", by="visitor")
    return gone


async def queue_refresher(state: ChatState) -> None:
    """Republish every queue periodically: positions heal even if a publish was lost (Redis restart)."""
    while True:
        # 15 s: fresh enough for a waiting estimate, negligible load (6 small queries per process).
        await asyncio.sleep(15)
        with contextlib.suppress(SQLAlchemyError, OSError):
            await conversations.publish_all_queues(state)


routes: list[BaseRoute] = [
    Route("/healthz", healthz),
    Route("/api/v1/routing", routing_lookup),
    Route("/api/v1/communes", commune_search),
    Route("/api/v1/conversations", create_conversation, methods=["POST"]),
    Route("/api/v1/conversations/leave", leave_conversation, methods=["POST"]),
    Route("/api/v1/feedback", feedback.give_feedback, methods=["POST"]),
    Route("/api/v1/openapi.json", openapi.document),
    WebSocketRoute("/ws/visitor", visitor_socket),
]

background_tasks = [abandon_sweeper, queue_refresher]
