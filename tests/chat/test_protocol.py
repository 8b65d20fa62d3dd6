"""The sans-I/O frame parser: every rule of API.md's client frames, and no input that makes it raise."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from chat.protocol import Generic, Hello, Leave, ProtocolError, Read, Resume, Send, Typing, clean_text, parse

MAX_BYTES, MAX_CHARS = 16_384, 4_000


def p(frame: object) -> object:
    raw = frame if isinstance(frame, str | bytes) else json.dumps(frame)
    return parse(raw, max_bytes=MAX_BYTES, max_chars=MAX_CHARS)


def code(result: object) -> str:
    assert isinstance(result, ProtocolError), result
    return result.code


def test_hello_parsed() -> None:
    """hello carries the token and the last seq seen."""
    assert p({"type": "hello", "token": "abc", "after": 7}) == Hello("abc", 7)
    assert p({"type": "hello", "token": "abc"}) == Hello("abc", 0)


def test_hello_rejects_bad_fields() -> None:
    """hello without a token, with a negative, boolean or huge after is refused."""
    for frame in ({"type": "hello"}, {"type": "hello", "token": ""}, {"type": "hello", "token": "a", "after": -1},
                  {"type": "hello", "token": "a", "after": True}, {"type": "hello", "token": "a", "after": 2**40},
                  {"type": "hello", "token": "x" * 500}):
        assert code(p(frame)) == "invalid_field"


def test_send_parsed_and_normalised() -> None:
    """send keeps the client_id and a trimmed NFC body with LF line ends."""
    result = p({"type": "send", "client_id": "m-1", "body": "  Bonjour\r\nça va ?  "})
    assert result == Send("m-1", "Bonjour\nça va ?")
    assert p({"type": "send", "client_id": "m", "body": "e\u0301"}) == Send("m", "é")


def test_send_rejections() -> None:
    """Empty, too long, control characters, lone surrogates and bad client ids are typed errors."""
    assert code(p({"type": "send", "client_id": "a", "body": "   "})) == "empty_message"
    assert code(p({"type": "send", "client_id": "a", "body": "x" * 4001})) == "message_too_long"
    assert code(p({"type": "send", "client_id": "a", "body": "a\x07b"})) == "forbidden_characters"
    assert code(p('{"type":"send","client_id":"a","body":"\\ud800"}')) == "forbidden_characters"
    assert code(p({"type": "send", "client_id": "", "body": "a"})) == "invalid_field"
    assert code(p({"type": "send", "client_id": "x" * 65, "body": "a"})) == "invalid_field"
    assert code(p({"type": "send", "client_id": "a b", "body": "a"})) == "invalid_field"
    assert code(p({"type": "send", "client_id": 5, "body": "a"})) == "invalid_field"
    assert code(p({"type": "send", "client_id": "a", "body": 5})) == "invalid_field"


def test_long_message_error_names_the_limit() -> None:
    """The French message tells the limit so the person knows what to do."""
    result = p({"type": "send", "client_id": "a", "body": "x" * 4001})
    assert isinstance(result, ProtocolError) and "4000" in result.message and "Découpez" in result.message


def test_other_frames() -> None:
    """typing, read, resume and leave are parsed into their types."""
    assert p({"type": "typing"}) == Typing()
    assert p({"type": "read", "seq": 3}) == Read(3)
    assert p({"type": "resume", "after": 4}) == Resume(4)
    assert p({"type": "leave"}) == Leave()
    assert code(p({"type": "read", "seq": "3"})) == "invalid_field"


def test_frame_size_limit() -> None:
    """A frame above the byte limit is refused before JSON parsing."""
    assert code(parse("x" * 20_000, max_bytes=16_384, max_chars=4_000)) == "frame_too_large"


def test_malformed_and_unknown() -> None:
    """Non-JSON, non-objects, missing or non-string type, unknown types, deep nesting, invalid UTF-8."""
    for raw in ("{", "[]", "42", '"hello"', "{}", '{"type": 3}', b"\xff\xfe", "[" * 5000 + "]" * 5000):
        assert code(p(raw)) == "malformed_frame"
    assert code(p({"type": "explode"})) == "unknown_frame"


def test_extra_types_are_generic() -> None:
    """Types another package declares come back as Generic with their fields."""
    raw = '{"type":"take","conversation":"ab12"}'
    result = parse(raw, extra_types=frozenset({"take"}), max_bytes=MAX_BYTES, max_chars=MAX_CHARS)
    assert isinstance(result, Generic) and result.type == "take" and result.fields["conversation"] == "ab12"


def test_conversation_field_validated() -> None:
    """A conversation id must be short and alphanumeric."""
    assert code(p({"type": "typing", "conversation": "../etc"})) == "invalid_field"


def test_clean_text_allows_tabs_and_newlines() -> None:
    """Tabs and newlines are part of normal text."""
    assert clean_text("a\tb\nc", 100) == "a\tb\nc"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
frames = st.dictionaries(
    st.sampled_from(["type", "token", "after", "client_id", "body", "seq", "conversation"]),
    json_values | st.sampled_from(["hello", "send", "typing", "read", "resume", "leave"]),
)


@settings(max_examples=500, deadline=None)
@given(frames)
def test_parser_never_raises_on_objects(frame: dict[str, object]) -> None:
    """Any JSON object gives a typed frame or a typed error, never an exception."""
    result = p(frame)
    assert isinstance(result, Hello | Send | Typing | Read | Resume | Leave | ProtocolError)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_parser_never_raises_on_garbage(raw: bytes | str) -> None:
    """Random bytes and text give a typed error (or, rarely, a valid frame), never an exception."""
    result = parse(raw, max_bytes=MAX_BYTES, max_chars=MAX_CHARS)
    assert isinstance(result, Hello | Send | Typing | Read | Resume | Leave | ProtocolError)
