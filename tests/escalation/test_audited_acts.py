"""Act and audit are one transaction (issue 18, item 6): when the audit entry cannot be written, the act does not
happen either — a take, a flag (which opens the way to lifting anonymity), a located tchat, a sign-in, a canned
answer. Before, take and flag committed first and audited after, so a failed append left an unaudited act."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from audit import trail
from audit.models import AuditEvent
from chat.models import Conversation
from operators.models import AccountSession, CannedAnswer
from tests.client import Visitor, start_tchat
from tests.escalation.conftest import Live
from tests.escalation.flow import taken_tchat
from tests.operators.staff import console_for, make, session_cookie, sign_in


def _failing_for(action: str, real: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def append(session: Any, actor: str, what: str, target: str, details: str) -> Any:
        if what == action:
            raise RuntimeError("the audit log could not be written")
        return await real(session, actor, what, target, details)

    return append


async def _read(esc: Live, query: Any) -> Any:
    async def run(state: Any) -> Any:
        async with state.sessions() as session:
            return await session.scalar(query)

    return await esc.server.call(run)


async def _audited(esc: Live, action: str) -> int:
    return int(await _read(esc, select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)))


async def test_take_flag_and_locate_roll_back_with_their_audit(esc: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    server = esc.server
    operator = await make(server, "agent.audit", "operator", "police")
    console = await console_for(server, operator)
    started = await start_tchat(server, postal_code="75011", category="domestic_violence")
    visitor = Visitor(server, started["token"])
    await visitor.connect()
    status = select(Conversation.status).where(Conversation.id == started["id"])

    monkeypatch.setattr(trail, "_append", _failing_for("conversation.taken", trail._append))
    await console.send({"type": "take", "conversation": started["id"]})
    await console.expect("error", code="internal")
    assert await _read(esc, status) == "queued" and await _audited(esc, "conversation.taken") == 0
    monkeypatch.undo()
    await console.send({"type": "take", "conversation": started["id"]})
    await console.expect("taken", conversation=started["id"])
    assert await _read(esc, status) == "active" and await _audited(esc, "conversation.taken") == 1

    emergency = select(Conversation.emergency).where(Conversation.id == started["id"])
    monkeypatch.setattr(trail, "_append", _failing_for("conversation.flagged", trail._append))
    await console.send({"type": "flag", "conversation": started["id"], "emergency": True})
    await console.expect("error", code="internal")
    assert await _read(esc, emergency) is False and await _audited(esc, "conversation.flagged") == 0

    insee = select(Conversation.insee).where(Conversation.id == started["id"])
    before = await _read(esc, insee)
    monkeypatch.setattr(trail, "_append", _failing_for("conversation.located", trail._append))
    await console.send({"type": "set_commune", "conversation": started["id"], "insee": "54395"})
    await console.expect("error", code="internal")
    assert await _read(esc, insee) == before and await _audited(esc, "conversation.located") == 0
    monkeypatch.undo()
    await console.send({"type": "flag", "conversation": started["id"], "emergency": True})
    await visitor.expect("flags", emergency=True)
    assert await _read(esc, emergency) is True and await _audited(esc, "conversation.flagged") == 1
    await visitor.close()
    await console.close()


@pytest.mark.parametrize("esc", ["sqlite-memory"], indirect=True)
async def test_sign_in_and_canned_answers_roll_back_with_their_audit(esc: Live,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    server = esc.server
    supervisor = await make(server, "chef.audit", "supervisor", "police")
    cookie = await session_cookie(server, supervisor)
    sessions_before = int(await _read(esc, select(func.count()).select_from(AccountSession)))
    monkeypatch.setattr(trail, "_append", _failing_for("account.login", trail._append))
    assert (await sign_in(server, supervisor)).status_code == 500
    assert int(await _read(esc, select(func.count()).select_from(AccountSession))) == sessions_before
    monkeypatch.undo()

    monkeypatch.setattr(trail, "_append", _failing_for("canned.saved", trail._append))
    async with httpx.AsyncClient(base_url=server.base, cookies={"pnav_session": cookie}) as http:
        page = await http.get("/console/reponses")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        refused = await http.post("/console/reponses", data={"csrf": csrf, "title": "Accueil", "body": "Bonjour."})
        assert refused.status_code == 500
    assert int(await _read(esc, select(func.count()).select_from(CannedAnswer))) == 0


async def test_taken_tchat_is_audited_once(esc: Live) -> None:
    """The happy path still writes exactly one entry per take."""
    tchat = await taken_tchat(esc.server, "agent.une")
    assert await _audited(esc, "conversation.taken") == 1
    await tchat.visitor.close()
    await tchat.console.close()
