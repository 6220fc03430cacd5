"""The soak's load generator against a tiny real HTTP/1.1 server on a local socket.

Each answer the server can give (2xx with a length or in chunks, a shed 503, another 503, a
500, an answer that closes the connection, a connection closed with no answer) is counted
under its kind and outcome; only 2xx answers enter the percentiles of the served, the shed
are counted apart, and a request the generator had no connection for is reported as unsent.
No assertion depends on timing.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pytest

from bench.loadgen import (
    Generator,
    Request,
    ResponseParser,
    closed_loop,
    encode,
    new_event_loop,
    open_loop,
)
from bench.loadtally import SHED

HOST = "127.0.0.1"
T = TypeVar("T")

ANSWERS = {
    "/ok": b'HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n{"ok":true}',
    "/chunked": (
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4\r\n{"a"\r\n5;x=y\r\n:true\r\n1\r\n}\r\n0\r\nExpires: never\r\n\r\n'
    ),
    "/shed": (
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 21\r\nretry-after: 1\r\n\r\n"
        b'{"code":"overloaded"}'
    ),
    "/down": b'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 15\r\n\r\n{"code":"down"}',
    "/fault": b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n",
    "/close": b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}",
}


class Server:
    """Answers each request by its path; `/drop` closes the connection unanswered, `/hold`
    waits for `release` before answering 200."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.connections = 0
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                path = head.split(b" ")[1].decode()
                lines = head.split(b"\r\n")
                length = next((int(x[15:]) for x in lines if x.startswith(b"Content-Length:")), 0)
                await reader.readexactly(length)
                if path == "/drop":
                    return
                if path == "/hold":
                    await self.release.wait()
                answer = ANSWERS.get(path, ANSWERS["/ok"])
                writer.write(answer[:30])  # the head cut in two writes
                await writer.drain()
                writer.write(answer[30:])
                if path == "/close":
                    return
        finally:
            writer.close()


@asynccontextmanager
async def serving() -> AsyncIterator[Server]:
    server = Server()
    listening = await asyncio.start_server(server.handle, HOST, 0)
    server.port = listening.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listening.close()
        await listening.wait_closed()


def run(test: Callable[[], Coroutine[Any, Any, T]]) -> T:
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(test())


def request(path: str, *, body: bytes = b"") -> Request:
    method = "POST" if body else "GET"
    return Request(path.strip("/"), encode(method, path, host=HOST, body=body))


def test_every_answer_is_counted_by_kind_and_outcome() -> None:
    paths = ["/ok", "/chunked", "/shed", "/down", "/fault", "/close", "/drop"]
    cycle = itertools.cycle([request(p, body=b'{"x": 1}' if p == "/ok" else b"") for p in paths])

    async def soak() -> Generator:
        async with serving() as server:
            generator = Generator(HOST, server.port, max_connections=50)
            await open_loop(generator, lambda: next(cycle), rate=10_000, seconds=0.0035)
            return generator

    tally = run(soak).tally
    summary = tally.summary()
    assert summary["by_status"] == {
        "chunked": {"201": 5},
        "close": {"200": 5},
        "down": {"503": 5},
        "fault": {"500": 5},
        "ok": {"200": 5},
        "shed": {SHED: 5},
    }
    assert (summary["served"], summary["shed"]) == (15, 5)
    assert summary["served_all"]["count"] == 15
    assert summary["served_kinds"]["shed"] == {"count": 0}
    assert summary["shed_all"]["count"] == 5
    assert summary["errors"] == {
        "down: 503": 5,
        "drop: closed before answering": 5,
        "fault: 500": 5,
    }
    assert summary["unsent"] == {}
    assert summary["send_lag"]["count"] == 35


def test_a_request_with_no_free_connection_is_reported_unsent() -> None:
    async def soak() -> tuple[Generator, int]:
        async with serving() as server:
            generator = Generator(HOST, server.port, max_connections=2)
            for _ in range(5):
                generator.send(request("/hold"), due=0.0)
            server.release.set()
            await generator.drain(patience=30)
            return generator, server.connections

    generator, connections = run(soak)
    assert generator.tally.unsent == {"hold": 3}
    assert generator.tally.summary()["by_status"] == {"hold": {"200": 2}}
    assert (generator.sent, connections) == (2, 2)


def test_the_closed_loop_keeps_its_connections_busy_and_reuses_them() -> None:
    async def peak() -> tuple[Generator, int, int]:
        async with serving() as server:
            generator = Generator(HOST, server.port, max_connections=3)
            done = await closed_loop(generator, lambda: request("/ok"), connections=3, seconds=0.05)
            return generator, done.sent, server.connections

    generator, sent, connections = run(peak)
    assert generator.tally.count() == sent >= 3
    assert generator.tally.error_counts() == {}
    assert connections == 3


def test_a_refused_connection_is_an_error() -> None:
    async def refused() -> Generator:
        async with serving() as server:
            port = server.port
        generator = Generator(HOST, port, max_connections=1)
        generator.send(request("/ok"), due=0.0)
        await generator.drain(patience=30)
        return generator

    assert run(refused).tally.errors == {"ok: connect: ConnectionRefusedError": 1}


@pytest.mark.parametrize("path", sorted(ANSWERS))
def test_an_answer_fed_a_byte_at_a_time_reads_as_one(path: str) -> None:
    parser = ResponseParser()
    data = ANSWERS[path] * 2
    answers = [a for i in range(len(data)) for a in parser.feed(data[i : i + 1])]
    whole = ResponseParser().feed(data)
    assert answers == whole
    assert len(whole) == 2
    assert whole[0].status == int(data[9:12])
    assert whole[0].close == (path == "/close")
    if path == "/chunked":
        assert whole[0].body == b'{"a":true}'
