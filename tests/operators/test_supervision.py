"""The supervisor's live view and the canned answers supervisors maintain."""

from __future__ import annotations

import re
from typing import Any

import httpx

from chat import conversations
from tests.client import start_tchat
from tests.operators.staff import console_for, make, session_cookie
from tests.operators.test_psychologist import taken_tchat
from tests.servers import LiveServer


async def test_supervisor_sees_queues_load_and_flags(staff_live: LiveServer) -> None:
    """Queue lengths and longest wait of their force, operators online with their load, flagged tchats."""
    supervisor = await make(staff_live, "chef.police", "supervisor", "police")
    officer = await make(staff_live, "agent.sup", "operator", "police")
    await make(staff_live, "agent.absent", "operator", "police")
    console = await console_for(staff_live, officer)
    _taken, visitor = await taken_tchat(staff_live, console)
    waiting = await start_tchat(staff_live, postal_code="75011", category="discrimination_hate")
    await start_tchat(staff_live, postal_code="54120", insee="54039")  # gendarmerie: not this supervisor's

    async def flag(state: Any) -> None:
        await conversations.set_flags(state, waiting["id"], emergency=False, minor=True)

    await staff_live.call(flag)
    watch = await console_for(staff_live, supervisor)
    view = await watch.expect("supervision")
    assert view["force"] == "police"
    queues = {q["category"]: q for q in view["queues"]}
    assert queues["discrimination_hate"]["length"] == 1 and queues["sexual_violence"]["length"] == 0
    assert queues["discrimination_hate"]["longest_wait"] >= 0
    assert [(o["username"], o["load"]) for o in view["operators"]] == [("agent.sup", 1)]
    assert [(f["conversation"], f["minor"], f["status"]) for f in view["flagged"]] == [(waiting["id"], True, "queued")]
    for client in (console, visitor, watch):
        await client.close()


async def test_supervisor_edits_canned_answers_operators_use(staff_live: LiveServer) -> None:
    """A supervisor adds and edits a canned answer through the form; operators receive it in their welcome."""
    supervisor = await make(staff_live, "chef.reponses", "supervisor", "police")
    officer = await make(staff_live, "agent.reponses", "operator", "police")
    cookie = await session_cookie(staff_live, supervisor)
    async with httpx.AsyncClient(base_url=staff_live.base, cookies={"pnav_session": cookie}) as http:
        page = await http.get("/console/reponses")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert page.status_code == 200 and token is not None
        added = await http.post("/console/reponses", data={"csrf": token.group(1), "title": "Plainte en ligne",
                                                           "body": "Vous pouvez pré-déposer plainte en ligne.",
                                                           "position": "1"})
        assert added.status_code == 303
        forged = await http.post("/console/reponses", data={"csrf": "x", "title": "Pirate", "body": "Pirate"})
        assert forged.status_code == 403
        listing = await http.get("/console/reponses")
        answer_id = re.search(r'name="id" value="(\d+)"', listing.text)
        assert answer_id is not None
        edited = await http.post("/console/reponses", data={"csrf": token.group(1), "id": answer_id.group(1),
                                                            "title": "Plainte", "body": "Texte revu.", "position": "0"})
        assert edited.status_code == 303
    console = await console_for(staff_live, officer)
    welcome = next(f for f in console.frames if f["type"] == "welcome")
    assert [(a["title"], a["body"]) for a in welcome["canned"]] == [("Plainte", "Texte revu.")]
    assert {"take", "send", "close", "transfer", "invite_psychologist"} <= set(welcome["actions"])
    assert "accept_invitation" not in welcome["actions"]
    await console.close()
