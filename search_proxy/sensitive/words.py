"""Word-list and allow-list files: UTF-8, one entry per line, `word` or `word<TAB>category`.

Blank lines and lines starting with `#` are ignored. Every problem is a `ConfigurationError`
naming the file and the line; messages never quote an entry, since the list itself is sensitive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigurationError
from search_proxy.sensitive.normalize import Normalizer, default_normalizer

DEFAULT_CATEGORY = "default"
# Categories become counter keys (`query.block.<category>`) and log fields: keep them plain.
_CATEGORY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class WordEntry:
    """One listed word and the category it is counted under."""

    word: str
    category: str = DEFAULT_CATEGORY


def _read_lines(path: Path) -> list[str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigurationError(f"{path}: cannot read the word list: {reason}") from exc
    try:
        return raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigurationError(f"{path}, line {line}: not valid UTF-8") from exc


def load_words(path: Path, normalizer: Normalizer | None = None) -> list[WordEntry]:
    """Read a word list.

    Args:
        path: The file to read.
        normalizer: Checks that each entry keeps something to match; the default one if None.

    Returns:
        The entries in file order.

    Raises:
        ConfigurationError: The file is missing or unreadable, is not UTF-8, has a bad
            category, or has an entry made only of spaces, punctuation or symbols.
    """
    normalizer = normalizer or default_normalizer()
    entries: list[WordEntry] = []
    for number, line in enumerate(_read_lines(path), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        word, tab, category = text.partition("\t")
        word, category = word.strip(), category.strip()
        if tab and not _CATEGORY.fullmatch(category):
            raise ConfigurationError(
                f"{path}, line {number}: the category must be letters, digits, '_' or '-'"
            )
        if not normalizer.fold(word):
            raise ConfigurationError(
                f"{path}, line {number}: the entry has no letters or digits to match"
            )
        entries.append(WordEntry(word, category or DEFAULT_CATEGORY))
    return entries


def load_allow(path: Path, normalizer: Normalizer | None = None) -> list[str]:
    """Read an allow list: the same format as a word list, categories ignored.

    Raises:
        ConfigurationError: As for `load_words`.
    """
    return [entry.word for entry in load_words(path, normalizer)]
