"""LightGBM parameters as a spec gives them: known names only, aliases resolved, conflicts told.

LightGBM itself ignores a name it does not know (with a warning that `verbosity: -1` hides)
and lets a parameter's main name win over its aliases, so `eta: 0.3` beside the default
`learning_rate` would do nothing. Here every key is looked up in LightGBM's own table of
parameters and aliases: an unknown key is refused naming it, an alias is rewritten to the
main name it stands for (so it replaces that default), and two keys for one parameter are
refused.
"""

from __future__ import annotations

import difflib
from functools import cache
from typing import Any

# Ours, not LightGBM's: the round cap and the early-stopping patience.
ROUND_KEYS = ("num_boost_round", "early_stopping_rounds")
# Aliases LightGBM reads for what the spec sets in one place only.
RESERVED: dict[str, str] = {
    "objective": "set by `task`",
    "num_iterations": "use params.num_boost_round",
    "early_stopping_round": "use params.early_stopping_rounds",
    "categorical_feature": "set by `features`, `target` and `exposure`",
    "init_score_file": "set by `features`, `target` and `exposure`",
    "weight_column": "set by `features`, `target` and `exposure`",
    "label_column": "set by `features`, `target` and `exposure`",
}


@cache
def main_names() -> dict[str, str]:
    """Every name LightGBM reads, alias or main name, mapped to its main name."""
    from lightgbm.basic import _ConfigAliases

    names: dict[str, str] = {}
    for main, aliases in _ConfigAliases._get_all_param_aliases().items():
        for alias in (main, *aliases):
            names[alias] = main
    return names


def reserved_reason(key: str) -> str | None:
    """Why `key` cannot be set in `params` (None when it can)."""
    if key in ROUND_KEYS:
        return None
    return RESERVED.get(main_names().get(key, key))


def canonical(params: dict[str, Any], where: str = "params") -> dict[str, Any]:
    """`params` with every key under LightGBM's main name; ValueError naming a bad key."""
    known = main_names()
    out: dict[str, Any] = {}
    given: dict[str, str] = {}
    for key, value in params.items():
        if key in ROUND_KEYS:
            out[key] = value
            continue
        reason = reserved_reason(key)
        if reason is not None:
            raise ValueError(f"{where}.{key}: {reason}")
        main = known.get(key)
        if main is None:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"{where}.{key}: not a LightGBM parameter{hint}")
        if main in given:
            raise ValueError(
                f"{where}.{key}: sets {main}, which {where}.{given[main]} sets already"
            )
        given[main] = key
        out[main] = value
    return out


def conflicts(params: dict[str, Any]) -> list[str]:
    """Warnings for settings that undo each other (params under their main names)."""
    found = []
    leaves, depth = params.get("num_leaves"), params.get("max_depth")
    if isinstance(leaves, int) and isinstance(depth, int) and depth > 0 and leaves > 2**depth:
        found.append(
            f"num_leaves {leaves} cannot be reached with max_depth {depth}: "
            f"trees have at most {2**depth} leaves"
        )
    if params.get("bagging_fraction", 1.0) < 1.0 and params.get("bagging_freq", 0) == 0:
        found.append("bagging_fraction < 1 does nothing while bagging_freq is 0")
    return found
