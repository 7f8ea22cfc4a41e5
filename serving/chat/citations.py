"""Citation markers: `[n]` points at the n-th source; answers renumber them.

Sources are the retrieved passages, then any web results. Only sources the answer cites become
citations, numbered 1..k in order of first appearance.
A marker that points at no passage is removed with the spaces before it. `[1, 3]` becomes
`[1][2]`. The rewriter works on streamed text too: it holds back a tail that may still grow
into a marker, so a marker split across deltas is rewritten whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from retrieval.protocol import Hit, PassageRef
from serving.chat.protocol import Citation, DocumentCitation, WebCitation
from serving.chat.sources import Source, source_text

_NUMBERS = r"[1-9]\d{0,2}(?:\s*,\s*[1-9]\d{0,2})*"
# A run of adjacent markers with the spaces before it: `[2][5]`, `[1, 3]`.
_RUN = re.compile(rf"([ \t]*)((?:\[{_NUMBERS}\])+)")
# A tail that may still grow into (a longer run of) markers once more text arrives.
_PARTIAL = re.compile(rf"[ \t]*(?:\[{_NUMBERS}\])*(?:\[[\d,\s]{{0,16}})?$")
SNIPPET_CHARS = 300


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The start of a passage, cut at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"


def citation(number: int, source: Source) -> Citation:
    """The citation numbered `number` for a retrieved passage or a web result."""
    if isinstance(source, Hit):
        where = source.model_dump(include=set(PassageRef.model_fields))
        return DocumentCitation(
            number=number, snippet=snippet(source.text), score=source.score, **where
        )
    return WebCitation(
        number=number,
        url=source.url,
        title=source.title,
        snippet=snippet(source_text(source)),
        score=source.score,
        engines=source.engines,
        published=source.published,
    )


class CitationRewriter:
    """Renumbers the markers of an answer, fed whole or delta by delta."""

    def __init__(self, sources: Sequence[Source]) -> None:
        self._sources = list(sources)
        self._numbers: dict[int, int] = {}  # passage number -> citation number
        self._pending = ""
        self._emitted: list[str] = []

    @property
    def text(self) -> str:
        """Everything rewritten so far."""
        return "".join(self._emitted)

    def feed(self, text: str) -> str:
        """Rewritten text that is safe to emit now; a possible partial marker is held back."""
        self._pending += text
        cut = _PARTIAL.search(self._pending)
        start = cut.start() if cut else len(self._pending)
        ready, self._pending = self._pending[:start], self._pending[start:]
        return self._rewrite(ready)

    def finish(self) -> str:
        """The rest of the text, once no more will come."""
        rest, self._pending = self._pending, ""
        return self._rewrite(rest)

    def rewrite(self, text: str) -> str:
        """A whole answer at once."""
        return self.feed(text) + self.finish()

    @property
    def citations(self) -> list[Citation]:
        """The cited sources, in citation-number order."""
        ordered = sorted(self._numbers.items(), key=lambda item: item[1])
        return [citation(number, self._sources[passage - 1]) for passage, number in ordered]

    def cited_texts(self) -> dict[int, str]:
        """Citation number → the text of its source, as the answer was given it."""
        return {
            number: source_text(self._sources[passage - 1])
            for passage, number in self._numbers.items()
        }

    def _rewrite(self, text: str) -> str:
        rewritten = _RUN.sub(self._replace, text)
        self._emitted.append(rewritten)
        return rewritten

    def _replace(self, match: re.Match[str]) -> str:
        kept: list[int] = []
        for part in re.findall(r"\d+", match.group(2)):
            passage = int(part)
            if 1 <= passage <= len(self._sources):
                number = self._numbers.setdefault(passage, len(self._numbers) + 1)
                if number not in kept:
                    kept.append(number)
        if not kept:
            return ""
        return match.group(1) + "".join(f"[{n}]" for n in kept)
