"""One worker's registry: it follows the champion pointers and refuses bad versions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from app.errors import Unavailable
from app.polling import run_periodically
from app.serving.registry import ModelRegistry
from app.serving.repository import ModelRepository
from tests.model_versions import FALLBACK_FEATURES, corrupt, point_by_hand, write_version

REQUIRED = ("lapse", "claims")


def registry_for(root: Path) -> ModelRegistry:
    return ModelRegistry(
        ModelRepository(root), expected={"lapse": FALLBACK_FEATURES}, required=REQUIRED
    )


def served(registry: ModelRegistry) -> dict[str, str | None]:
    return {n: s.served.version if s.served else None for n, s in registry.states.items()}


def test_start_loads_every_champion_and_names_what_is_missing(tmp_path: Path) -> None:
    repository = ModelRepository(tmp_path)
    lapse = write_version(tmp_path, "lapse")
    repository.promote("lapse", lapse)
    write_version(tmp_path, "claims")  # trained, never promoted
    registry = registry_for(tmp_path)
    asyncio.run(registry.start())
    assert served(registry) == {"lapse": lapse, "claims": None}
    assert registry.missing() == {"claims": "no champion has been promoted"}
    assert registry.champion("lapse").version == lapse
    with pytest.raises(Unavailable, match="no champion of model 'claims' is loaded"):
        registry.champion("claims")


def test_refresh_swaps_while_a_request_keeps_its_model(tmp_path: Path) -> None:
    repository = ModelRepository(tmp_path)
    first, second = (write_version(tmp_path, "lapse", seed=s) for s in (1, 2))
    repository.promote("lapse", first)
    registry = registry_for(tmp_path)

    async def scenario() -> None:
        await registry.start()
        in_flight = registry.champion("lapse")
        repository.promote("lapse", second)
        await registry.refresh()
        assert registry.champion("lapse").version == second
        # The request that took the old model before the swap finishes with it.
        rows = np.zeros((2, len(FALLBACK_FEATURES)))
        assert in_flight.version == first
        assert np.asarray(in_flight.booster.predict(rows)).shape == (2,)

    asyncio.run(scenario())


def test_refused_champion_keeps_the_previous_one_with_the_error(tmp_path: Path) -> None:
    repository = ModelRepository(tmp_path)
    good, bad = (write_version(tmp_path, "lapse", seed=s) for s in (1, 2))
    repository.promote("lapse", good)
    registry = registry_for(tmp_path)
    asyncio.run(registry.start())
    corrupt(tmp_path, "lapse", bad)
    point_by_hand(tmp_path, "lapse", bad)
    asyncio.run(registry.refresh())
    slot = registry.states["lapse"]
    assert slot.served is not None
    assert slot.served.version == good
    assert slot.error is not None
    assert f"lapse/{bad}: model.txt is corrupt" in slot.error
    # Fixing the pointer clears the error.
    repository.promote("lapse", good)
    asyncio.run(registry.refresh(["lapse"]))
    assert registry.states["lapse"].error is None


def test_a_garbled_pointer_keeps_the_champion_serving(tmp_path: Path) -> None:
    repository = ModelRepository(tmp_path)
    version = write_version(tmp_path, "lapse")
    repository.promote("lapse", version)
    registry = registry_for(tmp_path)
    asyncio.run(registry.start())
    (tmp_path / "lapse" / "champion.json").write_text("{half a pointer")
    asyncio.run(registry.refresh())
    assert served(registry)["lapse"] == version
    assert "champion.json is not valid" in (registry.states["lapse"].error or "")
    assert "lapse" not in registry.missing()


def test_polling_picks_up_a_promotion_and_stops_when_cancelled(tmp_path: Path) -> None:
    repository = ModelRepository(tmp_path)
    first, second = (write_version(tmp_path, "lapse", seed=s) for s in (1, 2))
    repository.promote("lapse", first)
    registry = registry_for(tmp_path)

    async def scenario() -> None:
        await registry.start()
        follower = asyncio.create_task(run_periodically(0.01, registry.refresh, "the folder"))
        repository.promote("lapse", second)
        async with asyncio.timeout(10):
            # The state is the registry's own: there is no event to wait on, only to look.
            while registry.champion("lapse").version != second:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follower

    asyncio.run(scenario())
