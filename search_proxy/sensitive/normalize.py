"""Folding text for matching, with a map from each folded character back to the original.

Each original character folds on its own: NFKC (full-width and compatibility forms), casefold,
traditional to simplified Chinese, then everything but letters and digits is dropped, so that
spaces, punctuation, symbols and zero-width characters slipped between characters change nothing.
Folding one character at a time keeps the offset map exact; the fold of each code point is
computed once and cached, and `str.translate` applies it at C speed.
"""

from __future__ import annotations

import functools
import itertools
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import ClassVar

# Unicode general categories kept (letters, numbers); separators, punctuation, symbols,
# marks (variation selectors, combining accents) and C* (format, control) are noise.
_KEPT = ("L", "N")


def load_t2s_table() -> dict[str, str]:
    """Traditional to simplified Chinese, character to character, from OpenCC's data files."""
    source = resources.files("opencc") / "dictionary" / "TSCharacters.txt"
    table: dict[str, str] = {}
    for line in source.read_text(encoding="utf-8").splitlines():
        trad, _, simplified = line.partition("\t")
        candidates = simplified.split()
        # The first candidate is OpenCC's default; one-to-one entries keep offsets simple.
        if len(trad) == 1 and candidates and len(candidates[0]) == 1:
            table[trad] = candidates[0]
    return table


@dataclass(frozen=True, slots=True)
class Normalized:
    """Folded text and, for each of its characters, the index of its original character."""

    text: str
    origin: list[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original half-open span covered by the folded span `[start, end)`."""
        return self.origin[start], self.origin[end - 1] + 1


class CharTable(dict[int, str]):
    """A `str.translate` table that computes each code point's entry on first sight."""

    # Bounds the memory an input made of every code point could take (~20 MB per table);
    # code points seen after that are computed again each time, which is only slower.
    LIMIT: ClassVar[int] = 200_000

    def __missing__(self, code: int) -> str:
        entry = self.compute(code)
        if len(self) < self.LIMIT:
            self[code] = entry
        return entry

    def compute(self, code: int) -> str:
        """The entry of `code`."""
        raise NotImplementedError


class _Folds(CharTable):
    """Code point to folded text."""

    def __init__(self, t2s: Mapping[str, str]) -> None:
        super().__init__()
        self._t2s = t2s

    def compute(self, code: int) -> str:
        text = unicodedata.normalize("NFKC", chr(code)).casefold()
        text = unicodedata.normalize("NFKC", text)
        folded = "".join(
            self._t2s.get(char, char)
            for char in text
            if unicodedata.category(char).startswith(_KEPT)
        )
        # The width table stores lengths as one Latin-1 character; no real fold comes close.
        return folded[:255]


class _Widths(CharTable):
    """Code point to `chr(len(fold))`: how many folded characters it becomes."""

    def __init__(self, folds: _Folds) -> None:
        super().__init__()
        self._folds = folds

    def compute(self, code: int) -> str:
        return chr(len(self._folds[code]))


class Normalizer:
    """Folds text for matching; build one and share it (its caches grow with the alphabet)."""

    def __init__(self, t2s: Mapping[str, str]) -> None:
        self._folds = _Folds(t2s)
        self._widths = _Widths(self._folds)

    def fold(self, text: str) -> str:
        """The folded text alone: what patterns and texts are matched on."""
        return text.translate(self._folds)

    def fold_char(self, char: str) -> str:
        """The fold of one character: `fold(char)` without the call overhead."""
        return self._folds[ord(char)]

    def origin(self, text: str) -> list[int]:
        """For each character of `fold(text)`, the index of the character it came from."""
        widths = text.translate(self._widths).encode("latin-1")
        if not widths.translate(None, b"\x00\x01"):
            # Common case: every character folds to zero or one character.
            return list(itertools.compress(range(len(text)), widths))
        return [index for index, width in enumerate(widths) for _ in range(width)]

    def normalize(self, text: str) -> Normalized:
        """The folded text together with its offset map."""
        return Normalized(self.fold(text), self.origin(text))


@functools.cache
def default_normalizer() -> Normalizer:
    """The normalizer with OpenCC's table, built on first use and shared."""
    return Normalizer(load_t2s_table())


def normalize(text: str) -> Normalized:
    """Fold `text` with the default normalizer; see the module docstring."""
    return default_normalizer().normalize(text)
