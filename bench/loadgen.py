"""A light HTTP/1.1 load generator: open loop at a fixed rate, or closed loop for the peak.

Requests are encoded once before the run (head and body in one bytes object) and written to
keep-alive connections by asyncio protocols, on uvloop when it is installed: a request costs
the generator tens of microseconds, not the millisecond of a Python HTTP client, so on a
machine it shares with the service the generator does not saturate first and its own queue
is not measured as the service's latency.

Open loop: request i is due at start + i / rate whether or not earlier ones were answered,
and its latency runs from that due time, so a late send, a slow connect or a queue anywhere
is counted (no coordinated omission). It goes on an idle connection, else on a new one; with
`max_connections` open it is not sent and is counted as unsent (the generator could not send
it), never dropped silently. Closed loop: `connections` requests in flight, each answer
followed at once by the next request.

Every answer is kept by kind and outcome (its status; `503 overloaded` when the body says the
request was shed) with its latency; a request that got no answer (connect refused, connection
closed, unreadable bytes, still unanswered when the run is drained) is an error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from bench.loadtally import Tally

IDLE_SECONDS = 2.0  # connections idle longer are let go: the server closes them at 5 s
MAX_HEAD_BYTES = 65_536


@dataclass(frozen=True)
class Request:
    """One request of a kind, encoded whole: request line, headers and body."""

    kind: str
    data: bytes


def encode(
    method: str, path: str, *, host: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class ProtocolError(Exception):
    """The server's bytes are not an HTTP/1.1 response this generator can read."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    close: bool  # the server closes the connection after this answer


class ResponseParser:
    """Cuts a connection's bytes into answers: bodies by Content-Length or chunked."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[Answer]:
        self.buffer += data
        answers = []
        while (answer := self._next()) is not None:
            answers.append(answer)
        return answers

    def _next(self) -> Answer | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise ProtocolError("a response head over 64 KiB")
            return None
        status, headers = _head(bytes(self.buffer[:end]))
        start = end + 4
        if "chunked" in headers.get("transfer-encoding", "").lower():
            found = _chunked(self.buffer, start)
            if found is None:
                return None
            body, stop = found
        else:
            stop = start + _length(status, headers)
            if len(self.buffer) < stop:
                return None
            body = bytes(self.buffer[start:stop])
        del self.buffer[:stop]
        return Answer(status, body, headers.get("connection", "").lower() == "close")


def _head(head: bytes) -> tuple[int, dict[str, str]]:
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
        raise ProtocolError(f"a status line {status_line[:40]!r}")
    headers = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise ProtocolError(f"a header line {line[:40]!r}")
        headers[name.strip().lower()] = value.strip()
    return int(rest[:3]), headers


def _length(status: int, headers: dict[str, str]) -> int:
    if "content-length" in headers:
        try:
            return int(headers["content-length"])
        except ValueError:
            raise ProtocolError(f"Content-Length {headers['content-length']!r}") from None
    if status in (204, 304) or status < 200:
        return 0
    raise ProtocolError(f"a {status} answer with neither Content-Length nor chunks")


def _chunked(buffer: bytearray, at: int) -> tuple[bytes, int] | None:
    """The body of a chunked answer starting at `at` and where the answer ends, or None
    while it is incomplete."""
    body = bytearray()
    while True:
        eol = buffer.find(b"\r\n", at)
        if eol < 0:
            return None
        try:
            size = int(bytes(buffer[at:eol]).split(b";")[0], 16)
        except ValueError:
            raise ProtocolError("a chunk size that is not hexadecimal") from None
        at = eol + 2
        if size == 0:  # then trailers, if any, and an empty line
            if buffer[at : at + 2] == b"\r\n":
                return bytes(body), at + 2
            end = buffer.find(b"\r\n\r\n", at)
            return None if end < 0 else (bytes(body), end + 4)
        if len(buffer) < at + size + 2:
            return None
        body += buffer[at : at + size]
        at += size + 2


class Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    def __init__(self, generator: Generator) -> None:
        self.generator = generator
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.request: Request | None = None
        self.due = 0.0
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def send(self, request: Request, due: float) -> None:
        assert self.transport is not None
        self.request, self.due = request, due
        self.transport.write(request.data)
        self.generator.tally.lag.append(time.monotonic() - due)

    def data_received(self, data: bytes) -> None:
        try:
            answers = self.parser.feed(data)
            if len(answers) > 1 or (answers and self.request is None):
                raise ProtocolError("an answer to no request")
        except ProtocolError as exc:
            self.abandon(f"unreadable answer ({exc})")
            return
        if answers and self.request is not None:
            request, self.request = self.request, None
            self.generator.answered(self, request, self.due, answers[0])

    def connection_lost(self, _exc: Exception | None) -> None:
        self.generator.lost(self)
        self.abandon("closed before answering")

    def abandon(self, why: str) -> None:
        """The request in flight, if any, is an error; the connection is closed."""
        if self.request is not None:
            request, self.request = self.request, None
            self.generator.failed(request, why)
        self.close()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()


@dataclass(frozen=True)
class Run:
    """A phase's requests sent, wall time (to the last answer) and the generator's CPU."""

    sent: int
    seconds: float
    cpu_seconds: float

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / self.sent * 1e6 if self.sent else 0.0


class Generator:
    """Sends requests to one host over a pool of at most `max_connections` connections."""

    def __init__(self, host: str, port: int, *, max_connections: int) -> None:
        self.host, self.port = host, port
        self.max_connections = max_connections
        self.tally = Tally()
        self.idle: list[Connection] = []  # the most recently used last
        self.live: set[Connection] = set()
        self.connecting: set[asyncio.Task[None]] = set()
        self.opened = 0  # open or being opened
        self.in_flight = 0
        self.sent = 0
        self.settled = asyncio.Event()
        self.chain: Callable[[], Request] | None = None  # closed loop: what to send next
        self.chain_until = 0.0

    def send(self, request: Request, due: float) -> None:
        connection = self._idle()
        if connection is None and self.opened >= self.max_connections:
            self.tally.unsent[request.kind] += 1
            return
        self.sent += 1
        self.in_flight += 1
        if connection is not None:
            connection.send(request, due)
            return
        self.opened += 1
        task = asyncio.get_running_loop().create_task(self._connect(request, due))
        self.connecting.add(task)
        task.add_done_callback(self.connecting.discard)

    def _idle(self) -> Connection | None:
        now = time.monotonic()
        while self.idle:
            connection = self.idle.pop()
            if now - connection.idle_since < IDLE_SECONDS:
                return connection
            connection.close()
        return None

    async def _connect(self, request: Request, due: float) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                lambda: Connection(self), self.host, self.port
            )
        except OSError as exc:
            self.opened -= 1
            self.failed(request, f"connect: {type(exc).__name__}")
            return
        except asyncio.CancelledError:
            self.opened -= 1
            self.failed(request, "unanswered when the run ended")
            raise
        self.live.add(connection)
        connection.send(request, due)

    def answered(
        self, connection: Connection, request: Request, due: float, answer: Answer
    ) -> None:
        now = time.monotonic()
        self.tally.record(request.kind, answer.status, answer.body, due, now - due)
        if answer.close:
            connection.close()
        else:
            connection.idle_since = now
            self.idle.append(connection)
        self._settle(now)

    def failed(self, request: Request, why: str) -> None:
        self.tally.errors[f"{request.kind}: {why}"] += 1
        self._settle(time.monotonic())

    def _settle(self, now: float) -> None:
        self.in_flight -= 1
        if self.chain is not None and now < self.chain_until:
            self.send(self.chain(), now)
        elif self.in_flight == 0:
            self.settled.set()

    def lost(self, connection: Connection) -> None:
        if connection in self.live:
            self.live.discard(connection)
            self.opened -= 1
        if connection in self.idle:
            self.idle.remove(connection)

    async def drain(self, patience: float) -> None:
        """Waits up to `patience` seconds for the requests in flight; the rest are errors.
        Closes every connection."""
        self.chain = None
        if self.in_flight:
            self.settled.clear()
            try:
                async with asyncio.timeout(patience):
                    await self.settled.wait()
            except TimeoutError:
                for connection in list(self.live):
                    connection.abandon(f"unanswered {patience:g} s after the run")
                for task in list(self.connecting):
                    task.cancel()
                await asyncio.gather(*self.connecting, return_exceptions=True)
        for connection in list(self.live):
            connection.close()
        await asyncio.sleep(0)  # the closed connections' connection_lost run


async def open_loop(
    generator: Generator, requests: Callable[[], Request], *, rate: float, seconds: float
) -> Run:
    """Sends `rate` requests a second for `seconds`, request i due at start + i / rate, then
    drains. Latencies run from the due times."""
    total = round(rate * seconds)
    cpu, start = time.process_time(), time.monotonic()
    generator.tally.origin = start
    i = 0
    while i < total:
        now = time.monotonic()
        while i < total and start + i / rate <= now:
            generator.send(requests(), start + i / rate)
            i += 1
        # uvloop's timers count whole milliseconds: a shorter sleep would return at once.
        await asyncio.sleep(max(0.001, start + i / rate - time.monotonic()))
    await generator.drain(patience=30)
    return Run(generator.sent, time.monotonic() - start, time.process_time() - cpu)


async def closed_loop(
    generator: Generator, requests: Callable[[], Request], *, connections: int, seconds: float
) -> Run:
    """`connections` requests in flight for `seconds`, each answer followed by the next."""
    cpu, start = time.process_time(), time.monotonic()
    generator.tally.origin = start
    generator.chain, generator.chain_until = requests, start + seconds
    for _ in range(connections):
        generator.send(requests(), start)
    await asyncio.sleep(seconds)
    await generator.drain(patience=30)
    return Run(generator.sent, time.monotonic() - start, time.process_time() - cpu)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when it is installed (it is with uvicorn[standard]), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
