"""Writes without a precondition never fail for being concurrent: the last write wins."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from app.profiles.schemas import profile_example
from tests.integration.conftest import Api

WRITERS = 12
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def test_parallel_patches_without_if_match_all_succeed(api: Api) -> None:
    headers = api.auth()
    assert api.client.put("/v1/clients/P-1", json=profile_example(), headers=headers).is_success

    def patch(count: int) -> tuple[int, int]:
        response = api.client.patch(
            "/v1/clients/P-1", json={"interactions_12m": count}, headers=headers | MERGE_PATCH
        )
        return response.status_code, response.json().get("version", -1)

    with ThreadPoolExecutor(WRITERS) as pool:
        answers = list(pool.map(patch, range(100, 100 + WRITERS)))
    assert [status for status, _ in answers] == [200] * WRITERS, answers
    # Each write made its own version: nothing was lost or merged away.
    assert sorted(version for _, version in answers) == list(range(2, 2 + WRITERS))
    stored = api.client.get("/v1/clients/P-1", headers=headers).json()
    last = max(answers, key=lambda answer: answer[1])
    assert stored["version"] == last[1] == 1 + WRITERS
    assert stored["interactions_12m"] == 100 + [v for _, v in answers].index(last[1])


def test_parallel_puts_without_if_match_all_succeed(api: Api) -> None:
    headers = api.auth()
    assert api.client.put("/v1/clients/P-2", json=profile_example(), headers=headers).is_success

    def put(count: int) -> int:
        body = profile_example() | {"referrals": count}
        return api.client.put("/v1/clients/P-2", json=body, headers=headers).status_code

    with ThreadPoolExecutor(WRITERS) as pool:
        assert list(pool.map(put, range(100, 100 + WRITERS))) == [200] * WRITERS
    assert api.client.get("/v1/clients/P-2", headers=headers).json()["version"] == 1 + WRITERS
