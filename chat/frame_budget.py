"""What one visitor socket may ask of the server: one token bucket for every client frame, with the budgets of the
costly or chatty kinds inside it (sends, typing notices, replays).

The browser sends a few frames a second at most: a ping every 25 s, a typing notice every 2 s while typing, a
``read`` per message shown, and sends (2 a second, bursts of 10 for pasted lines). A script can send thousands: each
frame it sends past the budget costs the server one comparison, and nothing else.
"""

from __future__ import annotations

import enum
import time

from chat.protocol import Frame, Leave, Ping, ProtocolError, Read, Resume, Send, Typing
from chat.ratelimit import TokenBucket

# Every client frame of one socket: the send budget plus 6 a second with bursts of 20 for the rest (with the
# default send budget, 8 a second with bursts of 30: a paste of 10 lines, their reads and a typing notice fit in a
# burst; a flood is cut after 30 frames). The load tests, which raise the send budget, raise this with it.
OTHER_FRAMES_PER_SECOND = 6.0
OTHER_FRAME_BURST = 20.0
# A typing notice is advisory: one every 2 s is enough for an indicator and caps fan-out.
TYPING_INTERVAL = 2.0
# ``resume`` replays the transcript after a seq: the page reconnects with ``hello`` instead, so a socket needs it
# rarely; 2 at once, then one every 10 s.
RESUMES_PER_SECOND = 0.1
RESUME_BURST = 2.0
# Refusals of frames without a client_id are answered once a second at most: a flood does not get a flood back.
REFUSAL_INTERVAL = 1.0


class Verdict(enum.Enum):
    HANDLE = "handle"
    REFUSE = "refuse"  # answered with a French rate_limited error
    DROP = "drop"  # over budget, and either advisory (typing, ping) or refused a moment ago: ignored


class FrameBudget:
    __slots__ = ("frames", "last_refusal", "last_typing", "resumes", "sends")  # one per socket

    def __init__(self, send_rate: float, send_burst: float) -> None:
        self.frames = TokenBucket(OTHER_FRAMES_PER_SECOND + send_rate, OTHER_FRAME_BURST + send_burst)
        self.sends = TokenBucket(send_rate, send_burst)
        self.resumes = TokenBucket(RESUMES_PER_SECOND, RESUME_BURST)
        self.last_typing = float("-inf")
        self.last_refusal = float("-inf")

    def admit(self, frame: Frame | ProtocolError) -> Verdict:
        if isinstance(frame, Leave):
            return Verdict.HANDLE  # leaving ends the socket: never refused
        within = self.frames.allow()
        if isinstance(frame, Send):
            # A send is always answered (its client_id waits for an ack or an error in the page's outbox).
            return Verdict.HANDLE if within and self.sends.allow() else Verdict.REFUSE
        if isinstance(frame, Read):
            return Verdict.HANDLE  # it only replaces the seq waiting to be published (twice a second at most)
        if isinstance(frame, Ping):
            return Verdict.HANDLE if within else Verdict.DROP
        if isinstance(frame, Typing):
            now = time.monotonic()
            if not within or now - self.last_typing < TYPING_INTERVAL:
                return Verdict.DROP
            self.last_typing = now
            return Verdict.HANDLE
        if within and (not isinstance(frame, Resume) or self.resumes.allow()):
            return Verdict.HANDLE
        now = time.monotonic()
        if now - self.last_refusal < REFUSAL_INTERVAL:
            return Verdict.DROP
        self.last_refusal = now
        return Verdict.REFUSE
