"""The consented signalement from end to end: proposal, consent form, consent, the local service's inbox, and
the visitor's anonymous follow-up."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from escalation import codes
from escalation.models import Signalement
from tests.escalation.conftest import Live
from tests.escalation.flow import CONTACT, PARIS_11, Browser, consent, expect_card, propose, taken_tchat
from tests.operators.staff import make


async def _signalement(live: Live) -> Signalement:
    async def fetch(state: Any) -> Signalement:
        async with state.sessions() as session:
            found = await session.scalar(select(Signalement))
            assert found is not None
            return found

    return await live.server.call(fetch)


async def test_whole_path_on_postgresql(pg: Live) -> None:
    """Operator proposes → visitor consents → only the competent service sees it → its steps appear in follow-up."""
    server = pg.server
    tchat = await taken_tchat(server)
    form = await propose(tchat)
    assert form["service"]["name"] == "Commissariat central de police de Paris 11e arrondissement"
    assert "12-14 passage Charles-Dallery" in form["service"]["address"]
    assert any(item["value"].startswith("Violences répétées") for item in form["sent"])
    assert {f["name"] for f in form["fields"]} >= {"name", "phone", "email", "preferred_times", "leave_message",
                                                   "consent"}
    assert "Commissariat central" in form["consent_text"] and form["why"]
    seen_by_operator = await tchat.console.expect("consent_request", conversation=tchat.id)
    assert seen_by_operator["proposal"] == form["proposal"]

    response = await consent(server, tchat.token, form["consent_version"])
    assert response.status_code == 201, response.text
    code = response.json()["followup_code"]
    assert codes.normalise(code) is not None and len(codes.normalise(code) or "") * 5 >= 80
    assert (await tchat.visitor.expect("consent_result"))["accepted"] is True
    evidence = await expect_card(tchat.visitor, "evidence")
    assert any("captures d'écran" in tip for tip in evidence["advice"])
    assert (await tchat.console.expect("consent_result", conversation=tchat.id)).get("followup_code") is None

    stored = await _signalement(pg)
    assert stored.service_id == PARIS_11 and stored.followup_hash == codes.hash_code(code)
    assert stored.contact_ciphertext is not None and CONTACT["phone"].encode() not in stored.contact_ciphertext

    service = await make(server, "commissariat.paris11", "local_service", "police", service_id=PARIS_11)
    other = await make(server, "commissariat.paris3", "local_service", "police",
                       service_id="commissariat_police-75103-01")
    mine, theirs = await Browser.sign_in(server, service), await Browser.sign_in(server, other)
    try:
        inbox = await mine.get("/service")
        assert inbox.status_code == 200 and f"/service/signalements/{stored.id}" in inbox.text
        detail = await mine.get(f"/service/signalements/{stored.id}")
        assert CONTACT["phone"] in detail.text and "Violences répétées" in detail.text
        assert f"/service/signalements/{stored.id}" not in (await theirs.get("/service")).text
        assert (await theirs.get(f"/service/signalements/{stored.id}")).status_code == 404
        assert CONTACT["phone"] not in (await theirs.get(f"/service/signalements/{stored.id}")).text

        for step in ("acknowledged", "contact_made", "closed"):
            answer = await mine.submit(f"/service/signalements/{stored.id}",
                                       f"/service/signalements/{stored.id}/etape", {"status": step})
            assert answer.status_code == 303 and "erreur" not in answer.headers["location"]
        refused = await theirs.submit("/service", f"/service/signalements/{stored.id}/etape", {"status": "closed"})
        assert refused.status_code == 303 and refused.headers["location"] == "/service"
    finally:
        await mine.close()
        await theirs.close()

    async with httpx.AsyncClient(base_url=server.base) as http:
        followed = await http.get(f"/api/v1/followup/{code.lower()}")
    assert followed.status_code == 200
    body = followed.json()
    assert [entry["status"] for entry in body["history"]] == ["transmitted", "acknowledged", "contact_made",
                                                              "closed"]
    assert body["status"] == "closed"
    text = followed.text
    for personal in (CONTACT["name"], CONTACT["phone"], CONTACT["email"], "Violences répétées", PARIS_11):
        assert personal not in text
    await tchat.visitor.close()
    await tchat.console.close()


async def test_operator_and_other_roles_cannot_open_inbox(esc: Live) -> None:
    """The inbox is for local services and supervisors: an operator is refused, a visitor is sent to sign in."""
    operator = await make(esc.server, "agent.inbox", "operator", "police")
    browser = await Browser.sign_in(esc.server, operator)
    try:
        assert (await browser.get("/service")).status_code == 403
    finally:
        await browser.close()
    async with httpx.AsyncClient(base_url=esc.server.base) as http:
        assert (await http.get("/service")).status_code == 303


async def test_supervisor_of_force_reads_contact_and_read_is_audited(esc: Live) -> None:
    """A supervisor of the service's force sees the contact details, one of the other force does not; reads are
    audited."""
    tchat = await taken_tchat(esc.server)
    form = await propose(tchat)
    assert (await consent(esc.server, tchat.token, form["consent_version"])).status_code == 201
    stored = await _signalement(esc)
    chief = await make(esc.server, "chef.police", "supervisor", "police")
    stranger = await make(esc.server, "chef.gendarmerie", "supervisor", "gendarmerie")
    mine, theirs = await Browser.sign_in(esc.server, chief), await Browser.sign_in(esc.server, stranger)
    try:
        assert CONTACT["email"] in (await mine.get(f"/service/signalements/{stored.id}")).text
        assert (await theirs.get(f"/service/signalements/{stored.id}")).status_code == 404
    finally:
        await mine.close()
        await theirs.close()

    async def reads(state: Any) -> list[str]:
        from audit.models import AuditEvent

        async with state.sessions() as session:
            rows = await session.scalars(select(AuditEvent.actor)
                                         .where(AuditEvent.action == "signalement.contact_read"))
            return list(rows)

    assert await esc.server.call(reads) == ["chef.police"]
    await tchat.visitor.close()
    await tchat.console.close()


async def test_refusal_keeps_tchat_anonymous(esc: Live) -> None:
    """Refusing creates nothing, tells the operator, and a later consent for that proposal is refused."""
    tchat = await taken_tchat(esc.server)
    form = await propose(tchat)
    async with httpx.AsyncClient(base_url=esc.server.base) as http:
        refused = await http.post("/api/v1/signalements/refuse", json={"token": tchat.token})
        assert refused.status_code == 200
        assert (await http.post("/api/v1/signalements/pending", json={"token": tchat.token})).status_code == 404
    assert (await tchat.console.expect("consent_result", conversation=tchat.id))["accepted"] is False
    late = await consent(esc.server, tchat.token, form["consent_version"])
    assert late.status_code == 409 and late.json()["error"]["code"] == "no_pending_proposal"
    await tchat.visitor.send({"type": "send", "client_id": "after", "body": "Je préfère rester anonyme."})
    await tchat.visitor.expect("ack", client_id="after")
    await tchat.visitor.close()
    await tchat.console.close()


async def test_consent_is_checked(esc: Live) -> None:
    """Without the box ticked, without a way to be reached, with a bad token, or twice: a French 4xx each time."""
    tchat = await taken_tchat(esc.server)
    form = await propose(tchat)
    version = form["consent_version"]
    unticked = await consent(esc.server, tchat.token, version, consent=False)
    assert unticked.status_code == 422 and unticked.json()["error"]["code"] == "consent_required"
    unreachable = await consent(esc.server, tchat.token, version, phone="", email="")
    assert unreachable.status_code == 422 and "téléphone" in unreachable.json()["error"]["message"]
    stranger = await consent(esc.server, "x" * 43, version)
    assert stranger.status_code == 401 and stranger.json()["error"]["code"] == "invalid_token"
    async with httpx.AsyncClient(base_url=esc.server.base) as http:
        again = await http.post("/api/v1/signalements/pending", json={"token": tchat.token})
    assert again.status_code == 200 and again.json()["proposal"] == form["proposal"]
    stale = await consent(esc.server, tchat.token, version, proposal="0" * 32)
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "consent_outdated"
    assert (await consent(esc.server, tchat.token, version, proposal=form["proposal"])).status_code == 201
    twice = await consent(esc.server, tchat.token, version)
    assert twice.status_code == 409 and "followup_code" not in twice.text
    await tchat.visitor.close()
    await tchat.console.close()


async def test_followup_unknown_and_rate_limited(esc: Live) -> None:
    """An unknown code is a French 404; guessing many codes quickly is answered 429 in French."""
    async with httpx.AsyncClient(base_url=esc.server.base) as http:
        unknown = await http.get("/api/v1/followup/0000-0000-0000-0000-0000")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_followup_code"
        statuses = [(await http.get(f"/api/v1/followup/{codes.new_code()}")).status_code for _ in range(15)]
    assert 429 in statuses
    async with httpx.AsyncClient(base_url=esc.server.base) as http:
        limited = await http.get(f"/api/v1/followup/{codes.new_code()}")
    assert limited.status_code == 429 and "Patientez" in limited.json()["error"]["message"]


async def test_step_notes_and_repeated_unreachable(esc: Live) -> None:
    """« Personne injoignable » may be recorded at each attempt, other steps once; a note too long is refused
    whole; the notes decrypt for the service only through its page."""
    from escalation import inbox

    server = esc.server
    tchat = await taken_tchat(server)
    form = await propose(tchat)
    assert (await consent(server, tchat.token, form["consent_version"])).status_code == 201
    service = await make(server, "brigade.notes", "local_service", "police", service_id=PARIS_11)
    account = await server.call(lambda state: _account(state, service.username))
    stored = await _signalement(esc)

    async def step(status: str, note: str) -> str | None:
        return await server.call(lambda state: inbox.record_step(state, account, stored, status, note))

    assert await step("unreachable", "Premier appel : pas de réponse.") is None
    assert await step("unreachable", "") is None
    assert await step("acknowledged", "x" * (inbox.MAX_NOTE_CHARS + 1)) == "note"
    assert await step("acknowledged", "Reçu.") is None
    assert await step("acknowledged", "") == "step"
    history = await server.call(lambda state: inbox.history(state.sessions, stored.id))
    notes = await server.call(lambda state: _notes(state, stored.id, history))
    assert sorted(notes.values()) == ["Premier appel : pas de réponse.", "Reçu."]


async def _account(state: Any, username: str) -> Any:
    from operators import accounts

    return await accounts.by_username(state.sessions, username)


async def _notes(state: Any, signalement_id: str, history: Any) -> dict[int, str]:
    from escalation import inbox

    return inbox.notes(state, signalement_id, history)
