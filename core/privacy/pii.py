"""Personal data masked: e-mail, resident ID, passport, bank card, phone.

Each match becomes a typed placeholder (`[EMAIL]`, `[ID]`, `[PASSPORT]`, `[CARD]`,
`[PHONE]`). Patterns run in that order (Chinese mobiles before cards, so
`0086 138 1234 5678` is a phone), and text already masked cannot match a later pattern.

- Resident IDs (18 characters, the last may be X): masked only when the area code, a real
  birth date from 1900-2099 and the GB 11643 check character all hold, so order numbers
  and other 18-digit look-alikes stay. The obsolete 15-digit IDs are not detected.
- Passports: the mainland formats (E or G and 8 digits; E, a letter and 7 digits) anywhere,
  and any 6-9 letter-and-digit number right after "passport"/"护照" and its "no."/"号码".
- Bank cards: 13-19 digits, contiguous or in groups of 3-6 split by a space or dash, and
  Luhn-valid, so an arbitrary long number is left alone.
- Phones: Chinese mobiles `1[3-9]x xxxx xxxx` with an optional +86/0086 prefix; landlines
  with an area code (`010-12345678`, `(0755) 8765 4321`, `+86 21 6123 4567`), which needs a
  separator or the country code, so that a bare run of digits is not taken for one;
  international numbers written with a leading `+` (8-15 digits, E.164's bound).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from core.privacy.checks import luhn_valid, resident_id_valid

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[0-9Xx](?![0-9A-Za-z])")
_PASSPORT = re.compile(r"(?<![0-9A-Za-z])(?:[EG]\d{8}|E[A-HJ-NP-Z]\d{7})(?![0-9A-Za-z])")
# Only the number (group `pii`) is replaced; the label stays readable.
_LABELLED_PASSPORT = re.compile(
    r"(?:[Pp]assport|PASSPORT|护照)(?:\s*(?:[Nn]o\.?|[Nn]umber|号码|号))?\s*[:\uff1a#]?\s*"
    r"(?P<pii>(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{6,9})(?![0-9A-Za-z])"
)
_CARD = re.compile(r"(?<![0-9A-Za-z+])(?:\d{13,19}|\d{3,6}(?:[ -]\d{3,6}){2,5})(?![0-9A-Za-z])")
_CN_MOBILE = re.compile(
    r"(?<![0-9A-Za-z+])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![0-9A-Za-z])"
)
_CN_LANDLINE = re.compile(
    r"(?<![0-9A-Za-z+\-])(?<!\d[ -])"  # not the middle of a longer grouped number
    r"(?:(?:\+|00)86[ -]?\(?[1-9]\d{1,2}\)?|\(0[1-9]\d{1,2}\)|0[1-9]\d{1,2}(?=[ -]))"
    r"[ -]?[2-9]\d{2,3}[ -]?\d{4}(?:[ -]?(?:转|ext\.?|x)\s?\d{1,5})?(?![0-9A-Za-z])"
)
_INTL_PHONE = re.compile(r"(?<![0-9A-Za-z+])\+\d(?:[ ().-]{0,2}\d){7,14}(?!\d)")


def _is_id(match: re.Match[str]) -> bool:
    return resident_id_valid(match.group(0))


def _is_card(match: re.Match[str]) -> bool:
    digits = re.sub(r"[ -]", "", match.group(0))
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _always(_: re.Match[str]) -> bool:
    return True


_RULES: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool]], ...] = (
    ("EMAIL", _EMAIL, _always),
    ("ID", _ID, _is_id),
    ("PASSPORT", _PASSPORT, _always),
    ("PASSPORT", _LABELLED_PASSPORT, _always),
    ("PHONE", _CN_MOBILE, _always),
    ("PHONE", _CN_LANDLINE, _always),
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
        if "pii" not in match.re.groupindex:
            return f"[{kind}]"
        start, end = (i - match.start() for i in match.span("pii"))
        return f"{match.group(0)[:start]}[{kind}]{match.group(0)[end:]}"


def mask_pii(text: str) -> tuple[str, dict[str, int]]:
    """`text` masked, and how many items of each kind were replaced."""
    masker = PiiMasker()
    return masker.mask(text), dict(masker.counts)
