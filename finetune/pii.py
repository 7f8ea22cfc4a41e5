"""Personal data masked before any training text is written: e-mail, ID, bank card, phone.

Each match becomes a typed placeholder (`[EMAIL]`, `[ID]`, `[CARD]`, `[PHONE]`). Patterns run
in that order (Chinese mobiles before cards, so `0086 138 1234 5678` is a phone), and text
already masked cannot match a later pattern.

- Resident ID numbers (18 characters, last may be X) are masked when their *structure* holds:
  area code, a real birth date from 1900-2099, sequence and check character. The ISO 7064
  checksum is deliberately not required: a mistyped ID is still someone's ID, and masking a
  rare look-alike order number costs a training set nothing, while the date rule already keeps
  almost all random 18-digit numbers out. The obsolete 15-digit IDs are not detected.
- Bank cards: 13-19 digits, contiguous or in groups of 3-6 split by a space or dash, and
  Luhn-valid, so an arbitrary long number is left alone.
- Phones: Chinese mobiles `1[3-9]x xxxx xxxx` with an optional +86/0086 prefix and spaces or
  dashes; international numbers written with a leading `+` (8-15 digits, E.164's bound).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(\d{8})\d{3}[0-9Xx](?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9A-Za-z+])(?:\d{13,19}|\d{3,6}(?:[ -]\d{3,6}){2,5})(?![0-9A-Za-z])")
_CN_MOBILE = re.compile(
    r"(?<![0-9A-Za-z+])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![0-9A-Za-z])"
)
_INTL_PHONE = re.compile(r"(?<![0-9A-Za-z+])\+\d(?:[ ().-]{0,2}\d){7,14}(?!\d)")


def _real_birth_date(digits: str) -> bool:
    try:
        born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2099


def luhn_valid(digits: str) -> bool:
    """The Luhn check every payment card number passes."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _is_id(match: re.Match[str]) -> bool:
    return _real_birth_date(match.group(1))


def _is_card(match: re.Match[str]) -> bool:
    digits = re.sub(r"[ -]", "", match.group(0))
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _always(_: re.Match[str]) -> bool:
    return True


_RULES: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool]], ...] = (
    ("EMAIL", _EMAIL, _always),
    ("ID", _ID, _is_id),
    ("PHONE", _CN_MOBILE, _always),
    ("CARD", _CARD, _is_card),
    ("PHONE", _INTL_PHONE, _always),
)


@dataclass
class PiiMasker:
    """Masks texts one by one and keeps the running count of each kind it replaced."""

    counts: Counter[str] = field(default_factory=Counter)

    def mask(self, text: str) -> str:
        """`text` with every detected item replaced by `[KIND]`."""
        for kind, pattern, accept in _RULES:
            text = pattern.sub(partial(self._replace, kind=kind, accept=accept), text)
        return text

    def _replace(
        self, match: re.Match[str], kind: str, accept: Callable[[re.Match[str]], bool]
    ) -> str:
        if not accept(match):
            return match.group(0)
        self.counts[kind] += 1
        return f"[{kind}]"


def mask_pii(text: str) -> tuple[str, dict[str, int]]:
    """`text` masked, and how many items of each kind were replaced."""
    masker = PiiMasker()
    return masker.mask(text), dict(masker.counts)
