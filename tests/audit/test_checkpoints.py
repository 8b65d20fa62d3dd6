"""Checkpoints kept off the database host: a truncated tail, or a history rewritten even with the key, fails
``pnav audit verify --checkpoint FILE``; forged checkpoint lines are refused; the webhook receives the signed head."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import checkpoints, cli, keys, trail
from audit.models import AuditEvent


async def _fill(sessions: async_sessionmaker[AsyncSession], first: int, count: int) -> None:
    for index in range(first, first + count):
        await trail.record(sessions, actor="chef.un", action="test.action", target=f"t{index}", details={"n": index})


async def _cli(argv: list[str], db_url: str, monkeypatch: pytest.MonkeyPatch,
               capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    monkeypatch.setenv("PNAV_DATABASE_URL", db_url)
    code = await asyncio.to_thread(cli.main_audit, argv)
    out = capsys.readouterr()
    return code, out.out, out.err


async def test_dropped_tail_fails_against_the_checkpoint(sessions: async_sessionmaker[AsyncSession], db_url: str,
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Checkpoints appended to a file after 3 and after 6 entries; the last entries deleted: the chain left is valid
    on its own (verify passes), but not against the file, which names the truncation."""
    saved = tmp_path / "audit-checkpoints.jsonl"
    await _fill(sessions, 0, 3)
    code, out, _ = await _cli(["checkpoint", "--append", str(saved)], db_url, monkeypatch, capsys)
    assert code == 0 and json.loads(out)["count"] == 3
    await _fill(sessions, 3, 3)
    code, out, _ = await _cli(["checkpoint", "--append", str(saved)], db_url, monkeypatch, capsys)
    line = json.loads(out)
    assert code == 0 and line["count"] == 6 and set(line) == {"count", "head", "at", "mac"}
    assert len(saved.read_text().splitlines()) == 2
    code, out, _ = await _cli(["verify", "--checkpoint", str(saved)], db_url, monkeypatch, capsys)
    assert code == 0 and "6 entries" in out and "2 checkpoint(s)" in out

    async with sessions.begin() as session:
        await session.execute(delete(AuditEvent).where(AuditEvent.seq > 4))
    code, out, _ = await _cli(["verify"], db_url, monkeypatch, capsys)
    assert code == 0 and "4 entries" in out  # alone, a shorter chain is a valid chain
    code, _, err = await _cli(["verify", "--checkpoint", str(saved)], db_url, monkeypatch, capsys)
    assert code == 1 and "counted 6 entries, the log has 4" in err and "tail was removed" in err


async def test_history_rewritten_with_the_key_fails_against_the_checkpoint(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    """Even someone holding the key, who edits entry 2 and recomputes every MAC after it, leaves a valid chain that
    no longer matches a checkpoint taken before."""
    await _fill(sessions, 0, 4)
    before = await checkpoints.take(sessions)
    async with sessions.begin() as session:
        rows = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        rows[1].target = "autre"
        prev = rows[0].hash
        for row in rows[1:]:
            row.prev_hash = prev
            row.hash = trail.entry_mac(keys.TEST_KEY, row.seq, row.at, row.actor, row.action, row.target,
                                       row.details, prev)
            prev = row.hash
            await session.flush()
    checked = await checkpoints.check(sessions, [before])
    assert checked.verification.broken_at is None
    assert len(checked.problems) == 1 and "entry 4" in checked.problems[0] and "rewritten" in checked.problems[0]


async def test_forged_or_broken_checkpoints_are_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    """A checkpoint line whose count or head was edited (its signature no longer matches), or signed under another
    key, is refused; a broken chain is never checkpointed."""
    await _fill(sessions, 0, 3)
    point = await checkpoints.take(sessions)
    assert checkpoints.read(point.line() + "\n\n", keys.TEST_KEY) == [point]
    edited = json.loads(point.line()) | {"count": 2}
    with pytest.raises(checkpoints.CheckpointError, match="line 1: its signature"):
        checkpoints.read(json.dumps(edited), keys.TEST_KEY)
    with pytest.raises(checkpoints.CheckpointError, match="signature"):
        checkpoints.parse(point.line(), b"x" * 32)
    with pytest.raises(checkpoints.CheckpointError, match="not a checkpoint"):
        checkpoints.parse("{}", keys.TEST_KEY)
    async with sessions.begin() as session:
        await session.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    with pytest.raises(checkpoints.CheckpointError, match="broken at entry 3"):
        await checkpoints.take(sessions)


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204 if self.path == "/ok" else 500)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_checkpoint_goes_to_a_webhook(sessions: async_sessionmaker[AsyncSession], db_url: str,
                                            receiver: tuple[str, list[bytes]], monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """``--webhook URL`` POSTs the same signed line it prints; a refusing webhook is an error (exit 1)."""
    base, received = receiver
    await _fill(sessions, 0, 2)
    code, out, _ = await _cli(["checkpoint", "--webhook", f"{base}/ok"], db_url, monkeypatch, capsys)
    assert code == 0 and received == [out.strip().encode()]
    assert checkpoints.parse(received[0].decode(), keys.TEST_KEY).count == 2
    code, _, err = await _cli(["checkpoint", "--webhook", f"{base}/down"], db_url, monkeypatch, capsys)
    assert code == 1 and "answered 500" in err
