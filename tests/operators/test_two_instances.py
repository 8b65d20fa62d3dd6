"""Staff on different processes: an operator on one app instance, a psychologist and the visitor on another,
sharing PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.client import Visitor, start_tchat
from tests.conftest import settings_for, wipe
from tests.operators.conftest import ALWAYS_OPEN
from tests.operators.staff import console_for, make, visitor_answers_offer
from tests.servers import LiveServer


@pytest.fixture(scope="module")
def second_instance(postgres_url: str, redis_url: str) -> Iterator[LiveServer]:
    server = LiveServer(settings_for(postgres_url, redis_url, extra=ALWAYS_OPEN)).start()
    yield server
    server.stop()


async def test_operator_and_psychologist_on_two_instances(
    staff_servers: dict[str, tuple[LiveServer, str]], second_instance: LiveServer
) -> None:
    """Take, invitation, join and messages all cross from one process to the other through Redis."""
    first, url = staff_servers["postgresql-redis"]
    await wipe(url)
    officer = await make(first, "agent.a1", "operator", "police")
    psychologist = await make(second_instance, "psy.b2", "psychologist")
    operator = await console_for(first, officer)
    psy = await console_for(second_instance, psychologist)

    started = await start_tchat(second_instance, postal_code="75011")
    visitor = Visitor(second_instance, started["token"])
    await visitor.connect()
    await operator.send({"type": "take", "conversation": started["id"]})
    await operator.expect("taken", conversation=started["id"])
    await visitor.expect("joined", who="operator")

    await operator.send({"type": "invite_psychologist", "conversation": started["id"]})
    await visitor_answers_offer(visitor)
    assert (await operator.expect("invitation_sent"))["present"] == 1
    invitation = await psy.expect("invitation", conversation=started["id"])
    await psy.send({"type": "accept_invitation", "invitation": invitation["invitation"]})
    await psy.expect("taken", conversation=started["id"])
    await operator.expect("joined", who="psychologist")

    await psy.send({"type": "send", "conversation": started["id"], "client_id": "p", "body": "Je suis là aussi."})
    assert (await operator.expect("message", author="psychologist"))["body"] == "Je suis là aussi."
    await visitor.send({"type": "send", "client_id": "v", "body": "Merci."})
    assert (await operator.expect("message", author="visitor"))["body"] == "Merci."
    assert (await psy.expect("message", author="visitor"))["body"] == "Merci."
    for client in (operator, psy, visitor):
        await client.close()
