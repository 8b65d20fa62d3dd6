"""The routes, background tasks and static files of the operators package, for the app factory."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from chat import hooks
from operators import (
    admin,
    attachments,
    console,
    directory,
    enrolment,
    frames,
    handlers,
    invitations,
    location,
    offers,
    pages,
    suggest,
)
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

# Importing handlers registers the built-in frames; suggest registers the orientation cards.
__all__ = ["handlers", "routes", "suggest"]

background_tasks = [console_heartbeats, directory.directory_refresher, offers.offer_sweeper]

# The visitor is asked before a psychologist joins: their socket carries the question and their answer.
hooks.visitor_frames["psychologist_answer"] = invitations.visitor_answer
hooks.visitor_events.update({"psychologist_offer", "psychologist_answer"})
hooks.transcript_events.update({"psychologist_offer", "psychologist_answer"})  # a reload shows them again
if invitations.offered not in hooks.visitor_welcomed:
    hooks.visitor_welcomed.append(invitations.offered)

location.register()
# Evidence: the operator in charge invites the visitor to attach screenshots (a card with the upload button).
frames.register("request_evidence", attachments.request_evidence, roles=("operator",))
