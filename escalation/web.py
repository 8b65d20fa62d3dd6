"""The routes, frames, hooks, background tasks and middleware of escalation, for the app factory."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from chat.startup_check import RequireConfig
from chat.state import ChatState
from escalation import api, config, documents, frames, pages, purge, sealing, webhooks
from operators.frames import frames_of

routes: list[BaseRoute] = [
    Route("/api/v1/signalements", api.consent, methods=["POST"]),
    Route("/api/v1/signalements/refuse", api.refuse, methods=["POST"]),
    Route("/api/v1/signalements/pending", api.pending, methods=["POST"]),
    Route("/api/v1/followup/{code}", api.followup, methods=["GET"]),
    Route("/api/v1/followup/{code}/attachments", documents.add_from_followup, methods=["POST"]),
    Route("/service", pages.inbox_page, methods=["GET"]),
    Route("/service/signalements/{id}", pages.signalement_page, methods=["GET"]),
    Route("/service/signalements/{id}/etape", pages.record_step, methods=["POST"]),
    Route("/service/signalements/{id}/documents/{attachment}", documents.download, methods=["GET"]),
    Route("/levee", pages.lifting_page, methods=["GET"]),
    Route("/levee", pages.file_request, methods=["POST"]),
    Route("/levee/{id}/approuver", pages.approve, methods=["POST"]),
    Route("/levee/{id}/refuser", pages.reject, methods=["POST"]),
]

background_tasks = [purge.daily_purge, webhooks.webhook_loop]
middleware = [Middleware(RequireConfig, load=config.of)]  # no start without the escalation secrets


def install(state: ChatState) -> None:
    """Escalation's console frames and its listener on visitors' connections, for this app's state."""
    table = frames_of(state)
    table.add("propose_signalement", frames.propose_signalement, roles=("operator",))
    table.add("flag", frames.flag, roles=("operator",))
    state.hooks.connected.append(sealing.seal_connection)  # every visitor connection's address, sealed
