"""Operators who speak the visitor's language (issue 22): set by a supervisor, preferred in offer mode for a wait,
then anyone; the console lists first the tchats in their languages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from chat.db import utcnow
from chat.models import Conversation
from operators.models import Account
from tests.client import start_tchat
from tests.operators.staff import console_for, make
from tests.operators.test_admin import admin_client, audit_actions, csrf_of
from tests.operators.test_offers import offer_mode
from tests.servers import LiveServer


async def languages_of(server: LiveServer, username: str) -> str:
    async def read(state: Any) -> str:
        async with state.sessions() as session:
            return str(await session.scalar(select(Account.languages).where(Account.username == username)))

    return await server.call(read)


async def test_supervisor_sets_the_languages_an_operator_speaks(staff_live: LiveServer) -> None:
    supervisor = await make(staff_live, "sup.langues", "supervisor", "police")
    await make(staff_live, "op.langues", "operator", "police")
    async with await admin_client(staff_live, supervisor) as http:
        page = (await http.get("/admin/comptes/op.langues")).text
        assert 'name="languages" value="ar"' in page
        saved = await http.post("/admin/comptes/op.langues", data={
            "csrf": csrf_of(page), "action": "profil", "capacity": "4", "languages": ["uk", "ar"]})
        assert saved.status_code == 303
        assert await languages_of(staff_live, "op.langues") == "fr,ar,uk"
        again = (await http.get("/admin/comptes/op.langues")).text
        assert 'id="langue-ar" name="languages" value="ar" checked' in again
        refused = await http.post("/admin/comptes/op.langues", data={
            "csrf": csrf_of(page), "action": "profil", "capacity": "4", "languages": ["xx"]})
        assert refused.status_code == 422 and "Langue inconnue" in refused.text
    assert await languages_of(staff_live, "op.langues") == "fr,ar,uk"
    assert ("sup.langues", "account.languages_changed", "op.langues") in await audit_actions(staff_live)


async def speaks(server: LiveServer, username: str, languages: str) -> None:
    async def run(state: Any) -> None:
        async with state.sessions.begin() as session:
            await session.execute(update(Account).where(Account.username == username).values(languages=languages))

    await server.call(run)


async def test_offer_goes_first_to_who_speaks_the_language_then_to_anyone(staff_live: LiveServer) -> None:
    """A tchat in Arabic is offered to the operator who speaks Arabic, not to the one who arrived first; with
    nobody speaking Ukrainian, a tchat in Ukrainian waits (60 s by default), then is offered to anyone."""
    french = await make(staff_live, "agent.francais", "operator", "police")
    arabic = await make(staff_live, "agent.arabe", "operator", "police")
    await speaks(staff_live, "agent.arabe", "fr,ar")
    french_console = await console_for(staff_live, french)
    arabic_console = await console_for(staff_live, arabic)
    await offer_mode(staff_live)

    in_arabic = await start_tchat(staff_live, postal_code="75011", language="ar")
    offer = await arabic_console.expect("offer", 10)
    assert offer["conversation"] == in_arabic["id"] and offer["language"] == "ar"
    await arabic_console.send({"type": "accept_offer", "offer": offer["offer"]})
    await arabic_console.expect("taken", 10, conversation=in_arabic["id"])

    in_ukrainian = await start_tchat(staff_live, postal_code="75011", language="uk")
    # Several sweeps: nobody who speaks Ukrainian, and the wait has not passed.
    assert await french_console.quiet("offer", 2.5)

    async def waited(state: Any) -> None:
        async with state.sessions.begin() as session:
            await session.execute(update(Conversation).where(Conversation.id == in_ukrainian["id"])
                                  .values(queued_at=utcnow() - timedelta(seconds=61)))

    await staff_live.call(waited)
    late = await french_console.expect("offer", 10)
    assert late["conversation"] == in_ukrainian["id"]


async def test_canned_answers_have_a_language(staff_live: LiveServer) -> None:
    """A supervisor writes a canned answer in Arabic; the consoles receive its language; an unknown one is refused."""
    from operators import canned

    supervisor = await make(staff_live, "sup.reponses", "supervisor", "police")
    async with await admin_client(staff_live, supervisor) as http:
        page = (await http.get("/console/reponses")).text
        assert '<option value="ar">Arabe</option>' in page
        saved = await http.post("/console/reponses", data={
            "csrf": csrf_of(page), "title": "Bienvenue (arabe)", "body": "مرحبا، أنا هنا لمساعدتك.", "position": "50",
            "language": "ar"})
        assert saved.status_code == 303
        refused = await http.post("/console/reponses", data={
            "csrf": csrf_of(page), "title": "X", "body": "Y", "position": "51", "language": "xx"})
        assert refused.status_code == 422
    answers = await staff_live.call(lambda state: canned.all_answers(state.sessions))
    written = [canned.as_json(a) for a in answers if a.title == "Bienvenue (arabe)"]
    assert [a["language"] for a in written] == ["ar"] and all(canned.as_json(a)["language"] for a in answers)
