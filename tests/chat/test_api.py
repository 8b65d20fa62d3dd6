"""HTTP contract of API.md: starting a tchat, routing lookups, health, French error bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.servers import LiveServer


@pytest.fixture
async def http(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.base) as client:
        yield client


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body: dict[str, object] = response.json()["error"]
    assert body["code"] == code and isinstance(body["message"], str) and body["message"]
    return body


async def test_healthz(http: httpx.AsyncClient) -> None:
    """healthz answers ok when the database and broker answer."""
    response = await http.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_create_conversation(http: httpx.AsyncClient) -> None:
    """A valid request creates a queued conversation routed to the competent force, with a long random token."""
    response = await http.post("/api/v1/conversations", json={"category": "domestic_violence", "role": "witness",
                                                              "postal_code": "54120"})
    assert response.status_code == 201
    body = response.json()
    assert body["force"] == "gendarmerie" and body["department"] == "54" and len(body["token"]) >= 43
    assert "set-cookie" not in response.headers


async def test_commune_required_then_chosen(http: httpx.AsyncClient) -> None:
    """01100 mixes police and gendarmerie: the commune is asked for, then routes to its force."""
    body = {"category": "sexual_violence", "role": "victim", "postal_code": "01100"}
    error = error_of(await http.post("/api/v1/conversations", json=body), 422, "commune_required")
    communes = {c["name"]: c for c in error["communes"]}  # type: ignore[attr-defined]
    assert communes["Oyonnax"]["force"] == "police" and communes["Apremont"]["force"] == "gendarmerie"
    chosen = await http.post("/api/v1/conversations", json={**body, "insee": communes["Apremont"]["insee"]})
    assert chosen.status_code == 201 and chosen.json()["force"] == "gendarmerie"
    error_of(await http.post("/api/v1/conversations", json={**body, "insee": "75111"}), 422,
             "insee_not_in_postal_code")


@pytest.mark.parametrize(("payload", "status", "code"), [
    ({"category": "x", "role": "victim", "postal_code": "75011"}, 422, "unknown_category"),
    ({"category": "sexual_violence", "role": "boss", "postal_code": "75011"}, 422, "unknown_role"),
    ({"category": "sexual_violence", "role": "victim", "postal_code": "7501"}, 422, "invalid_postal_code"),
    ({"category": "sexual_violence", "role": "victim", "postal_code": "ABCDE"}, 422, "invalid_postal_code"),
    ({"category": "sexual_violence", "role": "victim", "postal_code": "00000"}, 404, "unknown_postal_code"),
    ({"category": "sexual_violence", "role": "victim"}, 422, "invalid_postal_code"),
])
async def test_create_conversation_errors(http: httpx.AsyncClient, payload: dict[str, str], status: int,
                                          code: str) -> None:
    """Every refusal has its API.md code and a French message."""
    error_of(await http.post("/api/v1/conversations", json=payload), status, code)


async def test_malformed_bodies(http: httpx.AsyncClient) -> None:
    """Non-JSON, non-object, deep and oversize bodies are 4xx with a French message, never 500."""
    error_of(await http.post("/api/v1/conversations", content=b"{"), 400, "malformed_json")
    error_of(await http.post("/api/v1/conversations", content=b"[1]"), 400, "malformed_json")
    error_of(await http.post("/api/v1/conversations", content=b'{"a":' * 100 + b"1" + b"}" * 100), 400,
             "malformed_json")
    error_of(await http.post("/api/v1/conversations", content=b"{" + b" " * 20_000 + b"}"), 413, "body_too_large")
    error_of(await http.post("/api/v1/conversations", content=b"\xff\xfe"), 400, "malformed_json")


async def test_routing_lookup(http: httpx.AsyncClient) -> None:
    """GET /api/v1/routing answers the communes and the force, or the French errors."""
    body = (await http.get("/api/v1/routing", params={"postal_code": "54120"})).json()
    assert body["postal_code"] == "54120" and body["force"] == "gendarmerie"
    assert {"insee": "54039", "name": "Baccarat", "department": "54", "force": "gendarmerie"} in body["communes"]
    assert (await http.get("/api/v1/routing", params={"postal_code": "01100"})).json()["force"] is None
    error_of(await http.get("/api/v1/routing", params={"postal_code": "7501"}), 422, "invalid_postal_code")
    error_of(await http.get("/api/v1/routing", params={"postal_code": "99999"}), 404, "unknown_postal_code")


async def test_unknown_api_route_is_json_404(http: httpx.AsyncClient) -> None:
    """An unknown API path gets the JSON error shape, in French."""
    error_of(await http.get("/api/v1/nothing"), 404, "not_found")


async def test_security_headers(http: httpx.AsyncClient) -> None:
    """Every response carries the strict CSP, no-referrer and no-store."""
    response = await http.get("/healthz")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("sent", "stored"), [("ar", "ar"), ("uk", "uk"), ("xx", "fr"), (None, "fr"), (3, "fr")])
async def test_the_tchat_carries_the_visitors_language(live: LiveServer, http: httpx.AsyncClient, sent: object,
                                                       stored: str) -> None:
    """The language of the visitor's pages is stored with the tchat and shown in the queue; anything unknown is
    French rather than a refusal."""
    from chat import store

    payload: dict[str, object] = {"category": "sexual_violence", "role": "victim", "postal_code": "75011"}
    if sent is not None:
        payload["language"] = sent
    response = await http.post("/api/v1/conversations", json=payload)
    assert response.status_code == 201, response.text
    conversation_id = response.json()["id"]
    row = await live.call(lambda state: store.get(state.sessions, conversation_id))
    assert row is not None and row.language == stored
    queued = await live.call(lambda state: store.queue(state.sessions, "police", "sexual_violence"))
    assert {item.id: item.as_json()["language"] for item in queued}[conversation_id] == stored
