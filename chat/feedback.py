"""``POST /api/v1/feedback`` ``{"token", "score": 1…5, "comment"?}``: the visitor's anonymous answer after a tchat.

Once per tchat, only after it ended and while its token still opens it (``PNAV_TOKEN_GRACE_SECONDS``). What is stored
says nothing about the tchat beyond what statistics group by: force, category and the day (Paris) it ended; a
random id, no conversation id, no time of day. A separate receipt (the conversation id alone) makes it once per
tchat without saying which answer was given. The free text is purged with the tchats of its day (escalation's
retention).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chat import protocol, store
from chat.db import utcnow
from chat.errors import ApiError, read_json_object
from chat.models import Feedback, FeedbackReceipt
from chat.state import state_of
from chat.visitor_socket import token_usable

# Days of the statistics and of the retention are Paris days, like every figure of the service.
PARIS = ZoneInfo("Europe/Paris")
SCORES = (1, 2, 3, 4, 5)
# Two or three sentences: enough to say what helped or what was missing, short enough to read and to purge.
MAX_COMMENT = 500

INVALID_TOKEN = "Le délai pour donner votre avis sur ce tchat est dépassé. Merci d'avoir écrit."  # noqa: S105 - a French message
ALREADY = "Votre avis sur ce tchat a déjà été enregistré. Merci."
STILL_OPEN = "Vous pourrez donner votre avis quand le tchat sera terminé."
INVALID_SCORE = "Choisissez une réponse de 1 (pas du tout) à 5 (tout à fait)."
TOO_LONG = f"Votre commentaire dépasse {MAX_COMMENT} caractères : raccourcissez-le un peu."


def paris_day(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


async def give_feedback(request: Request) -> Response:
    state = state_of(request)
    data = await read_json_object(request)
    score = data.get("score")
    if isinstance(score, bool) or score not in SCORES:
        raise ApiError(422, "invalid_score", INVALID_SCORE)
    comment = data.get("comment")
    text: str | None = None
    if comment not in (None, ""):
        cleaned = protocol.clean_text(comment, MAX_COMMENT, allow_empty=True)
        if isinstance(cleaned, protocol.ProtocolError):
            code = "comment_too_long" if cleaned.code == "message_too_long" else "invalid_comment"
            raise ApiError(422, code, TOO_LONG if code == "comment_too_long" else
                           "Votre commentaire contient des caractères qui ne peuvent pas être enregistrés.")
        text = cleaned or None
    token = data.get("token")
    conversation = await store.by_token(state.sessions, token) if isinstance(token, str) and token else None
    if conversation is None or not token_usable(conversation, state.settings.token_grace_seconds):
        raise ApiError(401, "invalid_token", INVALID_TOKEN)
    if conversation.status in store.OPEN_STATUSES:
        raise ApiError(409, "conversation_open", STILL_OPEN)
    try:
        async with state.sessions.begin() as session:
            session.add(FeedbackReceipt(conversation_id=conversation.id))
            await session.flush()  # a second answer for this tchat stops here
            session.add(Feedback(id=secrets.token_hex(16), force=conversation.force, category=conversation.category,
                                 day=paris_day(conversation.closed_at or utcnow()), score=int(score), comment=text))
    except IntegrityError:
        raise ApiError(409, "feedback_already_given", ALREADY) from None
    return JSONResponse({"status": "recorded"}, status_code=201)
