"""/admin and /compte/lien over HTTP on both backends: accounts made on the web, one-time links, rights, audit."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

import httpx
from sqlalchemy import select, update

from audit.models import AuditEvent
from chat.db import utcnow
from operators import totp
from operators.models import Account, AccountLink
from tests.operators.staff import Staff, login_csrf, make, session_cookie, sign_in
from tests.servers import LiveServer


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


async def admin_client(server: LiveServer, staff: Staff) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base, cookies={"pnav_session": await session_cookie(server, staff)})


async def post_form(http: httpx.AsyncClient, page: str, path: str, data: dict[str, str]) -> httpx.Response:
    """GET ``page`` for its CSRF token, then POST ``data`` to ``path``."""
    token = csrf_of((await http.get(page)).text)
    return await http.post(path, data={"csrf": token, **data})


def link_of(page: str) -> str:
    found = re.search(r'<code id="admin-link">[^<]*(/compte/lien/[A-Za-z0-9_-]+)</code>', page)
    assert found is not None, page
    return found.group(1)


async def audit_actions(server: LiveServer) -> list[tuple[str, str, str]]:
    async def read(state: Any) -> list[tuple[str, str, str]]:
        async with state.sessions() as session:
            rows = await session.execute(select(AuditEvent.actor, AuditEvent.action, AuditEvent.target)
                                         .order_by(AuditEvent.seq))
            return [tuple(r) for r in rows]  # type: ignore[misc]

    return await server.call(read)


async def follow_link(server: LiveServer, path: str, steps: list[dict[str, str]]) -> list[httpx.Response]:
    """A person with no session opening the link and posting each step's fields (with the page's CSRF token)."""
    answers = []
    async with httpx.AsyncClient(base_url=server.base) as http:
        page = await http.get(path)
        answers.append(page)
        for fields in steps:
            page = await http.post(path, data={"csrf": csrf_of(page.text), **fields})
            answers.append(page)
    return answers


async def password_is(server: LiveServer, username: str, password: str) -> bool:
    from operators import passwords

    async def stored(state: Any) -> str:
        async with state.sessions() as session:
            return str(await session.scalar(select(Account.password_hash).where(Account.username == username)))

    return passwords.verify_password(await server.call(stored), password)


def secret_of(page: str) -> str:
    found = re.search(r'id="link-secret">([A-Z2-7 ]+)</code>', page)
    assert found is not None, page
    return found.group(1).replace(" ", "")


async def test_account_made_on_the_web_signs_in_after_its_link(staff_live: LiveServer) -> None:
    """An admin creates an account and gets a link, never a password or QR code; the person chooses a password,
    enrols the QR code shown once to them, signs in; the link then no longer works; every step is audited."""
    admin = await make(staff_live, "chef", "admin")
    async with await admin_client(staff_live, admin) as http:
        created = await post_form(http, "/admin/comptes/nouveau", "/admin/comptes/nouveau", {
            "username": "Nouvelle.Agente", "display_name": "Brig. Martin", "role": "operator", "force": "police"})
        assert created.status_code == 200
        assert "otpauth" not in created.text and "secret=" not in created.text and "<img" not in created.text
        path = link_of(created.text)
        listing = await http.get("/admin")
        assert "nouvelle.agente" in listing.text and "en attente de première connexion" in listing.text
    token = path.rsplit("/", 1)[1]

    async def stored(state: Any) -> list[str]:
        async with state.sessions() as session:
            return list(await session.scalars(select(AccountLink.token_hash)))

    hashes = await staff_live.call(stored)
    assert token not in hashes and len(hashes) == 1  # only its SHA-256 is kept

    password = "une phrase de passe assez longue"
    opened, enrol = await follow_link(staff_live, path, [{"step": "choose", "password": password,
                                                          "confirm": password}])
    assert opened.status_code == 200 and "Première connexion" in opened.text
    assert enrol.status_code == 200 and 'src="data:image/svg+xml' in enrol.text
    secret = secret_of(enrol.text)
    # The same link opened again before the code is typed: a fresh secret, so the first QR shown is useless.
    again = (await follow_link(staff_live, path, [{"step": "choose", "password": password, "confirm": password}]))[1]
    secret = secret_of(again.text)
    async with httpx.AsyncClient(base_url=staff_live.base) as http:
        page = await http.get(path)
        wrong = await http.post(path, data={"csrf": csrf_of(page.text), "step": "enrol", "totp": "000000"})
        assert wrong.status_code == 422 and secret_of(wrong.text) == secret
        done = await http.post(path, data={"csrf": csrf_of(wrong.text), "step": "enrol",
                                           "totp": totp.current_code(secret)})
        assert done.status_code == 200 and "Votre compte est prêt" in done.text
    person = Staff("nouvelle.agente", password, secret, "", "operator", "police", steps_used=1)
    assert (await sign_in(staff_live, person)).status_code == 303
    assert (await follow_link(staff_live, path, []))[0].status_code == 410
    actions = [(actor, action) for actor, action, _target in await audit_actions(staff_live)]
    assert ("chef", "account.created") in actions and ("nouvelle.agente", "account.activated") in actions


async def test_links_need_the_other_factor_and_expire(staff_live: LiveServer) -> None:
    """A new-password link asks the current TOTP code; a new-TOTP link asks the password; an expired link, one
    replaced by a newer link, or a form without its CSRF token changes nothing."""
    admin = await make(staff_live, "chef", "admin")
    agent = await make(staff_live, "agent", "operator", "police")
    async with await admin_client(staff_live, admin) as http:
        page = "/admin/comptes/agent"
        first = link_of((await post_form(http, page, page, {"action": "lien-mot-de-passe"})).text)
        second = link_of((await post_form(http, page, page, {"action": "lien-mot-de-passe"})).text)
        assert (await http.post(page, data={"action": "desactiver"})).status_code == 403  # no CSRF token
    assert (await follow_link(staff_live, first, []))[0].status_code == 410  # replaced by the second
    new_password = "un tout nouveau mot de passe"
    _, refused = await follow_link(staff_live, second, [{"step": "reset", "password": new_password,
                                                         "confirm": new_password, "totp": "123456"}])
    assert refused.status_code == 422
    assert await password_is(staff_live, "agent", agent.password)  # nothing changed
    _, changed = await follow_link(staff_live, second, [{"step": "reset", "password": new_password,
                                                         "confirm": new_password, "totp": agent.code()}])
    assert changed.status_code == 200 and "mot de passe est changé" in changed.text
    assert await password_is(staff_live, "agent", new_password)
    agent.password = new_password
    assert (await sign_in(staff_live, agent)).status_code == 303  # with the next code: the link's one is spent

    async with await admin_client(staff_live, admin) as http:
        totp_link = link_of((await post_form(http, "/admin/comptes/agent", "/admin/comptes/agent",
                                             {"action": "lien-totp"})).text)
    _, refused = await follow_link(staff_live, totp_link, [{"step": "confirm", "password": "pas le bon du tout"}])
    assert refused.status_code == 422 and "link-qr" not in refused.text

    async def expire(state: Any) -> None:
        async with state.sessions.begin() as session:
            await session.execute(update(AccountLink).values(expires_at=utcnow() - timedelta(seconds=1)))

    await staff_live.call(expire)
    assert (await follow_link(staff_live, totp_link, []))[0].status_code == 410


async def test_supervisor_manages_only_the_operators_of_their_force(staff_live: LiveServer) -> None:
    """A supervisor creates operators of their force and sets their capacity; other roles, other forces and
    themselves are refused; an operator, a psychologist and a local service have no /admin at all."""
    supervisor = await make(staff_live, "sup.police", "supervisor", "police")
    await make(staff_live, "op.police", "operator", "police")
    await make(staff_live, "op.gendarmerie", "operator", "gendarmerie")
    async with await admin_client(staff_live, supervisor) as http:
        listing = (await http.get("/admin")).text
        assert "op.police" in listing and "op.gendarmerie" not in listing
        made = await post_form(http, "/admin/comptes/nouveau", "/admin/comptes/nouveau",
                               {"username": "op.new", "role": "operator", "force": "police"})
        assert made.status_code == 200 and "/compte/lien/" in made.text
        for fields in ({"username": "sup.new", "role": "supervisor", "force": "police"},
                       {"username": "op.gn", "role": "operator", "force": "gendarmerie"}):
            refused = await post_form(http, "/admin/comptes/nouveau", "/admin/comptes/nouveau", fields)
            assert refused.status_code == 403, fields
        capacity = await post_form(http, "/admin/comptes/op.police", "/admin/comptes/op.police",
                                   {"action": "profil", "capacity": "7", "display_name": "Op Police"})
        assert capacity.status_code == 303
        too_many = await post_form(http, "/admin/comptes/op.police", "/admin/comptes/op.police",
                                   {"action": "profil", "capacity": "99"})
        assert too_many.status_code == 422 and "entre 1 et 20" in too_many.text
        for path in ("/admin/comptes/op.gendarmerie", "/admin/comptes/sup.police"):
            assert (await http.get(path)).status_code == 403
        assert (await http.get("/admin/horaires")).status_code == 403

    async def capacity_of(state: Any) -> int:
        async with state.sessions() as session:
            return int(await session.scalar(select(Account.capacity).where(Account.username == "op.police")) or 0)

    assert await staff_live.call(capacity_of) == 7
    assert ("sup.police", "account.capacity_changed", "op.police") in await audit_actions(staff_live)


async def test_admin_edits_office_hours_and_the_directory(staff_live: LiveServer) -> None:
    """Office hours set on the web replace PNAV_PSYCHOLOGIST_HOURS for the consoles; a directory correction is what
    routing answers until reverted; bad values are refused in French; both changes are audited."""
    from operators import office_hours
    from routing import local_service_by_id, shipped_service_by_id

    admin = await make(staff_live, "chef", "admin")
    service_id = "gendarmerie-54039-01"
    assert shipped_service_by_id(service_id) is not None
    async with await admin_client(staff_live, admin) as http:
        bad = await post_form(http, "/admin/horaires", "/admin/horaires", {"spec": "lundi 9h-18h"})
        assert bad.status_code == 422 and "illisibles" in bad.text
        saved = await post_form(http, "/admin/horaires", "/admin/horaires", {"spec": "sat 10:00-12:00"})
        assert saved.status_code == 303
        assert "samedi : de 10 h 00 à 12 h 00" in (await http.get("/admin/horaires")).text
        found = await http.get("/admin/services", params={"q": "54120"})
        assert service_id in found.text
        page = f"/admin/services/{service_id}"
        fixed = await post_form(http, page, page, {"action": "enregistrer", "name": "Brigade de Baccarat (corrigée)",
                                                   "phone": "03 83 75 10 17", "address": "1 rue de l'Essai"})
        assert fixed.status_code == 303
        corrected = local_service_by_id(service_id)
        assert corrected is not None and corrected.name == "Brigade de Baccarat (corrigée)"
        bad_phone = await post_form(http, page, page, {"action": "enregistrer", "name": "X", "phone": "appelez-nous"})
        assert bad_phone.status_code == 422
        assert (await post_form(http, page, page, {"action": "officiel"})).status_code == 303
    assert local_service_by_id(service_id) == shipped_service_by_id(service_id)
    assert await staff_live.call(lambda state: office_hours.current(state)) == ("sat 10:00-12:00", True)
    actions = {action for _actor, action, _target in await audit_actions(staff_live)}
    assert {"office_hours.changed", "directory.service_changed", "directory.service_reverted"} <= actions


def test_qr_code_is_an_svg_data_uri() -> None:
    """The enrolment QR code is an SVG data: URI (allowed by the CSP as an image), carrying the otpauth URI."""
    from operators.enrolment import qr_data_uri

    uri = qr_data_uri(totp.provisioning_uri(totp.new_secret(), "agent"))
    assert uri.startswith("data:image/svg+xml") and "<svg" in unquote(uri)


__all__ = ["login_csrf"]
