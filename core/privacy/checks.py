"""Check digits and dates that tell a real identifier from a number that merely looks like one."""

from __future__ import annotations

import datetime as dt

# GB 11643-1999: ISO 7064 MOD 11-2 over the first 17 digits of a resident ID.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def luhn_valid(digits: str) -> bool:
    """The Luhn check every payment card number passes."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def real_birth_date(yyyymmdd: str) -> bool:
    """A calendar date from 1900 to 2099."""
    try:
        born = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2099


def resident_id_valid(number: str) -> bool:
    """An 18-character mainland resident ID: area, real birth date and the check character."""
    if len(number) != 18 or not number[:17].isdigit() or number[0] == "0":
        return False
    if not real_birth_date(number[6:14]):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()
