"""Tchats the visitor left, and invitations outside the psychologists' office hours."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from operators import office_hours
from tests.conftest import settings_for, wipe
from tests.operators.staff import ConsoleClient, console_for, make, session_cookie
from tests.operators.test_psychologist import taken_tchat
from tests.servers import LiveServer


async def test_operator_sees_abandonment_and_records_outcome(staff_live: LiveServer) -> None:
    """When the visitor leaves, the console gets ``closed``/abandoned, keeps the tab after reconnecting, and the
    operator records the outcome with a private note."""
    officer = await make(staff_live, "agent.abandon", "operator", "police")
    cookie = await session_cookie(staff_live, officer)
    console = ConsoleClient(staff_live, cookie)
    await console.connect()
    conversation, visitor = await taken_tchat(staff_live, console)
    await visitor.send({"type": "leave"})
    closed = await console.expect("closed", conversation=conversation)
    assert closed["status"] == "abandoned"
    await console.close()

    again = ConsoleClient(staff_live, cookie)
    await again.connect()
    taken = await again.expect("taken", conversation=conversation)
    assert taken["status"] == "abandoned" and taken["outcome"] is None
    await again.send({"type": "send", "conversation": conversation, "client_id": "late", "body": "Vous êtes là ?"})
    assert (await again.expect("error", conversation=conversation))["code"] == "conversation_closed"
    await again.send({"type": "close", "conversation": conversation, "outcome": "visitor_left", "note": "Partie."})
    recorded = await again.expect("closed", conversation=conversation)
    assert recorded["status"] == "abandoned" and recorded["outcome"] == "visitor_left"
    await again.send({"type": "close", "conversation": conversation, "outcome": "other"})
    assert (await again.expect("error", conversation=conversation))["code"] == "conversation_closed"
    await again.close()

    third = ConsoleClient(staff_live, cookie)
    await third.connect()
    assert await third.quiet("taken", conversation=conversation)
    await third.close()
    await visitor.close()


def _closed_now() -> str:
    """A schedule with a slot on another weekday than today in Paris, so it is closed right now."""
    today = datetime.now(UTC).astimezone(office_hours.PARIS).weekday()
    return f"{office_hours.DAYS[(today + 3) % 7]} 09:00-12:00"


@pytest.fixture(scope="module")
def closed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('closed') / 'pnav.sqlite3'}"
    server = LiveServer(settings_for(url, "memory://", extra={"PNAV_PSYCHOLOGIST_HOURS": _closed_now()})).start()
    yield server, url
    server.stop()


async def test_invitation_outside_office_hours_says_when(closed_server: tuple[LiveServer, str]) -> None:
    """Outside office hours the invitation is refused with a French sentence naming the next opening."""
    server, url = closed_server
    await wipe(url)
    officer = await make(server, "agent.nuit", "operator", "police")
    console = await console_for(server, officer)
    welcome = next(f for f in console.frames if f["type"] == "welcome")
    assert welcome["psychologists"]["open"] is False
    conversation, visitor = await taken_tchat(server, console)
    await console.send({"type": "invite_psychologist", "conversation": conversation})
    refused = await console.expect("error", conversation=conversation)
    assert refused["code"] == "psychologist_unavailable"
    assert "Une psychologue sera présente" in refused["message"] and "à 9 h 00" in refused["message"]
    await console.close()
    await visitor.close()
