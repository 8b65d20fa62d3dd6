"""Emergency and minor flags, and prosecutor-authorised identity lifting with two supervisors and the offline key."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy import select, text

from audit import trail
from audit.models import AuditEvent
from escalation import cli, crypto
from escalation.models import LiftingRequest, SealedIdentity
from pnav.registry import metadata
from tests.escalation.conftest import Keys, Live
from tests.escalation.flow import CONTACT, Browser, consent, expect_card, propose, taken_tchat
from tests.operators.staff import console_for, make

VISITOR_ADDRESS = "127.0.0.1"


async def _lifting_requests(live: Live) -> list[LiftingRequest]:
    async def fetch(state: Any) -> list[LiftingRequest]:
        async with state.sessions() as session:
            return list(await session.scalars(select(LiftingRequest)))

    return await live.server.call(fetch)


async def _audit_actions(live: Live) -> list[str]:
    async def fetch(state: Any) -> list[str]:
        async with state.sessions() as session:
            return list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))

    return await live.server.call(fetch)


async def _unseal(monkeypatch: pytest.MonkeyPatch, live: Live, request_id: str, key: str) -> int:
    monkeypatch.setenv("PNAV_DATABASE_URL", live.database_url)
    monkeypatch.setenv("PNAV_ENV", "test")
    return await asyncio.to_thread(cli.main_escalation, ["unseal", request_id, "--key", key, "--operator", "garde"])


async def test_emergency_flag_shows_numbers_and_alerts_supervisors(esc: Live) -> None:
    """Flagging an emergency shows 17/112/114 to the visitor at once and alerts the supervisors of the force."""
    chief = await make(esc.server, "chef.police", "supervisor", "police")
    watching = await console_for(esc.server, chief)
    tchat = await taken_tchat(esc.server)
    await tchat.console.send({"type": "flag", "conversation": tchat.id, "emergency": True})
    flags = await tchat.visitor.expect("flags")
    assert flags["emergency"] is True and flags["minor"] is False
    card = await expect_card(tchat.visitor, "emergency")
    assert [item["number"] for item in card["items"]] == ["17", "112", "114"]
    alert = await watching.expect("alert", conversation=tchat.id)
    assert alert["kind"] == "emergency" and "urgence" in alert["message"]
    await tchat.console.send({"type": "flag", "conversation": tchat.id, "minor": True})
    assert (await tchat.visitor.expect("flags"))["minor"] is True
    actions = await _audit_actions(esc)
    for action in ("account.created", "account.login", "conversation.taken", "conversation.flagged"):
        assert action in actions
    for client in (tchat.visitor, tchat.console, watching):
        await client.close()


async def test_lifting_needs_two_supervisors_and_is_audited(esc: Live, keys: Keys, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Unseal refuses without a request, with a filed one, after a self-approval; works once after a second
    supervisor approves; every attempt is audited and the chain verifies."""
    tchat = await taken_tchat(esc.server)
    first = await make(esc.server, "chef.un", "supervisor", "police")
    second = await make(esc.server, "chef.deux", "supervisor", "police")
    alice, bob = await Browser.sign_in(esc.server, first), await Browser.sign_in(esc.server, second)
    agreement = {"conversation": tchat.id, "parquet": "Parquet de Paris", "magistrate": "Mme la substitute Durand",
                 "reference": "PQ-2026-0042", "date": "2026-11-23", "time": "14:05"}
    try:
        refused = await alice.submit("/levee", "/levee", agreement)
        assert refused.status_code == 422 and "urgence" in refused.text  # not flagged yet
        await tchat.console.send({"type": "flag", "conversation": tchat.id, "minor": True})
        await tchat.visitor.expect("flags")
        filed = await alice.submit("/levee", "/levee", agreement)
        assert filed.status_code == 303
        (request,) = await _lifting_requests(esc)
        assert request.state == "filed" and request.reference == "PQ-2026-0042"

        assert await _unseal(monkeypatch, esc, "inconnue", str(keys.private_path)) == 1
        assert await _unseal(monkeypatch, esc, request.id, str(keys.private_path)) == 1
        assert "not approved" in capsys.readouterr().err

        own = await alice.submit("/levee", f"/levee/{request.id}/approuver", {})
        assert own.status_code == 409 and "autre personne" in own.text
        assert await _unseal(monkeypatch, esc, request.id, str(keys.private_path)) == 1

        approved = await bob.submit("/levee", f"/levee/{request.id}/approuver", {})
        assert approved.status_code == 303
        capsys.readouterr()
        assert await _unseal(monkeypatch, esc, request.id, str(keys.private_path)) == 0
        out = capsys.readouterr().out
        assert out.split("\t")[0] == VISITOR_ADDRESS
        assert await _unseal(monkeypatch, esc, request.id, str(keys.private_path)) == 1
        assert "already" in capsys.readouterr().err
    finally:
        await alice.close()
        await bob.close()

    actions = await _audit_actions(esc)
    assert actions.count("identity.unseal_refused") == 4
    for action in ("lifting.filed", "lifting.approved", "identity.unsealed"):
        assert actions.count(action) == 1
    assert (await esc.server.call(lambda state: trail.verify(state.sessions))).broken_at is None
    await tchat.visitor.close()
    await tchat.console.close()


async def test_wrong_private_key_opens_nothing(esc: Live, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Any) -> None:
    """An approved request with another private key: refused, the request stays usable with the right key."""
    tchat = await taken_tchat(esc.server)
    await tchat.console.send({"type": "flag", "conversation": tchat.id, "emergency": True})
    await tchat.visitor.expect("flags")
    first = await make(esc.server, "chef.a", "supervisor", "police")
    second = await make(esc.server, "chef.b", "supervisor", "police")
    alice, bob = await Browser.sign_in(esc.server, first), await Browser.sign_in(esc.server, second)
    try:
        await alice.submit("/levee", "/levee", {"conversation": tchat.id, "parquet": "Parquet de Paris",
                                                "magistrate": "M. Martin", "reference": "R1", "date": "2026-11-23",
                                                "time": "09:00"})
        (request,) = await _lifting_requests(esc)
        await bob.submit("/levee", f"/levee/{request.id}/approuver", {})
    finally:
        await alice.close()
        await bob.close()
    other = tmp_path / "other.pem"
    other.write_bytes(crypto.generate_keypair()[0])
    assert await _unseal(monkeypatch, esc, request.id, str(other)) == 1
    assert (await _lifting_requests(esc))[0].state == "approved"
    await tchat.visitor.close()
    await tchat.console.close()


async def test_address_and_contact_nowhere_in_clear(esc: Live, caplog: pytest.LogCaptureFixture) -> None:
    """After a tchat, a consented signalement and a flag, no table and no server log holds the visitor's address
    or contact details in clear; the address is there sealed."""
    caplog.set_level(logging.DEBUG)
    tchat = await taken_tchat(esc.server)
    await tchat.console.send({"type": "flag", "conversation": tchat.id, "emergency": True})
    await tchat.visitor.expect("flags")
    form = await propose(tchat)
    assert (await consent(esc.server, tchat.token, form["consent_version"])).status_code == 201
    await tchat.visitor.close()
    await tchat.console.close()

    async def dump(state: Any) -> list[object]:
        values: list[object] = []
        async with state.sessions() as session:
            for table in metadata().sorted_tables:
                for row in await session.execute(text(f'SELECT * FROM "{table.name}"')):
                    values.extend(row)
            sealed = await session.scalar(select(SealedIdentity.id).limit(1))
            assert sealed is not None
        return values

    secrets_in_clear = [VISITOR_ADDRESS, CONTACT["phone"], CONTACT["email"], CONTACT["name"]]
    for value in await esc.server.call(dump):
        blob = value if isinstance(value, bytes) else str(value).encode()
        for secret in secrets_in_clear:
            assert secret.encode() not in blob, f"{secret} found in the database"
    client_side = ("httpx", "httpcore", "websockets.client")
    for record in caplog.records:
        if record.name.startswith(client_side):
            continue
        message = record.getMessage()
        for secret in secrets_in_clear:
            assert secret not in message, f"{secret} found in log {record.name}"
