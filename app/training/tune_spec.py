"""`tune:` in a dataset spec: which LightGBM parameters to search, over what, for how long."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.training.params import ROUND_KEYS, canonical


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    """A number from low to high; whole numbers when both bounds are whole (`num_leaves`)."""

    low: int | float
    high: int | float
    log: bool = Field(default=False, description="Search on a log scale (learning_rate).")

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low < self.high:
            raise ValueError("low must be below high")
        if self.log and self.low <= 0:
            raise ValueError("a log scale needs low > 0")
        return self

    def whole(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int)


class Choices(_Strict):
    choices: list[str | int | float | bool] = Field(min_length=1)


class Tune(_Strict):
    """Optuna's TPE sampler tries `trials` settings (or as many as `timeout_seconds` allows)."""

    trials: int = Field(default=30, ge=1, le=10_000)
    timeout_seconds: float | None = Field(default=None, gt=0)
    seed: int = Field(default=42, ge=0)
    space: dict[str, Range | Choices] = Field(min_length=1)

    def canonical_space(self) -> dict[str, Range | Choices]:
        """The space under LightGBM's main parameter names."""
        names = canonical(dict.fromkeys(self.space, 0), "tune.space")
        return dict(zip(names, self.space.values(), strict=True))


def check_space(tune: Tune, params: dict[str, Any]) -> None:
    """ValueError naming the key: unknown names, the round keys, a name also in `params`."""
    for key in tune.space:
        if key in ROUND_KEYS:
            raise ValueError(f"tune.space.{key}: the number of rounds comes from early stopping")
    searched = tune.canonical_space()
    fixed = canonical(params)
    for key, main in zip(tune.space, searched, strict=True):
        if main in fixed:
            raise ValueError(f"tune.space.{key}: also set in params; give it in one place")
