"""The routes, background tasks and static files of the operators package, and ``install``: its console frames and
its part of the visitor's socket, for the app factory (``pnav/app.py``)."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from chat.state import ChatState
from operators import (
    admin,
    attachments,
    console,
    directory,
    enrolment,
    handlers,
    invitations,
    location,
    offers,
    pages,
    suggest,
    team,
    transfers,
)
from operators.frames import frames_of
from operators.roster import console_heartbeats

STATIC_DIR = Path(__file__).resolve().parent / "static"

routes: list[BaseRoute] = [
    Route("/login", pages.login_form, methods=["GET"]),
    Route("/login", pages.login, methods=["POST"]),
    Route("/logout", pages.logout, methods=["POST"]),
    Route("/console", pages.console_page, methods=["GET"]),
    Route("/console/reponses", pages.canned_page, methods=["GET"]),
    Route("/console/reponses", pages.canned_save, methods=["POST"]),
    Route("/console/reponses/supprimer", pages.canned_delete, methods=["POST"]),
    Route("/admin", admin.index, methods=["GET"]),
    Route("/admin/comptes/nouveau", admin.new_account, methods=["GET"]),
    Route("/admin/comptes/nouveau", admin.create_account, methods=["POST"]),
    Route("/admin/comptes/{username}", admin.account_page, methods=["GET"]),
    Route("/admin/comptes/{username}", admin.account_action, methods=["POST"]),
    Route("/admin/horaires", admin.hours_page, methods=["GET"]),
    Route("/admin/horaires", admin.hours_save, methods=["POST"]),
    Route("/admin/services", admin.services_page, methods=["GET"]),
    Route("/admin/services/{service_id}", admin.service_page, methods=["GET"]),
    Route("/admin/services/{service_id}", admin.service_save, methods=["POST"]),
    Route("/compte/lien/{token}", enrolment.link_page, methods=["GET"]),
    Route("/compte/lien/{token}", enrolment.link_submit, methods=["POST"]),
    Route("/console/pieces/{id}/apercu", attachments.preview, methods=["GET"]),
    Mount("/console/static", app=StaticFiles(directory=STATIC_DIR), name="console-static"),
    WebSocketRoute("/ws/operator", console.endpoint),
]

background_tasks = [console_heartbeats, directory.directory_refresher, offers.offer_sweeper]

OPERATOR = ("operator",)
PSYCHOLOGIST = ("psychologist",)
SUPERVISOR = ("supervisor",)
WRITERS = ("operator", "psychologist")
READERS = ("operator", "psychologist", "supervisor")


def install(state: ChatState) -> None:
    """The operators package's console frames and its part of the visitor's socket, for this app's state."""
    table = frames_of(state)
    table.add("take", handlers.take, roles=OPERATOR)
    table.add("send", handlers.send, roles=WRITERS)
    table.add("typing", handlers.typing, roles=WRITERS)
    table.add("read", handlers.read, roles=READERS)
    table.add("resume", handlers.resume, roles=READERS)
    table.add("close", handlers.close, roles=OPERATOR)
    table.add("transfer", transfers.handle, roles=OPERATOR)
    table.add("invite_psychologist", invitations.handle_invite, roles=OPERATOR)
    table.add("accept_invitation", invitations.handle_accept, roles=PSYCHOLOGIST)
    table.add("leave", invitations.handle_leave, roles=PSYCHOLOGIST)
    table.add("whisper", team.whisper, roles=READERS)
    table.add("unwatch", team.unwatch, roles=SUPERVISOR)
    table.add("help", team.ask_for_help, roles=OPERATOR)
    table.add("accept_offer", offers.accept, roles=OPERATOR)
    table.add("set_status", offers.set_status, roles=OPERATOR)
    table.add("set_mode", offers.set_mode, roles=SUPERVISOR)
    table.add("set_commune", location.set_commune, roles=OPERATOR)
    table.add("suggest", suggest.suggest, roles=OPERATOR)  # orientation cards
    # Evidence: the operator in charge invites the visitor to attach screenshots (a card with the upload button).
    table.add("request_evidence", attachments.request_evidence, roles=OPERATOR)
    # The visitor is asked before a psychologist joins: their socket carries the question and their answer, and a
    # reload shows them again (stored in the transcript).
    hooks = state.hooks
    hooks.frames["psychologist_answer"] = invitations.visitor_answer
    hooks.events.update({"psychologist_offer", "psychologist_answer"})
    hooks.transcript_events.update({"psychologist_offer", "psychologist_answer"})
    hooks.welcomed.append(invitations.offered)
