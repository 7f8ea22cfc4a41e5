"""`SensitiveFilter`: every listed word found in one Aho-Corasick pass over the folded text."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from search_proxy.sensitive.automaton import FoldedAutomaton
from search_proxy.sensitive.normalize import Normalizer, default_normalizer
from search_proxy.sensitive.words import WordEntry, load_allow, load_words
from search_proxy.settings import FilterSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Match:
    """A listed word found at `[start, end)` of the original text."""

    start: int
    end: int
    category: str


class _Term(NamedTuple):
    category: str | None  # None for an allowed term
    spaced_start: bool
    spaced_end: bool


def _spaced(char: str) -> bool:
    """Whether `char` belongs to a script that separates words with spaces (Latin, digits...).

    Terms of such scripts only match whole (`ace` is not in `place`); CJK ones match anywhere.
    """
    return char.isalnum() and ord(char) < 0x2E80


def _leftmost_longest(matches: list[Match]) -> list[Match]:
    matches.sort(key=lambda match: (match.start, -match.end))
    chosen: list[Match] = []
    reach = 0
    for match in matches:
        if match.start >= reach:
            chosen.append(match)
            reach = match.end
    return chosen


class SensitiveFilter:
    """Finds listed words in text despite width, case, script variant and inserted noise.

    Args:
        entries: The listed words with their categories; the first category of a duplicate wins.
        allow: Terms never flagged although they contain a listed word.
        normalizer: The folding shared by terms and texts; the default one if None.

    Raises:
        ValueError: An entry or allowed term has no letters or digits to match.
    """

    def __init__(
        self,
        entries: Iterable[WordEntry],
        allow: Iterable[str] = (),
        *,
        normalizer: Normalizer | None = None,
    ) -> None:
        self._normalizer = normalizer or default_normalizer()
        self._automaton: FoldedAutomaton[_Term] = FoldedAutomaton(self._normalizer)
        for entry in entries:
            self._automaton.add(entry.word, self._term(entry.word, entry.category), replace=False)
        for term in allow:
            # A term both listed and allowed is allowed: the allow list is the exception.
            self._automaton.add(term, self._term(term, None), replace=True)
        self._automaton.build()
        categories = [term.category for term in self._automaton.values()]
        self.allowed = categories.count(None)
        self.words = len(categories) - self.allowed

    def _term(self, text: str, category: str | None) -> _Term:
        folded = self._normalizer.fold(text)
        return _Term(category, _spaced(folded[:1]), _spaced(folded[-1:]))

    @classmethod
    def from_settings(cls, settings: FilterSettings) -> SensitiveFilter:
        """The filter the settings describe; an empty one when no word list is configured.

        Raises:
            ConfigurationError: A configured file is missing or malformed.
        """
        normalizer = default_normalizer()
        entries = load_words(settings.words_file, normalizer) if settings.words_file else []
        allow = load_allow(settings.allow_file, normalizer) if settings.allow_file else []
        built = cls(entries, allow, normalizer=normalizer)
        logger.info("sensitive-word filter: %d words, %d allowed terms", built.words, built.allowed)
        return built

    def find(self, text: str) -> list[Match]:
        """Listed words in `text`, leftmost-longest, as spans of the original text."""
        if not self.words or not text:
            return []
        hits = self._automaton.hits(text)
        if not hits:
            return []
        allowed = [(start, end) for start, end, term in hits if term.category is None]
        origin = self._normalizer.origin(text)
        found: list[Match] = []
        for start, end, term in hits:
            if term.category is None:
                continue
            if allowed and any(a <= start and end <= b for a, b in allowed):
                continue
            match = Match(origin[start], origin[end - 1] + 1, term.category)
            if self._whole(text, match, term):
                found.append(match)
        return _leftmost_longest(found)

    def _whole(self, text: str, match: Match, term: _Term) -> bool:
        """Whether a match of a spaced script stands apart from the letters around it."""
        if term.spaced_start and match.start > 0:
            before = self._normalizer.fold_char(text[match.start - 1])
            if _spaced(before[-1:]):
                return False
        if term.spaced_end and match.end < len(text):
            after = self._normalizer.fold_char(text[match.end])
            if _spaced(after[:1]):
                return False
        return True

    def mask(self, text: str, char: str) -> tuple[str, list[Match]]:
        """`text` with every character of every match replaced by `char`, and the matches."""
        matches = self.find(text)
        parts: list[str] = []
        position = 0
        for match in matches:
            parts += [text[position : match.start], char * (match.end - match.start)]
            position = match.end
        parts.append(text[position:])
        return "".join(parts), matches

    def remove(self, text: str) -> tuple[str, list[Match]]:
        """`text` with the matches cut out and the whitespace around each cut tidied."""
        matches = self.find(text)
        if not matches:
            return text, matches
        result = text[: matches[0].start]
        for match, following in zip(matches, [*matches[1:], None], strict=True):
            rest = text[match.end : following.start if following else len(text)]
            if result[-1:].isspace() or rest[:1].isspace():
                result = result.rstrip() + " " + rest.lstrip()
            else:
                result += rest
        return result.strip(), matches
