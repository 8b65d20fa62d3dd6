"""The ``suggest`` frame: the operator in charge inserts an orientation card into the tchat with one action.

``{"type":"suggest","conversation":id,"kind":"support"|"helplines","support":id?}`` builds a card from the routing
data for the conversation's commune and category, and posts it as a message of kind card: the visitor reads it in
the chat (chat/static/js/cards.js draws ``kind``, ``title``, ``text`` and ``items``) and it stays in the transcript.
"""

from __future__ import annotations

from typing import Any, cast

import routing
from chat import conversations
from chat.store import ConversationRow
from operators.consoles import Console

KINDS = ("support", "helplines")
# Five places: enough to choose one close to home or work, short enough to read on a phone.
SUPPORT_LIMIT = 5
# A chosen place must be among the nearest ones of a fitting kind: the operator picks from what the console lists.
CHOSEN_LIMIT = 50
MAX_ID_CHARS = 64

SUPPORT_TEXT = ("Ces lieux accueillent les victimes près de {commune} : écoute, information sur vos droits et "
                "accompagnement dans vos démarches, que vous portiez plainte ou non.")
CHOSEN_TEXT = ("Ce lieu accueille les victimes près de {commune} : écoute, information sur vos droits et "
               "accompagnement dans vos démarches, que vous portiez plainte ou non.")
HELPLINES_TEXT = ("Vous pouvez appeler ces numéros, même plus tard, pour être écouté·e et orienté·e. "
                  "En cas de danger immédiat, appelez le 17 ou le 112, ou envoyez un SMS au 114.")
NO_SUPPORT = ("Aucun lieu d'aide aux victimes n'est connu près de cette commune : proposez plutôt les numéros "
              "utiles.")
UNKNOWN_SUPPORT = "Ce lieu d'aide ne fait pas partie des lieux proches de la personne."
NO_COMMUNE = ("La personne n'a pas indiqué où elle se trouve : indiquez d'abord sa commune (« Indiquer la commune »), "
              "ou proposez les numéros utiles.")


def support_item(point: routing.SupportPoint) -> dict[str, Any]:
    item: dict[str, Any] = {"id": point.id, "name": point.name, "kind_label": point.kind_label}
    for key, value in (("address", point.address), ("phone", point.phone), ("contact", point.contact),
                       ("distance_km", point.distance_km)):
        if value is not None:
            item[key] = value
    return item


def support_card(conversation: ConversationRow, chosen: str | None = None) -> dict[str, Any] | None:
    """The nearest support points (or the chosen one) for the conversation's commune; None when there is none."""
    category = cast(routing.Category, conversation.category)
    commune = conversation.commune_name or "chez vous"
    if chosen is None:
        points = routing.nearby_support(conversation.insee, category, SUPPORT_LIMIT)
        text = SUPPORT_TEXT
    else:
        points = [p for p in routing.nearby_support(conversation.insee, category, CHOSEN_LIMIT) if p.id == chosen]
        text = CHOSEN_TEXT
    if not points:
        return None
    return {"kind": "support", "title": "Aide près de chez vous", "text": text.format(commune=commune),
            "items": [support_item(p) for p in points]}


def helplines_card(conversation: ConversationRow) -> dict[str, Any]:
    """The national numbers that fit the category and the flags (emergency, minor), the most urgent first."""
    lines = routing.helplines(cast(routing.Category, conversation.category), emergency=conversation.emergency,
                              minor=conversation.minor)
    return {"kind": "helplines", "title": "Numéros utiles", "text": HELPLINES_TEXT,
            "items": [line.as_json() for line in lines]}


async def suggest(console: Console, fields: dict[str, Any]) -> None:
    kind = fields.get("kind", "support")
    chosen = fields.get("support")
    if kind not in KINDS or (chosen is not None and (
            kind != "support" or not isinstance(chosen, str) or not 0 < len(chosen) <= MAX_ID_CHARS)):
        conversation_id = fields.get("conversation")
        await console.error("invalid_field", conversation_id if isinstance(conversation_id, str) else None)
        return
    conversation = await console.conversation(fields, need="write")
    if conversation is None:
        return
    if conversation.category not in routing.CATEGORIES:
        await console.error("invalid_field", conversation.id)
        return
    card = helplines_card(conversation) if kind == "helplines" else support_card(conversation, chosen)
    if card is None:
        message = NO_COMMUNE if not conversation.insee else NO_SUPPORT if chosen is None else UNKNOWN_SUPPORT
        await console.send({"type": "error", "code": "no_support", "message": message,
                            "conversation": conversation.id})
        return
    await conversations.post_card(console.state, conversation.id, card, author="operator",
                                  author_id=console.account.id)

