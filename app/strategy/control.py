"""The control group: who is held out of an action, decided by a stable hash.

The client id is hashed 8 bytes at a time (its UTF-8 bytes read as little-endian words, each
folded in with the splitmix64 finaliser, the byte length first), `action | period` likewise;
the two keys mixed once more give 53 bits read as a number u in [0, 1), and the client is
held out when u < the share. The hash is fixed arithmetic on the bytes: every process,
worker, run and machine gives the same answer, and a new period draws again. A batch hashes
all its clients at once with the same arithmetic on NumPy's uint64 (`client_keys`,
`held_out_columns`), so one client and a batch agree exactly. Inline profiles have no client
id and are never held out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt

EPOCH = date(2000, 1, 3)  # a Monday: periods start on the same weekday
_MASK = (1 << 64) - 1
_GAMMA, _M1, _M2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_SEED = 0x636C69656E7473  # "clients"
_UNIT = 2.0**-53

Keys = npt.NDArray[np.uint64]


def period_of(day: date, period_days: int) -> str:
    """The first day of the period `day` falls in, as ISO text."""
    offset = (day - EPOCH).days // period_days * period_days
    return (EPOCH + timedelta(days=offset)).isoformat()


def _mix(z: int) -> int:
    z = (z + _GAMMA) & _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def key_of(text: str) -> int:
    """The 64-bit key of a text."""
    data = text.encode()
    h = _mix(_SEED ^ len(data))
    for start in range(0, len(data), 8):
        h = _mix(h ^ int.from_bytes(data[start : start + 8], "little"))
    return h


@lru_cache(maxsize=4096)
def salt(action: str, period: str) -> int:
    """The key of an action in a period."""
    return key_of(f"{action}|{period}")


def held_out(client_id: str | None, action: str, period: str, share: float) -> bool:
    if client_id is None or share <= 0:
        return False
    return held_out_key(key_of(client_id), action, period, share)


def held_out_key(key: int, action: str, period: str, share: float) -> bool:
    """`held_out` of the client whose id has the key `key` (`key_of`)."""
    return held_out_salted(key, salt(action, period), share)


def held_out_salted(key: int, action_salt: int, share: float) -> bool:
    """`held_out_key` with the action's salt in the period (`salt`) given."""
    return (_mix(key ^ action_salt) >> 11) * _UNIT < share


def _vmix(z: Keys) -> Keys:
    z = z + np.uint64(_GAMMA)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    out: Keys = z ^ (z >> np.uint64(31))
    return out


def client_keys(client_ids: Sequence[str | None]) -> Keys:
    """`key_of` of each client id, computed for the whole batch (0 where None)."""
    data = [b"" if c is None else c.encode() for c in client_ids]
    lengths = np.fromiter(map(len, data), dtype=np.uint64, count=len(data))
    words = max(1, -(-int(lengths.max(initial=0)) // 8))
    packed = np.array(data, dtype=f"S{8 * words}").view("<u8").reshape(len(data), words)
    h = _vmix(np.uint64(_SEED) ^ lengths)
    for w in range(words):
        h = np.where(lengths > 8 * w, _vmix(h ^ packed[:, w].astype(np.uint64)), h)
    return h


def held_out_columns(keys: Keys, salts: Keys, share: float) -> npt.NDArray[np.bool_]:
    """`held_out` of clients `keys` (from `client_keys`) for actions `salts` (`salt`), element
    by element; the caller masks out clients without an id."""
    if share <= 0:
        return np.zeros(np.broadcast_shapes(keys.shape, salts.shape), dtype=bool)
    u = (_vmix(keys ^ salts) >> np.uint64(11)).astype(np.float64) * _UNIT
    out: npt.NDArray[np.bool_] = u < share
    return out
