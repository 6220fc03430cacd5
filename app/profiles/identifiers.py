"""Checks for the identifiers insurers hold: resident identity numbers and credit codes."""

from __future__ import annotations

import re

_RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
_RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_CHECK = "10X98765432"
_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,19}$")
CLIENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$"
_MAINLAND_MOBILE = re.compile(r"^(?:\+86|0086)(1\d{10})$")


def normalise_phone(value: str) -> str:
    """One stored form per number: spaces and dashes dropped, and a mainland mobile number's
    country code (+86 or 0086) too: `+86 147 5774 4243`, `147-5774-4243`, `14757744243` and
    `+8614757744243` are all `14757744243`. Migration 0008 holds this rule's SQL twin."""
    bare = value.replace(" ", "").replace("-", "")
    found = _MAINLAND_MOBILE.match(bare)
    return found.group(1) if found else bare


def resident_id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a PRC resident identity number (GB 11643)."""
    total = sum(int(d) * w for d, w in zip(first17, _RESIDENT_WEIGHTS, strict=True))
    return _RESIDENT_CHECK[total % 11]


def is_resident_id(value: str) -> bool:
    return bool(_RESIDENT_ID.match(value)) and resident_id_check_digit(value[:17]) == value[17]


def credit_code_check_char(first17: str) -> str:
    """Check character of a unified social credit code (GB 32100)."""
    total = sum(
        _CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True)
    )
    return _CREDIT_ALPHABET[(31 - total % 31) % 31]


def is_credit_code(value: str) -> bool:
    return bool(_CREDIT_CODE.match(value)) and credit_code_check_char(value[:17]) == value[17]
