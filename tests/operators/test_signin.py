"""Sign-in: password + TOTP + CSRF, one error for every failure, guesses slowed (never a lock), sessions that end."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import select, update

from chat.db import utcnow
from operators import csrf, sessions, signin, signin_throttle
from operators.models import AccountSession
from tests.operators.staff import ConsoleClient, login_csrf, make, session_cookie, sign_in
from tests.servers import UNIT, LiveServer


async def test_login_sets_a_strict_session_cookie(staff_live: LiveServer) -> None:
    """A right password and TOTP code give a 303 to /console and an HttpOnly, SameSite=Strict session cookie."""
    staff = await make(staff_live, "agent.a", "operator", "police")
    response = await sign_in(staff_live, staff)
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("pnav_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/" in cookie
    assert "Secure" not in cookie  # test environment over plain HTTP; production adds Secure
    async with httpx.AsyncClient(base_url=staff_live.base, cookies={"pnav_session": response.cookies["pnav_session"]}) \
            as http:
        page = await http.get("/console")
    assert page.status_code == 200 and "Agent.A" in page.text


async def test_every_failure_gets_the_same_answer(staff_live: LiveServer) -> None:
    """Wrong password, wrong code, unknown user and disabled account all get the same 401 page."""
    staff = await make(staff_live, "agent.b", "operator", "police")
    disabled = await make(staff_live, "agent.off", "operator", "police")

    async def disable(state: object) -> None:
        from operators import accounts

        await accounts.set_disabled(state.sessions, "agent.off")  # type: ignore[attr-defined]

    await staff_live.call(disable)
    answers = [
        await sign_in(staff_live, staff, password="wrong password here", code="000000"),
        await sign_in(staff_live, staff, code="000000"),
        await sign_in(staff_live, staff.__class__("nobody", staff.password, staff.secret, "", "operator", None)),
        await sign_in(staff_live, disabled),
    ]
    assert {a.status_code for a in answers} == {401}
    assert all(signin.FAILED.replace("'", "&#39;") in a.text for a in answers)
    typed = ["agent.b", "agent.b", "nobody", "agent.off"]
    # The form keeps the username typed (issue 16): apart from it, the pages are identical.
    assert all(f'value="{name}"' in a.text for a, name in zip(answers, typed, strict=True))
    bodies = {a.text.replace(login_csrf(a.text), "").replace(f'value="{name}"', 'value=""')
              for a, name in zip(answers, typed, strict=True)}
    assert len(bodies) == 1
    assert not any("pnav_session" in a.cookies for a in answers)


async def test_totp_code_cannot_be_replayed(staff_live: LiveServer) -> None:
    """A TOTP code that opened a session is refused the second time."""
    staff = await make(staff_live, "agent.c", "operator", "police")
    code = staff.code()
    assert (await sign_in(staff_live, staff, code=code)).status_code == 303
    assert (await sign_in(staff_live, staff, code=code)).status_code == 401


async def test_login_without_csrf_token_is_refused(staff_live: LiveServer) -> None:
    """A login post without the form's signed token (cross-site form) is refused with a French message."""
    staff = await make(staff_live, "agent.d", "operator", "police")
    async with httpx.AsyncClient(base_url=staff_live.base) as http:
        response = await http.post("/login", data={"username": staff.username, "password": staff.password,
                                                   "totp": staff.code(), "csrf": "1.abc"})
    assert response.status_code == 400 and "expiré" in response.text


async def test_a_strangers_failures_never_stop_the_owner(staff_live: LiveServer) -> None:
    """Someone who knows a username tries wrong passwords (and right-looking codes) from their machine: they are
    slowed down there (a French 429 after the free failures), while the owner, from their own machine, signs in
    with the right password and code at once. The TOTP step stays mandatory: the right password alone fails."""
    staff = await make(staff_live, "agent.e", "operator", "police")
    stranger = [(await sign_in(staff_live, staff, password="not the password!", code="000000",
                               source="127.0.0.71")).status_code for _ in range(signin_throttle.FREE_FAILURES + 3)]
    assert stranger[:signin_throttle.FREE_FAILURES] == [401] * signin_throttle.FREE_FAILURES
    assert set(stranger[signin_throttle.FREE_FAILURES:]) == {429}
    slowed = await sign_in(staff_live, staff, password="still not it", code="000000", source="127.0.0.71")
    assert slowed.status_code == 429 and "Patientez" in slowed.text
    assert (await sign_in(staff_live, staff, code="000000", source="127.0.0.72")).status_code == 401
    owner = await sign_in(staff_live, staff, source="127.0.0.72")
    assert owner.status_code == 303 and "pnav_session" in owner.cookies


@pytest.mark.parametrize("staff_live", ["sqlite-memory"], indirect=True)  # ten password hashes: one stack is enough
async def test_repeated_failures_alert_the_supervisors(staff_live: LiveServer) -> None:
    """Failures in a row from many sources (each within its free tries) are not slowed, but at the tenth the
    supervisors of the account's force get an alert on their console and the audit log an entry."""
    from audit.models import AuditEvent

    staff = await make(staff_live, "agent.g", "operator", "police")
    supervisor = await make(staff_live, "chef.g", "supervisor", "police")
    console = ConsoleClient(staff_live, await session_cookie(staff_live, supervisor))
    await console.connect()
    answers = []
    for n in range(signin.ALERT_EVERY):
        source = f"127.0.0.{80 + n // signin_throttle.FREE_FAILURES}"
        answers.append((await sign_in(staff_live, staff, password="wrong guess!", code="123456",
                                      source=source)).status_code)
    assert answers == [401] * signin.ALERT_EVERY
    alert = await console.expect("alert")
    assert alert["kind"] == "signin"
    assert "agent.g" in alert["message"] and "10 échecs" in alert["message"]
    await console.close()

    async def audited(state: Any) -> list[str]:
        async with state.sessions() as session:
            return list(await session.scalars(select(AuditEvent.target).where(
                AuditEvent.action == "account.signin_failures")))

    assert await staff_live.call(audited) == ["agent.g"]
    assert (await sign_in(staff_live, staff, source="127.0.0.99")).status_code == 303


def test_delays_grow_and_are_capped() -> None:
    """Free failures first, then 5, 10, 20 … seconds, never more than 15 minutes; said in French."""
    free = signin_throttle.FREE_FAILURES
    assert signin_throttle.delay_after(free - 1) == 0
    assert signin_throttle.delay_after(free) == 5 and signin_throttle.delay_after(free + 2) == 20
    assert signin_throttle.delay_after(1000) == signin_throttle.MAX_DELAY
    assert signin_throttle.wording(1) == "1 seconde" and signin_throttle.wording(90) == "2 minutes"


async def test_logout_revokes_the_session(staff_live: LiveServer) -> None:
    """Logging out (with the CSRF token) ends the session: the console page and the WebSocket refuse it."""
    staff = await make(staff_live, "agent.f", "operator", "police")
    cookie = await session_cookie(staff_live, staff)
    async with httpx.AsyncClient(base_url=staff_live.base, cookies={"pnav_session": cookie}) as http:
        page = await http.get("/console")
        forged = await http.post("/logout", data={"csrf": "forged"})
        assert forged.status_code == 403
        out = await http.post("/logout", data={"csrf": login_csrf(page.text)})
        assert out.status_code == 303
        assert (await http.get("/console")).status_code == 303
    client = ConsoleClient(staff_live, cookie)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await client.connect()
    assert client.frames[-1]["code"] == "not_signed_in"
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_disabling_cuts_a_live_console(staff_live: LiveServer) -> None:
    """Disabling an account revokes its sessions; its open console gets ``not_signed_in`` on its next frame."""
    staff = await make(staff_live, "agent.g", "operator", "police")
    client = ConsoleClient(staff_live, await session_cookie(staff_live, staff))
    await client.connect()

    async def disable(state: object) -> None:
        from operators import accounts

        await accounts.set_disabled(state.sessions, staff.username)  # type: ignore[attr-defined]

    await staff_live.call(disable)
    await client.send({"type": "typing", "conversation": "abc"})
    assert (await client.expect("error"))["code"] == "not_signed_in"


async def test_the_heartbeat_cuts_a_silent_console_and_keeps_the_others(staff_live: LiveServer) -> None:
    """The process-wide heartbeat signs out a console whose account was disabled, even if it never sends a frame,
    closes it with 4401, and marks the other consoles present."""
    from operators.roster import roster_of

    gone, kept = await make(staff_live, "agent.gone", "operator", "police"), await make(staff_live, "agent.kept",
                                                                                          "operator", "police")
    silent = ConsoleClient(staff_live, await session_cookie(staff_live, gone))
    other = ConsoleClient(staff_live, await session_cookie(staff_live, kept))
    await silent.connect()
    await other.connect()

    async def disable_and_beat(state: Any) -> list[Any]:
        from sqlalchemy import select

        from operators import accounts
        from operators.models import AccountSession

        # A console joins the roster once its welcome (account, queue snapshots) is sent, a moment after the
        # welcome frame itself: wait for both, or the check could run before this one is there to be checked.
        for _ in range(int(500 * UNIT)):
            if len(roster_of(state).consoles) >= 2:
                break
            await asyncio.sleep(0.01)
        await accounts.set_disabled(state.sessions, gone.username)
        await roster_of(state).check()
        async with state.sessions() as session:
            return list(await session.scalars(select(AccountSession.console_seen_at)
                                              .where(AccountSession.account_id == kept.account_id)))

    seen = await staff_live.call(disable_and_beat)
    assert (await silent.expect("error"))["code"] == "not_signed_in"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await silent.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert seen and all(at is not None for at in seen)
    assert await other.quiet("error")
    await other.close()


async def test_idle_and_expired_sessions_end(staff_live: LiveServer) -> None:
    """A session idle longer than the idle timeout, or past its absolute lifetime, is no longer accepted."""
    staff = await make(staff_live, "agent.h", "operator", "police")
    idle = await session_cookie(staff_live, staff)
    expired = await session_cookie(staff_live, staff)

    async def age(state: object) -> tuple[bool, bool]:
        now = utcnow()
        async with state.sessions.begin() as session:  # type: ignore[attr-defined]
            await session.execute(update(AccountSession).where(AccountSession.id == sessions.session_id_of(idle))
                                  .values(last_seen_at=now - sessions.IDLE_TIMEOUT - timedelta(seconds=1)))
            await session.execute(update(AccountSession).where(AccountSession.id == sessions.session_id_of(expired))
                                  .values(expires_at=now - timedelta(seconds=1)))
        return (await sessions.lookup(state.sessions, idle) is None,  # type: ignore[attr-defined]
                await sessions.lookup(state.sessions, expired) is None)  # type: ignore[attr-defined]

    assert await staff_live.call(age) == (True, True)


async def test_console_websocket_refuses_other_origins(staff_live: LiveServer) -> None:
    """The console WebSocket refuses a handshake whose Origin is another site, even with a valid cookie."""
    staff = await make(staff_live, "agent.i", "operator", "police")
    client = ConsoleClient(staff_live, await session_cookie(staff_live, staff))
    with pytest.raises(Exception, match="403"):
        await client.connect(origin="https://evil.example")


def test_login_token_is_bound_to_its_nonce_and_expires() -> None:
    """The pre-session CSRF token only validates with its own cookie nonce and within its lifetime."""
    token = csrf.login_token("k", "nonce-1", now=1_000_000)
    assert csrf.check_login_token("k", "nonce-1", token, now=1_000_010)
    assert not csrf.check_login_token("k", "nonce-2", token, now=1_000_010)
    assert not csrf.check_login_token("other", "nonce-1", token, now=1_000_010)
    assert not csrf.check_login_token("k", "nonce-1", token, now=1_000_000 + csrf.LOGIN_TOKEN_LIFETIME + 1)


async def test_session_fixation_is_impossible(staff_live: LiveServer) -> None:
    """A session cookie planted before sign-in is never adopted: sign-in issues a fresh one, the planted one is dead."""
    staff = await make(staff_live, "agent.fix", "operator", "police")
    planted = "attaquant-" + "a" * 40
    async with httpx.AsyncClient(base_url=staff_live.base, cookies={"pnav_session": planted}) as http:
        form = await http.get("/login")
        response = await http.post("/login", data={"username": staff.username, "password": staff.password,
                                                   "totp": staff.code(), "csrf": login_csrf(form.text)})
    assert response.status_code == 303
    issued = response.cookies["pnav_session"]
    assert issued != planted and len(issued) >= 32
    async with httpx.AsyncClient(base_url=staff_live.base, cookies={"pnav_session": planted}) as http:
        assert (await http.get("/console")).status_code in (303, 401, 403)
    async with httpx.AsyncClient(base_url=staff_live.base, cookies={"pnav_session": issued}) as http:
        assert (await http.get("/console")).status_code == 200
