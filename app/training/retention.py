"""`task: retention`: shifted-beta-geometric retention curves fitted by maximum likelihood.

The data is either one row per client (`tenure`: the periods it has been a client, `target`:
1 if it left at the end of the last of them, 0 if it is still a client) or one row per
cohort and period (`period`: 0, 1, 2, ..., `target`: the clients still there). Per segment
(`segment`, optional), the likelihood of Fader & Hardie (2007) is maximised over alpha and
beta:

    sum over clients who left after t periods of ln P(T = t), P(T = t) = S(t - 1) - S(t),
    + sum over clients still there after t periods of ln S(t),
    S(t) = B(alpha, beta + t) / B(alpha, beta).

The fit is written as a version folder (`retention.json`, `survival.png`, `report.html`);
its alpha and beta go into the ruleset's `clv.retention` section, where CLV reads them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.optimize import minimize
from scipy.special import betaln

from app.arrays import FloatArray
from app.classification.retention import RETENTION_FILE, Sbg, survival
from app.errors import ServiceError
from app.training.sources import read_frame

CURVE_PERIODS = 12


class RetentionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    task: Literal["retention"]
    source: RetentionSource
    target: str = Field(description="1 = left, 0 = still a client; or a cohort's survivors.")
    tenure: str | None = Field(default=None, description="Per client: periods as a client.")
    entered: str | None = Field(
        default=None, description="Per client: periods already survived when first observed."
    )
    period: str | None = Field(default=None, description="Per cohort: the period, 0 first.")
    segment: str | None = Field(default=None, description="One curve per value of it.")
    fit_periods: int | None = Field(
        default=None, ge=1, description="Fit on the first periods only (the rest: a check)."
    )

    @model_validator(mode="after")
    def _one_layout(self) -> RetentionSpec:
        if (self.tenure is None) == (self.period is None):
            raise ValueError("give tenure (one row per client) or period (cohort counts)")
        if self.entered is not None and self.tenure is None:
            raise ValueError("entered goes with tenure (one row per client)")
        return self


class RetentionSource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["csv", "parquet"]
    path: Path


RetentionSpec.model_rebuild()


@dataclass(frozen=True, slots=True)
class Counts:
    """Clients lost at the end of period t (index t - 1) and still there after t periods.

    `entered` (optional) counts clients first observed after t periods (index t): a book
    observed today holds only clients that survived so far, so their likelihood is
    conditional on it (left truncation): ln S(t) of their entry is taken off.
    """

    lost: FloatArray
    alive: FloatArray
    entered: FloatArray | None = None

    @property
    def clients(self) -> int:
        return int(self.lost.sum() + self.alive.sum())


def log_likelihood(alpha: float, beta: float, counts: Counts) -> float:
    longest = max(len(counts.lost), len(counts.alive) - 1)
    t = np.arange(0, longest + 1, dtype=np.float64)
    log_s = betaln(alpha, beta + t) - betaln(alpha, beta)
    truncated = 0.0
    if counts.entered is not None:
        truncated = float(np.sum(counts.entered * log_s[np.arange(len(counts.entered))]))
    s = np.exp(log_s)
    lost_t = np.arange(1, len(counts.lost) + 1)
    with np.errstate(divide="ignore"):
        log_p = np.log(s[lost_t - 1] - s[lost_t])
    alive_t = np.arange(len(counts.alive))
    return float(
        np.sum(np.where(counts.lost > 0, counts.lost * log_p, 0.0))
        + np.sum(counts.alive * log_s[alive_t])
        - truncated
    )


def fit_sbg(counts: Counts) -> tuple[Sbg, float]:
    """The maximum-likelihood alpha and beta, and the log-likelihood there."""
    if counts.lost.sum() == 0:
        raise ServiceError("target: no client left; retention cannot be fitted")
    if counts.alive.sum() == 0 and len(counts.lost) < 2:
        raise ServiceError("target: every client left in the first period; nothing to fit")

    def loss(x: FloatArray) -> float:
        return -log_likelihood(float(np.exp(x[0])), float(np.exp(x[1])), counts)

    best = minimize(
        loss,
        np.zeros(2),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20_000},
    )
    if not best.success:
        raise ServiceError(f"retention: the fit did not converge ({best.message})")
    alpha, beta = (float(v) for v in np.exp(best.x))
    return Sbg(alpha, beta), -float(best.fun)


def cohort_counts(survivors: FloatArray) -> Counts:
    """From survivors n_0, n_1, ..., n_T: lost n_{t-1} - n_t, n_T still there after T."""
    if len(survivors) < 2 or (np.diff(survivors) > 0).any() or (survivors < 0).any():
        raise ServiceError("target: survivors must be counts that never rise, period 0 first")
    alive = np.zeros(len(survivors))
    alive[-1] = survivors[-1]
    return Counts(lost=-np.diff(survivors), alive=alive)


def client_counts(
    tenure: FloatArray, left: FloatArray, entered: FloatArray | None = None
) -> Counts:
    if not np.isin(left, (0.0, 1.0)).all():
        raise ServiceError("target: must be 1 (left) or 0 (still a client)")
    if not (np.isfinite(tenure) & (tenure >= 0) & (tenure == np.round(tenure))).all():
        raise ServiceError("tenure: whole periods (0, 1, 2, ...) without gaps")
    if (tenure[left == 1] < 1).any():
        raise ServiceError("tenure: a client that left was a client for at least 1 period")
    longest = int(tenure.max())
    lost = Counter(int(t) for t in tenure[left == 1])
    alive = Counter(int(t) for t in tenure[left == 0])
    first = None
    if entered is not None:
        if not ((entered >= 0) & (entered < tenure + left) & (entered == np.round(entered))).all():
            raise ServiceError("entered: whole periods, below the tenure at the end")
        seen = Counter(int(t) for t in entered)
        first = np.asarray([seen.get(t, 0) for t in range(longest + 1)], dtype=np.float64)
    return Counts(
        lost=np.asarray([lost.get(t, 0) for t in range(1, longest + 1)], dtype=np.float64),
        alive=np.asarray([alive.get(t, 0) for t in range(longest + 1)], dtype=np.float64),
        entered=first,
    )


def segment_counts(spec: RetentionSpec, spec_dir: Path) -> dict[str, Counts]:
    path = spec.source.path if spec.source.path.is_absolute() else spec_dir / spec.source.path
    segment = {spec.segment} if spec.segment else set()
    frame = read_frame(path, "source.path", segment, csv=spec.source.kind == "csv")
    wanted = [c for c in (spec.target, spec.tenure, spec.period, spec.segment, spec.entered) if c]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ServiceError(f"no column {', '.join(missing)} in {path}")
    groups = frame.groupby(spec.segment, sort=True) if spec.segment else [("all", frame)]
    counts = {}
    for key, rows in groups:
        name = str(key[0] if isinstance(key, tuple) else key)
        target = rows[spec.target].to_numpy(dtype=np.float64)
        if spec.period is not None:
            ordered = rows.sort_values(spec.period)
            periods = ordered[spec.period].to_numpy(dtype=np.float64)
            if not np.array_equal(periods, np.arange(len(periods))):
                raise ServiceError(f"period: segment {name} must have periods 0, 1, 2, ...")
            survivors = ordered[spec.target].to_numpy(dtype=np.float64)
            if spec.fit_periods is not None:
                survivors = survivors[: spec.fit_periods + 1]
            counts[name] = cohort_counts(survivors)
        else:
            assert spec.tenure is not None
            tenure = rows[spec.tenure].to_numpy(dtype=np.float64)
            entered = rows[spec.entered].to_numpy(dtype=np.float64) if spec.entered else None
            if spec.fit_periods is not None:  # censor at the fit horizon
                late = tenure > spec.fit_periods
                target = np.where(late, 0.0, target)
                tenure = np.minimum(tenure, spec.fit_periods)
            counts[name] = client_counts(tenure, target, entered)
    return counts


def train_retention(spec: RetentionSpec, *, spec_dir: Path, models_dir: Path) -> Path:
    """Fit every segment, then write the version folder; returns its path."""
    segments: dict[str, dict[str, Any]] = {}
    for name, counts in segment_counts(spec, spec_dir).items():
        sbg, ll = fit_sbg(counts)
        curve = survival(sbg, CURVE_PERIODS)
        segments[name] = {
            "alpha": sbg.alpha,
            "beta": sbg.beta,
            "log_likelihood": ll,
            "clients": counts.clients,
            "left": int(counts.lost.sum()),
            "mean_churn_probability": sbg.alpha / (sbg.alpha + sbg.beta),
            "survival": curve.tolist(),
            "retention_rate": (curve[1:] / curve[:-1]).tolist(),
        }
    created = datetime.now(UTC)
    body = {"name": spec.name, "model": "shifted-beta-geometric", "segments": segments}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    version = f"{created:%Y%m%dT%H%M%SZ}-{digest[:8]}"
    document = {
        **body,
        "version": version,
        "created_at": created.isoformat(),
        "spec": spec.model_dump(mode="json"),
    }
    return _write(models_dir / spec.name, version, document)


def _write(model_dir: Path, version: str, document: dict[str, Any]) -> Path:
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".training-", dir=model_dir))
    try:
        (staging / RETENTION_FILE).write_text(json.dumps(document, indent=2), encoding="utf-8")
        _plot(staging / "survival.png", document["segments"])
        (staging / "report.html").write_text(_html(document), encoding="utf-8")
        os.chmod(staging, 0o755)
        os.rename(staging, model_dir / version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return model_dir / version


def _plot(path: Path, segments: dict[str, dict[str, Any]]) -> None:
    from matplotlib.figure import Figure  # when a report is drawn

    figure = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = figure.add_subplot()
    for name, fit in segments.items():
        ax.plot(fit["survival"], marker="o", label=f"{name}: alpha {fit['alpha']:.3f}, "
                f"beta {fit['beta']:.3f}")  # fmt: skip
    ax.set(xlabel="period", ylabel="share of the cohort still a client", title="sBG survival")
    ax.legend(loc="upper right")
    figure.savefig(path, dpi=100)


def _html(document: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{name}</th><td>{fit['alpha']:.4f}</td><td>{fit['beta']:.4f}</td>"
        f"<td>{fit['log_likelihood']:.2f}</td><td>{fit['clients']}</td>"
        f"<td>{', '.join(f'{r:.3f}' for r in fit['retention_rate'][:6])}</td></tr>"
        for name, fit in document["segments"].items()
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{document['name']} {document['version']}</title></head><body>"
        f"<h1>{document['name']} {document['version']}</h1><p>Shifted-beta-geometric "
        "retention, fitted by maximum likelihood per segment.</p><table><tr><th>segment</th>"
        "<th>alpha</th><th>beta</th><th>log-likelihood</th><th>clients</th>"
        f"<th>retention rate, periods 1-6</th></tr>{rows}</table>"
        '<p><img src="survival.png" alt="survival"></p></body></html>\n'
    )


def summary(folder: Path) -> list[str]:
    document = json.loads((folder / RETENTION_FILE).read_text(encoding="utf-8"))
    lines = [f"fitted {document['name']} {document['version']} (sBG retention)"]
    snippet = ["  ruleset.yaml, clv:", "    retention:"]
    for name, fit in document["segments"].items():
        rates = ", ".join(f"{r:.3f}" for r in fit["retention_rate"][:5])
        lines.append(
            f"  {name}: alpha {fit['alpha']:.4f}, beta {fit['beta']:.4f}, "
            f"log-likelihood {fit['log_likelihood']:.2f}, {fit['clients']:,} clients; "
            f"retention by period {rates}"
        )
        snippet.append(f"      {name}: {{alpha: {fit['alpha']:.4f}, beta: {fit['beta']:.4f}}}")
    return [*lines, *snippet, f"  folder: {folder}"]
