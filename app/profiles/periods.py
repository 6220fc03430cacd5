"""The periods a profile's fields are counted over, named once for every package that reads
them (features, the rules' facts, the demo book)."""

from __future__ import annotations

DAYS_PER_YEAR = 365.25  # dates in a profile are turned into years with this
CLAIM_WINDOW_YEARS = 3.0  # claim_count_3y and claim_amount_3y count this many years
