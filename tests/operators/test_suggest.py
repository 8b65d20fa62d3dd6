"""Orientation cards (``suggest``) and the category-3 subtype recorded at close."""

from __future__ import annotations

import csv
import gzip
import math
from pathlib import Path
from typing import Any

import pytest

from tests.client import Visitor, start_tchat
from tests.operators.staff import ConsoleClient, console_for, make
from tests.servers import LiveServer

DATA = Path(__file__).resolve().parents[2] / "routing" / "data"


def rows(name: str) -> dict[str, dict[str, str]]:
    with gzip.open(DATA / name, "rt", encoding="utf-8", newline="") as handle:
        return {row["id" if "id" in row else "insee"]: row for row in csv.DictReader(handle)}


def distance_km(a: dict[str, str], b: dict[str, str]) -> float:
    lat1, lon1, lat2, lon2 = (math.radians(float(v)) for v in (a["lat"], a["lon"], b["lat"], b["lon"]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


async def taken(server: LiveServer, username: str, force: str, postal_code: str, category: str,
                insee: str | None = None) -> tuple[ConsoleClient, Visitor, dict[str, Any]]:
    officer = await make(server, username, "operator", force)
    console = await console_for(server, officer)
    started = await start_tchat(server, postal_code=postal_code, category=category, insee=insee)
    assert started["force"] == force
    visitor = Visitor(server, started["token"])
    await visitor.connect()
    await console.send({"type": "take", "conversation": started["id"]})
    await console.expect("taken", conversation=started["id"])
    await visitor.expect("joined")
    return console, visitor, started


async def no_card(visitor: Visitor) -> bool:
    """True when the visitor receives no card in the next 0.3 s."""
    try:
        await visitor.expect("card", 0.3)
    except TimeoutError:
        return True
    return False


def check_real_support(card: dict[str, Any], insee: str) -> None:
    support, communes = rows("support_points.csv.gz"), rows("communes.csv.gz")
    assert card["kind"] == "support" and card["items"]
    for item in card["items"]:
        source = support[item["id"]]
        assert item["name"] == source["name"]
        assert item.get("address", "") == source["address"] and item.get("phone", "") == source["phone"]
        assert abs(item["distance_km"] - distance_km(communes[insee], source)) < 0.2


@pytest.mark.parametrize("live", ["sqlite-memory"], indirect=True)
async def test_suggest_support_in_paris(live: LiveServer) -> None:
    """Paris 11e, domestic violence: nearby real support points, the Paris CIDFF among them, reach the visitor."""
    console, visitor, started = await taken(live, "agent.orient", "police", "75011", "domestic_violence")
    await console.send({"type": "suggest", "conversation": started["id"], "kind": "support"})
    card = await visitor.expect("card")
    assert card["author"] == "operator" and card["title"] and card["text"]
    check_real_support(card, started["insee"])
    assert any(item["id"] == "cidf-75110-01" for item in card["items"])  # 17 rue Jean-Poulmarch, Paris 10e
    assert all(item["distance_km"] < 5 for item in card["items"])
    seen = await console.expect("card", conversation=started["id"])
    assert seen["seq"] == card["seq"]

    # The card stays in the transcript: a visitor who reloads sees it again.
    again = Visitor(live, started["token"])
    await again.connect()
    assert (await again.expect("card"))["items"] == card["items"]
    for client in (again, visitor, console):
        await client.close()


async def test_suggest_support_in_gendarmerie_commune(live: LiveServer) -> None:
    """Baccarat (gendarmerie): the Lunéville CIDFF for domestic violence; no CIDFF in a hate-offence tchat."""
    console, visitor, started = await taken(live, "agent.gn", "gendarmerie", "54120", "domestic_violence",
                                            insee="54039")
    await console.send({"type": "suggest", "conversation": started["id"], "kind": "support"})
    card = await visitor.expect("card")
    check_real_support(card, "54039")
    assert any("Lunéville" in item["name"] and item["kind_label"].startswith("Centre d'information")
               for item in card["items"])

    other_console, other_visitor, other = await taken(live, "agent.gn2", "gendarmerie", "54120",
                                                      "discrimination_hate", insee="54039")
    await other_console.send({"type": "suggest", "conversation": other["id"]})
    hate = await other_visitor.expect("card")
    check_real_support(hate, "54039")
    assert not any(item["id"].startswith("cidf-") for item in hate["items"])
    for client in (console, visitor, other_console, other_visitor):
        await client.close()


@pytest.mark.parametrize("live", ["sqlite-memory"], indirect=True)
async def test_suggest_helplines_follow_category_and_flags(live: LiveServer) -> None:
    """Helplines: 3919 and 116 006 for domestic violence; after « mineur », 119 too; 114 is offered by SMS."""
    console, visitor, started = await taken(live, "agent.num", "police", "75011", "domestic_violence")
    await console.send({"type": "suggest", "conversation": started["id"], "kind": "helplines"})
    card = await visitor.expect("card")
    assert card["kind"] == "helplines"
    assert [item["number"] for item in card["items"]] == ["3919", "116 006"]

    await console.send({"type": "flag", "conversation": started["id"], "emergency": True, "minor": True})
    await console.expect("flags", conversation=started["id"])
    await console.send({"type": "suggest", "conversation": started["id"], "kind": "helplines"})
    while (card := await visitor.expect("card"))["kind"] != "helplines":
        pass  # the emergency card of the flag comes first
    numbers = [item["number"] for item in card["items"]]
    assert numbers[:3] == ["17", "112", "114"] and "119" in numbers and "3919" in numbers
    assert [item.get("sms") for item in card["items"] if item["number"] == "114"] == ["114"]
    for client in (console, visitor):
        await client.close()


@pytest.mark.parametrize("live", ["sqlite-memory"], indirect=True)
async def test_suggest_one_chosen_place(live: LiveServer) -> None:
    """A chosen support point near the visitor is sent alone; a place far away or a bad kind is refused."""
    console, visitor, started = await taken(live, "agent.choix", "police", "75011", "domestic_violence")
    await console.send({"type": "suggest", "conversation": started["id"], "kind": "support",
                        "support": "cidf-75110-01"})
    card = await visitor.expect("card")
    assert [item["id"] for item in card["items"]] == ["cidf-75110-01"]

    await console.send({"type": "suggest", "conversation": started["id"], "support": "bav-01053-01"})
    refused = await console.expect("error", conversation=started["id"])
    assert refused["code"] == "no_support" and "proches" in refused["message"]
    await console.send({"type": "suggest", "conversation": started["id"], "kind": "adresse"})
    assert (await console.expect("error"))["code"] == "invalid_field"
    assert await no_card(visitor)
    for client in (console, visitor):
        await client.close()


async def test_suggest_refused_to_other_operators(live: LiveServer) -> None:
    """Only the operator in charge suggests: a colleague of the same force and a psychologist are refused."""
    console, visitor, started = await taken(live, "agent.titulaire", "police", "75011", "sexual_violence")
    colleague = await console_for(live, await make(live, "agent.voisin", "operator", "police"))
    await colleague.send({"type": "suggest", "conversation": started["id"], "kind": "support"})
    assert (await colleague.expect("error", conversation=started["id"]))["code"] == "forbidden"
    psychologist = await console_for(live, await make(live, "psy.orient", "psychologist"))
    await psychologist.send({"type": "suggest", "conversation": started["id"], "kind": "helplines"})
    assert (await psychologist.expect("error"))["code"] == "forbidden"
    assert await no_card(visitor)
    for client in (console, visitor, colleague, psychologist):
        await client.close()


@pytest.mark.parametrize("live", ["sqlite-memory"], indirect=True)
async def test_suggest_after_close_is_refused(live: LiveServer) -> None:
    """A closed tchat receives no card: the operator is told it is over."""
    console, visitor, started = await taken(live, "agent.fin", "police", "75011", "sexual_violence")
    await console.send({"type": "close", "conversation": started["id"], "outcome": "information_given"})
    await console.expect("closed", conversation=started["id"])
    await console.send({"type": "suggest", "conversation": started["id"], "kind": "helplines"})
    assert (await console.expect("error", conversation=started["id"]))["code"] == "conversation_closed"
    for client in (console, visitor):
        await client.close()


async def stored_subtype(server: LiveServer, conversation_id: str) -> tuple[str | None, str | None]:
    async def read(state: Any) -> tuple[str | None, str | None]:
        from chat import store

        conversation = await store.get(state.sessions, conversation_id)
        assert conversation is not None
        return conversation.outcome, conversation.subtype

    result: tuple[str | None, str | None] = await server.call(read)
    return result


async def test_subtype_stored_at_close_for_category_3(live: LiveServer) -> None:
    """A discrimination/hate tchat closed with « cybersexisme » keeps that subtype; an unknown value is refused."""
    console, visitor, started = await taken(live, "agent.cat3", "police", "75011", "discrimination_hate")
    await console.send({"type": "close", "conversation": started["id"], "outcome": "association_oriented",
                        "subtype": "ransomware"})
    assert (await console.expect("error"))["code"] == "invalid_field"
    await console.send({"type": "close", "conversation": started["id"], "outcome": "association_oriented",
                        "subtype": "cybersexism"})
    await console.expect("closed", conversation=started["id"])
    assert await stored_subtype(live, started["id"]) == ("association_oriented", "cybersexism")
    for client in (console, visitor):
        await client.close()


@pytest.mark.parametrize("live", ["sqlite-memory"], indirect=True)
async def test_subtype_ignored_for_other_categories(live: LiveServer) -> None:
    """A subtype sent with the close of a domestic-violence tchat is not stored; none given stays empty."""
    console, visitor, started = await taken(live, "agent.cat2", "police", "75011", "domestic_violence")
    await console.send({"type": "close", "conversation": started["id"], "outcome": "information_given",
                        "subtype": "online_hate"})
    await console.expect("closed", conversation=started["id"])
    assert await stored_subtype(live, started["id"]) == ("information_given", None)

    other_console, other_visitor, other = await taken(live, "agent.cat3b", "police", "75011",
                                                      "discrimination_hate")
    await other_console.send({"type": "close", "conversation": other["id"], "outcome": "other", "subtype": ""})
    await other_console.expect("closed", conversation=other["id"])
    assert await stored_subtype(live, other["id"]) == ("other", None)
    for client in (console, visitor, other_console, other_visitor):
        await client.close()


async def test_subtype_recorded_for_an_abandoned_tchat(live: LiveServer) -> None:
    """The outcome of an abandoned category-3 tchat is recorded with its subtype."""
    console, visitor, started = await taken(live, "agent.aband", "police", "75011", "discrimination_hate")
    await visitor.send({"type": "leave"})
    await console.expect("closed", conversation=started["id"], status="abandoned")
    await console.send({"type": "close", "conversation": started["id"], "outcome": "visitor_left",
                        "subtype": "cyber_harassment"})
    await console.expect("closed", conversation=started["id"], outcome="visitor_left")
    assert await stored_subtype(live, started["id"]) == ("visitor_left", "cyber_harassment")
    for client in (console, visitor):
        await client.close()
