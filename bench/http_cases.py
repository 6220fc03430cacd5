"""What the HTTP benchmark sends, and the checks it makes before measuring.

Every case POSTs bodies from a file, one JSON document a line, that wrk sends in turn: many
different clients, so no single cached body is measured. Bodies hold the profiles of a
synthetic book (inline cases), the ids of the stored demo book (stored case), or the lapse
model's encoded feature rows of the same synthetic book (peers).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

from app.demo.synthetic import SyntheticBook
from app.serving.features import encode, profile_features
from app.serving.repository import LoadedModel
from bench.peers import mlserver

CLASSIFY_PATH = "/v1/classify"
BARE_PATH = "/predict"
CHECKED_BODIES = 5
# The peers run the LightGBM version pinned here on the same float64 rows, sent as JSON
# numbers that read back exactly: any gap is a bug in the harness, not noise.
PREDICTION_TOLERANCE = 1e-12
LABELS = {
    "a": "clientscore POST /v1/classify, inline profile, explain=false",
    "a'": "clientscore POST /v1/classify, inline profile, explain=true",
    "b": "clientscore POST /v1/classify, client_id, explain=true (Postgres, audit)",
    "e": "clientscore GET /v1/clients/{id}/classification (Postgres, audit)",
    "f": "clientscore desk card GET /desk/clients/{id} (Postgres, audit, page)",
    "c": "MLServer 1.7.1, LightGBM runtime, lapse model only (V2 infer)",
    "d": "bare FastAPI async def + Booster.predict, lapse model only",
}


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    url: str
    bodies: Path
    authorization: str = ""
    cookie: str = ""


def clientscore_cases(
    base_url: str,
    token: str,
    desk_cookie: str,
    book: SyntheticBook,
    client_ids: Sequence[str],
    folder: Path,
) -> list[Case]:
    """(a), (a'), (b), (e) and (f), their bodies written to `folder`."""
    url = f"{base_url}{CLASSIFY_PATH}"
    bodies = {
        "a": inline_bodies(book, folder / "a.ndjson", explain=False),
        "a'": inline_bodies(book, folder / "a-explain.ndjson", explain=True),
        "b": stored_bodies(client_ids, folder / "b.ndjson"),
    }
    cases = [Case(key, LABELS[key], url, path, f"Bearer {token}") for key, path in bodies.items()]
    api = write_lines_raw(
        folder / "e.txt", (f"GET /v1/clients/{c}/classification" for c in client_ids)
    )
    cases.append(Case("e", LABELS["e"], base_url, api, f"Bearer {token}"))
    desk = write_lines_raw(folder / "f.txt", (f"GET /desk/clients/{c}" for c in client_ids))
    cases.append(Case("f", LABELS["f"], base_url, desk, cookie=desk_cookie))
    return cases


def write_lines_raw(path: Path, lines: Iterable[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def desk_cookie(base_url: str, key: str) -> str:
    """The session cookie of a desk sign-in with `key`, as an agent's browser would get it."""
    with httpx.Client(base_url=base_url) as http:
        page = http.get("/desk/sign-in").raise_for_status().text
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        if found is None:
            raise SystemExit("the desk's sign-in page has no csrf field")
        signed = http.post("/desk/sign-in", data={"key": key, "csrf": found.group(1)})
        if signed.status_code != 303 or "clientscore_session" not in http.cookies:
            raise SystemExit(f"desk sign-in failed: {signed.status_code} {signed.text[:300]}")
        return f"clientscore_session={http.cookies['clientscore_session']}"


def write_lines(path: Path, documents: Iterable[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(doc) + b"\n" for doc in documents))
    return path


def inline_bodies(book: SyntheticBook, path: Path, *, explain: bool) -> Path:
    """`{"profile": ..., "explain": ...}` for every client of the book, without personal data."""
    records = ({k: v for k, v in r.items() if k != "personal"} for r in book.records())
    return write_lines(path, ({"profile": r, "explain": explain} for r in records))


def stored_bodies(client_ids: Sequence[str], path: Path) -> Path:
    return write_lines(path, ({"client_id": c, "explain": True} for c in client_ids))


def lapse_rows(book: SyntheticBook, lapse: LoadedModel, as_of: date) -> np.ndarray[Any, Any]:
    """The lapse model's encoded feature rows of the book, as the service builds them."""
    return encode(profile_features(book.profiles, as_of), lapse.metadata.features)


def row_list(row: np.ndarray[Any, Any]) -> list[float | None]:
    # JSON has no NaN: a missing feature goes as null, which both peers read back as NaN.
    return [None if np.isnan(x) else float(x) for x in row]


def mlserver_bodies(rows: np.ndarray[Any, Any], path: Path) -> Path:
    return write_lines(path, (mlserver.infer_body(row_list(row)) for row in rows))


def bare_bodies(rows: np.ndarray[Any, Any], path: Path) -> Path:
    return write_lines(path, ({"features": row_list(row)} for row in rows))


def stored_client_ids(base_url: str, token: str, count: int) -> list[str]:
    """Up to `count` stored client ids, read page by page from GET /v1/clients."""
    ids: list[str] = []
    cursor: str | None = None
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as http:
        while len(ids) < count:
            params: dict[str, str | int] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            page = http.get("/v1/clients", params=params).raise_for_status().json()
            ids.extend(item["client_id"] for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
    if not ids:
        raise SystemExit("the demo book was not stored: GET /v1/clients is empty")
    return ids[:count]


def _first_bodies(case: Case) -> list[bytes]:
    with case.bodies.open("rb") as lines:
        return [next(lines).rstrip(b"\n") for _ in range(CHECKED_BODIES)]


def _send(case: Case, body: bytes) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if case.authorization:
        headers["Authorization"] = case.authorization
    if case.cookie:
        headers["Cookie"] = case.cookie
    if body.startswith(b"GET "):
        url = case.url + body.removeprefix(b"GET ").decode()
        response = httpx.get(url, headers=headers, timeout=30)
    else:
        response = httpx.post(case.url, content=body, headers=headers, timeout=30)
    if response.status_code != 200:
        raise SystemExit(f"({case.key}) answered {response.status_code}: {response.text[:500]}")
    return response


def _post(case: Case, body: bytes) -> Any:
    return _send(case, body).json()


def check_card(case: Case) -> None:
    """The first desk cards are pages of the clients asked for."""
    for body in _first_bodies(case):
        page = _send(case, body).text
        client_id = body.decode().rsplit("/", 1)[-1]
        if client_id not in page or "<html" not in page:
            raise SystemExit(f"({case.key}) is not the card of {client_id}: {page[:300]}")


def check_classifications(case: Case, *, explain: bool) -> None:
    """The first bodies get 200 with a classification; reasons exactly when asked for."""
    for body in _first_bodies(case):
        result = _post(case, body)
        if not {"value", "risk", "lifecycle", "strategy"} <= result.keys():
            raise SystemExit(f"({case.key}) returned no classification: {result}")
        if (result.get("reasons") is not None) != explain:
            raise SystemExit(f"({case.key}) reasons present: {not explain}, asked: {explain}")


def check_predictions(case: Case, expected: np.ndarray[Any, Any]) -> float:
    """The largest gap between the peer's predictions and Booster.predict on the same rows."""
    got = []
    for body in _first_bodies(case):
        answer = _post(case, body)
        got.append(answer["prediction"] if "prediction" in answer else mlserver.prediction(answer))
    gap = float(np.max(np.abs(np.array(got) - expected[: len(got)])))
    if gap > PREDICTION_TOLERANCE:
        raise SystemExit(f"({case.key}) predictions differ from Booster.predict by {gap}")
    return gap
