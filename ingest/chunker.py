"""Cut parsed pages into passages sized in the embedding model's own tokens.

We do not use llama-index's `SentenceSplitter` here. A citation names a page and the exact span
of text on it, so every chunk must carry its character offsets within one page; the splitter
returns bare strings whose offsets llama-index only recovers afterwards by searching the parent
text (`str.find`, ambiguous for repeated passages), and its NLTK sentence rules want whitespace
after a terminator, so Chinese and Japanese text (`。` and full-width `!` `?` with no spaces) is
only cut at the token limit.

Each page is cut into units: blocks (blank lines, headings and their lines), then sentences
(`. ! ?` before whitespace, with an abbreviation guard; CJK terminators with no space needed;
newlines that start list items). Units are counted with token spans computed once per page; a
unit over the limit is cut at word boundaries, or at token boundaries inside a longer word.
Whole units are packed greedily per section (a heading starts a new chunk), each chunk starts
with trailing units of the previous one, and a tiny last chunk is rebalanced with the one
before it. Cuts fall where a BERT-style pre-tokenizer splits too (whitespace, punctuation, CJK
ideographs), so re-tokenizing a chunk's text gives the count computed from the page's spans.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, pairwise
from typing import Any, NamedTuple

from ingest.document import Heading, Page, ParsedDocument

TokenSpans = Callable[[str], list[tuple[int, int]]]
"""Character spans of the embedding model's tokens in a text, special tokens left out."""

MIN_MAX_TOKENS = 16
TINY_SHARE = 5  # a last chunk under max_tokens // TINY_SHARE tokens is rebalanced

# Closing quotes and brackets stay with the sentence they end: " ' ) ] } and the curly and
# CJK ones (U+201D U+2019, corner brackets, full-width parenthesis and bracket, angle brackets).
_CLOSERS = r"\"')\]}\u201d\u2019\u300d\u300f\uff09\uff3d\u300b\u3009\u3011\u3015"
_LATIN_END = re.compile(rf"[.!?\u2026]+[{_CLOSERS}]*(?=\s)")
# Ideographic full stop and the full-width ! ? ; . and half-width ideographic full stop.
_CJK_END = re.compile(rf"[\u3002\uff01\uff1f\uff1b\uff0e\uff61]+[{_CLOSERS}]*")
_FULLWIDTH_POINT = "\uff0e"
_BLOCK_BREAK = re.compile(r"\n[^\S\n]*\n|[\f\u2029]")
# A newline before a list item: - * + en dash, bullets, "1." "a)" "(iv)", circled numbers.
_BULLETS = r"\u2022\u25e6\u25aa\u2023\u00b7"
_LIST_ITEM = re.compile(
    rf"\n(?=[^\S\n]*(?:(?:[-*+\u2013{_BULLETS}]|\d{{1,3}}[.)]|[A-Za-z][.)]|\(\w{{1,3}}\))[^\S\n]"
    rf"|[{_BULLETS}\u2460-\u2473]))"
)
_LINE = re.compile(r"\s*[^\n]*")
_NEXT_CHAR = re.compile(r"\s*(\S)")
_ROMAN = re.compile(r"[ivxlc]{1,4}", re.IGNORECASE)
# Abbreviations after which a capital does not start a sentence ("Dr. Smith", "vs. Rome").
_ABBREVIATIONS = frozenset(
    {
        *("al", "approx", "ca", "cf", "dept", "dr", "est", "jr", "mr", "mrs", "ms", "prof"),
        *("resp", "sr", "st", "vs", "bzw", "evtl", "ggf", "vgl"),
    }
)
# Abbreviations that end no sentence when a number follows ("Fig. 3", "No. 5", "pp. 10").
_NUMBER_ABBREVIATIONS = frozenset(
    {
        *("abb", "art", "ch", "chap", "eq", "eqs", "fig", "figs", "no", "nos", "nr", "para"),
        *("pp", "ref", "refs", "sec", "sect", "tab", "vol", "vols"),
    }
)
_CJK_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2CEAF),
    (0x2F800, 0x2FA1F),
)


def hf_token_spans(tokenizer: Any) -> TokenSpans:
    """Token spans from a Hugging Face fast tokenizer (`AutoTokenizer.from_pretrained(path)`).

    `verbose=False` silences the "longer than the model's maximum" warning: whole pages are
    tokenized here only to measure them, never fed to the model.
    """

    def spans(text: str) -> list[tuple[int, int]]:
        encoded = tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        return [(int(start), int(end)) for start, end in encoded["offset_mapping"]]

    return spans


@dataclass(frozen=True)
class TextChunk:
    """A passage of one page: `page.text[char_start:char_end] == text`, trimmed, never empty.

    `page` is 1-based; `heading_path` is the heading path in force at the first character;
    `token_count` counts the embedding model's tokens, special tokens left out.
    """

    text: str
    page: int
    char_start: int
    char_end: int
    heading_path: tuple[str, ...]
    token_count: int


class _Unit(NamedTuple):
    """A trimmed span of page text that is never split unless it alone is over the limit."""

    start: int
    end: int
    tokens: int
    joins_prev: bool = True  # False: a chunk must start here (pieces of a cut unit)
    heading: bool = False  # the line of a heading


class Chunker:
    """Splits documents into page-bound, sentence-aligned chunks of at most `max_tokens`."""

    def __init__(self, token_spans: TokenSpans, max_tokens: int, overlap_tokens: int) -> None:
        if max_tokens < MIN_MAX_TOKENS:
            raise ValueError(f"max_tokens must be at least {MIN_MAX_TOKENS}, got {max_tokens}")
        if not 0 <= overlap_tokens < max_tokens // 2:
            raise ValueError(
                f"overlap_tokens must be at least 0 and below max_tokens // 2 "
                f"(= {max_tokens // 2}), got {overlap_tokens}"
            )
        self._spans = token_spans
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens

    def chunk(self, doc: ParsedDocument) -> list[TextChunk]:
        chunks: list[TextChunk] = []
        path: tuple[Heading, ...] = ()
        for page in doc.pages:
            trail = _HeadingTrail(page, path)
            chunks.extend(self._chunk_page(page, trail))
            path = trail.final
        return chunks

    def _chunk_page(self, page: Page, trail: _HeadingTrail) -> list[TextChunk]:
        text = page.text
        if not text.strip():
            return []
        chunks = []
        for run in _runs(self._units(text, self._spans(text), trail.offsets)):
            for lo, hi in self._pack(run):
                start, end = run[lo].start, run[hi - 1].end
                tokens = sum(unit.tokens for unit in run[lo:hi])
                if tokens:  # text the model cannot see at all is left out
                    path = trail.at(start)
                    chunks.append(TextChunk(text[start:end], page.number, start, end, path, tokens))
        return chunks

    def _units(self, text: str, spans: list[tuple[int, int]], heads: list[int]) -> list[_Unit]:
        starts = [start for start, _ in spans]
        units: list[_Unit] = []
        for start, end, heading in _segments(text, heads):
            tokens = bisect_left(starts, end) - bisect_left(starts, start)
            unit = _Unit(start, end, tokens, True, heading)
            if tokens <= self.max_tokens:
                units.append(unit)
            else:
                units.extend(self._cut_long(text, spans, starts, unit))
        return units

    def _pack(self, run: Sequence[_Unit]) -> list[tuple[int, int]]:
        """Greedy packing of whole units into (lo, hi) ranges of `run`, with overlap."""
        sums = [0, *accumulate(unit.tokens for unit in run)]
        ranges: list[tuple[int, int]] = []
        first = fresh = 0
        while fresh < len(run):
            end = max(fresh + 1, bisect_right(sums, sums[first] + self.max_tokens) - 1)
            ranges.append((first, end))
            if end == len(run):
                break
            fresh = end
            first = self._overlap_start(sums, first, end, end + 1)
        self._rebalance_tail(sums, ranges)
        return ranges

    def _overlap_start(self, sums: list[int], first: int, end: int, stop: int) -> int:
        """Where the chunk after units [first, end) starts so that [start, stop) fits."""
        if not self.overlap_tokens:
            return end
        start = end
        while (
            start - 1 > first
            and sums[end] - sums[start - 1] <= self.overlap_tokens
            and sums[stop] - sums[start - 1] <= self.max_tokens
        ):
            start -= 1
        return start

    def _rebalance_tail(self, sums: list[int], ranges: list[tuple[int, int]]) -> None:
        """Move units from the next-to-last chunk into a tiny last one (a merge never fits)."""
        if len(ranges) < 2:
            return
        (first, end), (last_start, stop) = ranges[-2], ranges[-1]
        if sums[stop] - sums[last_start] >= self.max_tokens // TINY_SHARE:
            return
        best, best_size = None, self.max_tokens + 1
        for split in range(end - 1, first, -1):
            size = max(sums[stop] - sums[split], sums[split] - sums[first])
            if sums[stop] - sums[split] > self.max_tokens or size > best_size:
                break  # past the balance point: the last chunk only grows from here
            best, best_size = split, size
        if best is not None:
            ranges[-2:] = [(first, best), (self._overlap_start(sums, first, best, stop), stop)]

    def _cut_long(
        self, text: str, spans: list[tuple[int, int]], starts: list[int], unit: _Unit
    ) -> list[_Unit]:
        """Pieces of an over-long unit: whole words, overlapping by up to overlap_tokens."""
        lo, hi = bisect_left(starts, unit.start), bisect_left(starts, unit.end)
        words = [lo, *(k for k in range(lo + 1, hi) if _word_starts(text, spans, k)), hi]

        def pos(k: int) -> int:
            return unit.start if k == lo else unit.end if k == hi else spans[k][0]

        pieces: list[_Unit] = []
        w = 0
        while words[w] < hi:
            v = bisect_right(words, words[w] + self.max_tokens) - 1
            if v == w:  # a single word over the limit
                pieces += self._cut_word(text, pos(words[w]), _rstrip(text, pos(words[w + 1])))
                w += 1
                continue
            end = _rstrip(text, pos(words[v]))
            pieces.append(_Unit(pos(words[w]), end, words[v] - words[w], False))
            w = self._word_overlap(words, w, v)
        pieces[0] = pieces[0]._replace(joins_prev=unit.joins_prev, heading=unit.heading)
        return pieces

    def _word_overlap(self, words: list[int], w: int, v: int) -> int:
        """Index in `words` of the next piece's first word after a piece of words [w, v)."""
        if not self.overlap_tokens or v + 1 >= len(words):
            return v
        start = max(
            w + 1,
            bisect_left(words, words[v] - self.overlap_tokens),
            bisect_left(words, words[v + 1] - self.max_tokens),
        )
        return min(start, v)

    def _cut_word(self, text: str, start: int, end: int) -> list[_Unit]:
        """Cut one word at token boundaries, re-tokenizing the rest after each cut."""
        pieces = []
        window = 32 * self.max_tokens
        while start < end:
            stop = min(end, start + window)
            local = self._spans(text[start:stop])
            if len(local) > self.max_tokens and local[self.max_tokens][0] > 0:
                piece = self._word_prefix(text, start, local)
                pieces.append(piece)
                start = piece.end
            elif stop == end:
                pieces.append(_Unit(start, end, len(local), False))
                break
            else:
                window *= 2
        return pieces

    def _word_prefix(self, text: str, start: int, local: list[tuple[int, int]]) -> _Unit:
        """The longest prefix cut at a token of `local` that re-tokenizes within the limit."""
        for index in range(self.max_tokens, 0, -1):
            cut = start + local[index][0]
            tokens = len(self._spans(text[start:cut])) if cut > start else self.max_tokens + 1
            if tokens <= self.max_tokens:
                return _Unit(start, cut, tokens, False)
        # Only a tokenizer whose prefixes grow on their own gets here; keep its own count.
        return _Unit(start, start + local[self.max_tokens][0], self.max_tokens, False)


class _HeadingTrail:
    """The heading path in force at each offset of one page, from the path carried in."""

    def __init__(self, page: Page, carried: tuple[Heading, ...]) -> None:
        self._carried = tuple(heading.title for heading in carried)
        self.offsets: list[int] = []
        self._titles: list[tuple[str, ...]] = []
        stack = list(carried)
        for heading in sorted(page.headings, key=lambda heading: heading.offset):
            while stack and stack[-1].level >= heading.level:
                stack.pop()
            stack.append(heading)
            offset = min(max(heading.offset, 0), len(page.text))
            self.offsets.append(_heading_start(page.text, offset))
            self._titles.append(tuple(entry.title for entry in stack))
        self.final = tuple(stack)

    def at(self, offset: int) -> tuple[str, ...]:
        index = bisect_right(self.offsets, offset) - 1
        return self._titles[index] if index >= 0 else self._carried


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """The trimmed sentence spans the chunker packs, for a text without headings."""
    return [(start, end) for start, end, _ in _segments(text, [])]


def _segments(text: str, heading_offsets: Iterable[int]) -> list[tuple[int, int, bool]]:
    """Trimmed, non-empty (start, end, is_heading) units of a page, in order."""
    heads = set(heading_offsets)
    line_ends = (_line_end(text, head) for head in heads)
    cuts = sorted({0, len(text), *heads, *line_ends, *_sentence_cuts(text)})
    segments = []
    for cut, next_cut in pairwise(cuts):
        start, end = _trim(text, cut, next_cut)
        if start < end:
            segments.append((start, end, cut in heads))
    return segments


def _line_end(text: str, offset: int) -> int:
    """End of the first non-blank line from `offset`: where a heading's title ends."""
    match = _LINE.match(text, offset)
    return match.end() if match else offset


def _sentence_cuts(text: str) -> Iterator[int]:
    yield from (match.start() for match in _BLOCK_BREAK.finditer(text))
    yield from (match.start() for match in _LIST_ITEM.finditer(text))
    for match in _CJK_END.finditer(text):
        if not _is_fullwidth_decimal(text, match.start(), match.end()):
            yield match.end()
    for match in _LATIN_END.finditer(text):
        if _ends_sentence(text, match.start(), match.end()):
            yield match.end()


def _is_fullwidth_decimal(text: str, start: int, end: int) -> bool:
    """A full-width point between (full-width) digits is a decimal point, no sentence end."""
    return (
        text[start:end] == _FULLWIDTH_POINT
        and start > 0
        and text[start - 1].isdigit()
        and text[end : end + 1].isdigit()
    )


def _ends_sentence(text: str, start: int, end: int) -> bool:
    """Whether `.`, `!`, `?` or `…` at [start, end), before whitespace, ends a sentence."""
    if text[start] not in ".\u2026":
        return True
    match = _NEXT_CHAR.match(text, end)
    following = match.group(1) if match else ""
    if following.islower():
        return False
    word_start = start
    while word_start > 0 and start - word_start < 12 and text[word_start - 1].isalnum():
        word_start -= 1
    word = text[word_start:start].lower()
    if len(word) == 1 or word in _ABBREVIATIONS:
        return False  # initials, e.g., i.e., Dr.
    if word in _NUMBER_ABBREVIATIONS and following.isdigit():
        return False
    is_marker = (word.isdigit() and len(word) <= 3) or bool(_ROMAN.fullmatch(word))
    return not (is_marker and _at_line_start(text, word_start))  # "1. Introduction"


def _at_line_start(text: str, offset: int) -> bool:
    while offset > 0 and text[offset - 1] in " \t":
        offset -= 1
    return offset == 0 or text[offset - 1] == "\n"


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    piece = text[start:end]
    stripped = piece.lstrip()
    start += len(piece) - len(stripped)
    return start, start + len(stripped.rstrip())


def _rstrip(text: str, end: int) -> int:
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return end


def _runs(units: list[_Unit]) -> Iterator[list[_Unit]]:
    """Maximal stretches of units a chunk may span: sections, and pieces of cut units."""
    run: list[_Unit] = []
    for unit in units:
        if run and (not unit.joins_prev or (unit.heading and not run[-1].heading)):
            yield run
            run = []
        run.append(unit)
    if run:
        yield run


def _word_starts(text: str, spans: list[tuple[int, int]], k: int) -> bool:
    """Whether token k starts a word: a pre-tokenizer splits between it and token k - 1."""
    prev_end, start = spans[k - 1][1], spans[k][0]
    if start > prev_end and any(char.isspace() for char in text[prev_end:start]):
        return True
    return _splits_words(text[prev_end - 1]) or _splits_words(text[start])


_HEADING_MARKUP = frozenset("#*=>-. \t0123456789")


def _heading_start(text: str, offset: int) -> int:
    """Where a heading's chunk should start: before its markup ('## ', '1.2 ') on its line."""
    line_start = text.rfind("\n", 0, offset) + 1
    if all(char in _HEADING_MARKUP for char in text[line_start:offset]):
        return line_start
    return _word_start(text, offset)


def _word_start(text: str, offset: int) -> int:
    """Move an offset inside a word back to the word's start, where tokenizers split."""
    while 0 < offset < len(text) and not (
        text[offset - 1].isspace()
        or text[offset].isspace()
        or _splits_words(text[offset - 1])
        or _splits_words(text[offset])
    ):
        offset -= 1
    return offset


def _splits_words(char: str) -> bool:
    """Punctuation and CJK ideographs are tokens of their own for BERT-style pre-tokenizers."""
    code = ord(char)
    if code < 128:
        return not char.isalnum() and not char.isspace()
    if 0x4E00 <= code <= 0x9FFF:  # the common ideographs: a fast path for Chinese text
        return True
    if unicodedata.category(char).startswith("P"):
        return True
    return any(low <= code <= high for low, high in _CJK_RANGES)
