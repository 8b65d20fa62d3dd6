"""The ``set_commune`` frame: the operator in charge sets the commune of a tchat (one started sans localisation, or
whose commune the person corrects), which sets its département, its competent local service (for a signalement) and
what "Proposer des aides à proximité" finds.

``{"type":"set_commune","conversation":id,"insee":"25056"}`` → every console of the tchat receives ``located``
``{conversation, commune, insee, department, postal_code, competent_force, message?}``. The force in charge does not
change: when the commune is the other force's, ``message`` says so and the operator may transfer the tchat.
"""

from __future__ import annotations

from typing import Any

import routing
from audit import trail
from chat import conversations, store
from operators.consoles import Console

FORCE_NAMES = {"police": "la police nationale", "gendarmerie": "la gendarmerie nationale"}
OTHER_FORCE = ("Cette commune relève de {force} : si la personne s'y trouve, transférez-lui la conversation "
               "(« Transférer »).")
# INSEE codes are five characters (2A004 in Corsica, 97411 overseas).
INSEE_CHARS = 5


async def set_commune(console: Console, fields: dict[str, Any]) -> None:
    insee = fields.get("insee")
    if not isinstance(insee, str) or len(insee) != INSEE_CHARS or not insee.isascii() or not insee.isalnum():
        conversation_id = fields.get("conversation")
        await console.error("invalid_field", conversation_id if isinstance(conversation_id, str) else None)
        return
    conversation = await console.conversation(fields, need="manage")
    if conversation is None:
        return
    try:
        resolved = routing.resolve_commune(insee)
    except routing.RoutingError as exc:
        await console.send({"type": "error", "code": exc.code, "message": exc.message,
                            "conversation": conversation.id})
        return
    async with console.state.sessions.begin() as session:
        located_here = await store.set_location_in(session, conversation.id, resolved,
                                                   only_assigned_to=console.account.id)
        if located_here:
            await trail.record(session, actor=console.account.username, action="conversation.located",
                               target=conversation.id, details={"insee": resolved.insee})
    if not located_here:
        await console.error("conversation_closed", conversation.id)
        return
    located: dict[str, Any] = {
        "type": "located", "commune": resolved.commune_name, "insee": resolved.insee,
        "department": resolved.department, "postal_code": resolved.postal_code, "competent_force": resolved.force,
    }
    if resolved.force != conversation.force:
        located["message"] = OTHER_FORCE.format(force=FORCE_NAMES[resolved.force])
    # On the tchat's channel for its consoles; the visitor's socket forwards no "located" frame.
    await conversations.publish(console.state, conversation.id, located)

