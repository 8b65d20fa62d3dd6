"""The whole matrix of roles × routes and roles × console frames: each role sees and does only its own."""

from __future__ import annotations

import re
from typing import Any

import httpx
import websockets

from chat import conversations
from tests.client import Visitor, start_tchat
from tests.operators.staff import ConsoleClient, Staff, make, session_cookie, visitor_answers_offer
from tests.servers import LiveServer

ROLES = {
    "op_police": ("operator", "police"),
    "op_police_other": ("operator", "police"),
    "op_gendarmerie": ("operator", "gendarmerie"),
    "psy_invited": ("psychologist", None),
    "psy_other": ("psychologist", None),
    "sup_police": ("supervisor", "police"),
    "sup_gendarmerie": ("supervisor", "gendarmerie"),
    "local": ("local_service", None),
    "admin": ("admin", None),
}


async def _local_service_id() -> str:
    from routing.data import tables

    return sorted(tables().services)[0]


async def _people(server: LiveServer) -> dict[str, Staff]:
    people = {}
    for name, (role, force) in ROLES.items():
        service = await _local_service_id() if role == "local_service" else None
        people[name] = await make(server, name.replace("_", "."), role, force, service_id=service)
    return people


async def test_routes_by_role(staff_live: LiveServer) -> None:
    """Console pages, canned-answer editing and the console WebSocket answer each role as the matrix says."""
    people = await _people(staff_live)
    # role → (GET /console, GET /console/reponses, POST /console/reponses, WebSocket: welcome or close code)
    expected: dict[str, tuple[int, int, int, Any]] = {
        "operator": (200, 403, 403, "welcome"), "psychologist": (200, 403, 403, "welcome"),
        "supervisor": (200, 200, 303, "welcome"), "local_service": (200, 403, 403, 4403),
        "admin": (200, 200, 303, 4403),
    }
    seen = set()
    mismatches = []
    for name, staff in people.items():
        if staff.role in seen:
            continue
        seen.add(staff.role)
        cookie = await session_cookie(staff_live, staff)
        async with httpx.AsyncClient(base_url=staff_live.base, cookies={"pnav_session": cookie}) as http:
            page = await http.get("/console")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token is not None
            canned = await http.get("/console/reponses")
            saved = await http.post("/console/reponses", data={"csrf": token.group(1), "title": "Essai",
                                                               "body": "Texte", "position": "9"})
        client = ConsoleClient(staff_live, cookie)
        try:
            await client.connect()
            socket: Any = "welcome"
        except websockets.ConnectionClosed as closed:
            socket = closed.rcvd.code if closed.rcvd else None
        await client.close()
        got = (page.status_code, canned.status_code, saved.status_code, socket)
        if got != expected[staff.role]:
            mismatches.append((name, got, expected[staff.role]))
    async with httpx.AsyncClient(base_url=staff_live.base) as anonymous:
        for path in ("/console", "/console/reponses"):
            assert (await anonymous.get(path)).status_code == 303
        assert (await anonymous.post("/console/reponses", data={"title": "x", "body": "y"})).status_code == 303
    assert mismatches == []


# role → status of: GET /admin, GET /admin/comptes/nouveau, POST /admin/comptes/nouveau (a police operator),
# GET /admin/comptes/<a police operator>, GET /admin/horaires, POST /admin/horaires, GET /admin/services,
# GET /admin/services/<id>, POST /admin/services/<id>, GET /supervision/avis (feedback free texts)
ADMIN_MATRIX: dict[str, tuple[int, ...]] = {
    "operator": (403, 403, 403, 403, 403, 403, 403, 403, 403, 403),
    "psychologist": (403, 403, 403, 403, 403, 403, 403, 403, 403, 403),
    "local_service": (403, 403, 403, 403, 403, 403, 403, 403, 403, 403),
    "supervisor": (200, 200, 200, 200, 403, 403, 403, 403, 403, 200),
    "admin": (200, 200, 200, 200, 200, 303, 200, 200, 303, 200),
}


async def test_admin_routes_by_role(staff_live: LiveServer) -> None:
    """Every /admin page and form answers each role as the matrix says (a gendarmerie supervisor cannot open a police
    operator); without a session every one redirects to /login; a bad link is « gone » for anyone."""
    people = await _people(staff_live)
    service = await _local_service_id()
    mismatches = []
    for name, staff in people.items():
        if name in ("op_police_other", "psy_other", "sup_gendarmerie"):
            continue
        cookie = await session_cookie(staff_live, staff)
        async with httpx.AsyncClient(base_url=staff_live.base, cookies={"pnav_session": cookie}) as http:
            token = re.search(r'name="csrf" value="([^"]+)"', (await http.get("/console")).text)
            assert token is not None
            csrf = token.group(1)
            got = (
                (await http.get("/admin")).status_code,
                (await http.get("/admin/comptes/nouveau")).status_code,
                (await http.post("/admin/comptes/nouveau", data={
                    "csrf": csrf, "username": f"new.{name.replace('_', '.')}", "role": "operator",
                    "force": "police"})).status_code,
                (await http.get("/admin/comptes/op.police.other")).status_code,
                (await http.get("/admin/horaires")).status_code,
                (await http.post("/admin/horaires", data={"csrf": csrf, "spec": "mon-sun 00:00-24:00"})).status_code,
                (await http.get("/admin/services", params={"q": "75011"})).status_code,
                (await http.get(f"/admin/services/{service}")).status_code,
                (await http.post(f"/admin/services/{service}", data={"csrf": csrf, "action": "officiel"})).status_code,
                (await http.get("/supervision/avis")).status_code,
            )
        if got != ADMIN_MATRIX[staff.role]:
            mismatches.append((name, got, ADMIN_MATRIX[staff.role]))
    cookie = await session_cookie(staff_live, people["sup_gendarmerie"])
    async with httpx.AsyncClient(base_url=staff_live.base, cookies={"pnav_session": cookie}) as http:
        assert (await http.get("/admin/comptes/op.police")).status_code == 403
    async with httpx.AsyncClient(base_url=staff_live.base) as anonymous:
        for path in ("/admin", "/admin/comptes/nouveau", "/admin/comptes/op.police", "/admin/horaires",
                     "/admin/services", "/supervision/avis"):
            assert (await anonymous.get(path)).status_code == 303, path
        assert (await anonymous.post("/admin/horaires", data={"spec": "x"})).status_code == 303
        assert (await anonymous.get("/compte/lien/nimportequoi")).status_code == 410
    assert mismatches == []


async def _reply(client: ConsoleClient, kinds: set[str]) -> dict[str, Any]:
    while True:
        frame = await client.recv(3)
        if frame["type"] in kinds:
            return frame


async def test_frames_by_role(staff_live: LiveServer) -> None:
    """Every console frame on police and gendarmerie tchats is allowed or refused exactly as the rules say."""
    people = await _people(staff_live)
    consoles = {}
    for name in ROLES:
        if name in ("local", "admin"):
            continue
        consoles[name] = ConsoleClient(staff_live, await session_cookie(staff_live, people[name]))
        welcome = await consoles[name].connect()
        assert welcome["account"]["role"] == people[name].role

    police_taken = await start_tchat(staff_live, postal_code="75011")
    police_queued = await start_tchat(staff_live, postal_code="75011", category="discrimination_hate")
    gendarmerie = await start_tchat(staff_live, postal_code="54120", insee="54039")
    assert gendarmerie["force"] == "gendarmerie"
    visitor = Visitor(staff_live, police_taken["token"])
    await visitor.connect()
    t, q, g = police_taken["id"], police_queued["id"], gendarmerie["id"]
    await consoles["op_police"].send({"type": "take", "conversation": t})
    await consoles["op_police"].expect("taken", conversation=t)
    await consoles["op_gendarmerie"].send({"type": "take", "conversation": g})
    await consoles["op_gendarmerie"].expect("taken", conversation=g)
    await consoles["op_police"].send({"type": "invite_psychologist", "conversation": t})
    await visitor_answers_offer(visitor)
    invitation = await consoles["psy_invited"].expect("invitation", conversation=t)
    await consoles["psy_invited"].send({"type": "accept_invitation", "invitation": invitation["invitation"]})
    await consoles["psy_invited"].expect("taken", conversation=t)

    def frames_for(conversation: str) -> dict[str, dict[str, Any]]:
        return {
            "take": {"type": "take", "conversation": conversation},
            "send": {"type": "send", "conversation": conversation, "client_id": "m", "body": "Bonjour"},
            "typing": {"type": "typing", "conversation": conversation},
            "read": {"type": "read", "conversation": conversation, "seq": 0},
            "resume": {"type": "resume", "conversation": conversation, "after": 0},
            "transfer": {"type": "transfer", "conversation": conversation, "to_force": "gendarmerie"},
            "invite_psychologist": {"type": "invite_psychologist", "conversation": conversation},
            "leave": {"type": "leave", "conversation": conversation},
            "close": {"type": "close", "conversation": conversation, "outcome": "other"},
            "whisper": {"type": "whisper", "conversation": conversation, "client_id": "w", "body": "Entre nous"},
            "help": {"type": "help", "conversation": conversation},
            "unwatch": {"type": "unwatch", "conversation": conversation},
            "accept_offer": {"type": "accept_offer", "offer": "aucune"},
            "set_status": {"type": "set_status", "status": "paused"},
            "set_mode": {"type": "set_mode", "mode": "offer"},
            "request_evidence": {"type": "request_evidence", "conversation": conversation},
        }

    # Refusals that must hold: (who, frame, conversation). Queue takes across forces, and every action on a tchat
    # the account is not part of.
    refused = [("op_gendarmerie", "take", q), ("psy_other", "take", q), ("sup_police", "take", q)]
    for who in ("op_police_other", "op_gendarmerie", "psy_other", "sup_police", "sup_gendarmerie"):
        for kind in ("send", "typing", "transfer", "invite_psychologist", "close"):
            refused.append((who, kind, t))
    for who in ("op_police_other", "op_gendarmerie", "psy_other", "sup_gendarmerie"):
        refused += [(who, "resume", t), (who, "read", t)]
    refused += [("op_police", kind, g) for kind in ("send", "resume", "close", "transfer")]
    refused += [("psy_invited", kind, g) for kind in ("send", "resume", "leave")]
    refused += [("psy_invited", kind, t) for kind in ("close", "transfer", "invite_psychologist", "take")]
    refused += [("sup_police", kind, g) for kind in ("resume", "read")]
    refused.append(("psy_other", "leave", t))
    # Issue 21: whispers only among the tchat's staff and its force's supervisors; help from the operator in charge;
    # unwatch for a supervisor of the force.
    refused += [(who, "whisper", t) for who in ("op_police_other", "op_gendarmerie", "psy_other", "sup_gendarmerie")]
    refused += [(who, "help", t) for who in ("op_police_other", "op_gendarmerie", "psy_invited", "sup_police")]
    refused += [("op_police", "whisper", g), ("op_police", "help", g), ("sup_gendarmerie", "unwatch", t),
                ("op_police", "unwatch", t), ("psy_invited", "unwatch", t)]
    # Offers are accepted and statuses set by operators only; the routing mode is a supervisor's.
    refused += [(who, kind, t) for who in ("psy_invited", "sup_police") for kind in ("accept_offer", "set_status")]
    refused += [(who, "set_mode", t) for who in ("op_police", "psy_invited")]
    # Issue 20: only the operator in charge asks the visitor for evidence (the previews' matrix is in
    # tests/escalation/test_attachments.py).
    refused += [(who, "request_evidence", t)
                for who in ("op_police_other", "op_gendarmerie", "psy_invited", "psy_other", "sup_police")]
    refused.append(("op_police", "request_evidence", g))
    mismatches = []
    for who, kind, conversation in refused:
        await consoles[who].send(frames_for(conversation)[kind])
        reply = await _reply(consoles[who], {"error", "ack", "message", "taken"})
        if reply["type"] != "error" or reply["code"] not in ("forbidden", "conversation_closed"):
            mismatches.append((who, kind, conversation, reply))
    assert mismatches == []

    # Allowed: the operator in charge and the invited psychologist write; the police supervisor reads.
    await consoles["op_police"].send(frames_for(t)["send"] | {"client_id": "op"})
    assert (await consoles["op_police"].expect("ack", client_id="op"))["conversation"] == t
    await consoles["psy_invited"].send(frames_for(t)["send"] | {"client_id": "psy"})
    assert (await consoles["psy_invited"].expect("ack", client_id="psy"))["conversation"] == t
    await consoles["sup_police"].send(frames_for(t)["resume"])
    # Seqs 1 to 4 are events (the operator's join, the question to the visitor, the answer, the psychologist's
    # join), which the console's replay leaves out: the first message it replays is the operator's, seq 5.
    first = await consoles["sup_police"].expect("message", conversation=t)
    assert (first["seq"], first["author"]) == (5, "operator")
    await consoles["op_police"].send(frames_for(t)["request_evidence"])
    assert (await consoles["op_police"].expect("card", conversation=t))["kind"] == "evidence_upload"
    for who in ("op_police", "psy_invited", "sup_police"):
        await consoles[who].send(frames_for(t)["whisper"] | {"client_id": f"w-{who}"})
        assert (await consoles[who].expect("ack", client_id=f"w-{who}"))["conversation"] == t

    # Nobody outside the tchat received its messages; queues went only to their own force.
    for who in ("op_police_other", "op_gendarmerie", "psy_other", "sup_gendarmerie"):
        # Every psychologist sees invitations (category only, no content); nothing else of the tchat reaches them.
        leaked = [f for f in consoles[who].frames if f.get("conversation") == t
                  and f["type"] not in ("error", "invitation", "invitation_closed")]
        assert leaked == [], who
    for who in ("op_police", "op_police_other", "op_gendarmerie", "sup_police", "sup_gendarmerie"):
        forces = {f["force"] for f in consoles[who].frames if f["type"] in ("queue_state", "supervision")}
        assert forces == {people[who].force, ""}, who  # "": the queue sans localisation, which both forces see
    for who in ("psy_invited", "psy_other"):
        assert not [f for f in consoles[who].frames if f["type"] in ("queue_state", "supervision")]

    async def publish(state: Any) -> None:
        await conversations.publish_all_queues(state)

    await staff_live.call(publish)
    assert await consoles["op_gendarmerie"].quiet("queue_state", force="police")
    for client in consoles.values():
        await client.close()
    await visitor.close()
