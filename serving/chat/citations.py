"""Citation markers: `[n]` points at the n-th retrieved passage; answers renumber them.

Only passages the answer cites become citations, numbered 1..k in order of first appearance.
A marker that points at no passage is removed with the spaces before it. `[1, 3]` becomes
`[1][2]`. The rewriter works on streamed text too: it holds back a tail that may still grow
into a marker, so a marker split across deltas is rewritten whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from retrieval.protocol import Hit, PassageRef
from serving.chat.protocol import Citation

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


def citation(number: int, hit: Hit) -> Citation:
    """The citation numbered `number` for a retrieved passage."""
    where = hit.model_dump(include=set(PassageRef.model_fields))
    return Citation(number=number, snippet=snippet(hit.text), score=hit.score, **where)


class CitationRewriter:
    """Renumbers the markers of an answer, fed whole or delta by delta."""

    def __init__(self, hits: Sequence[Hit]) -> None:
        self._hits = list(hits)
        self._numbers: dict[int, int] = {}  # passage number -> citation number
        self._pending = ""

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
        """The cited passages, in citation-number order."""
        ordered = sorted(self._numbers.items(), key=lambda item: item[1])
        return [citation(number, self._hits[passage - 1]) for passage, number in ordered]

    def _rewrite(self, text: str) -> str:
        return _RUN.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        kept: list[int] = []
        for part in re.findall(r"\d+", match.group(2)):
            passage = int(part)
            if 1 <= passage <= len(self._hits):
                number = self._numbers.setdefault(passage, len(self._numbers) + 1)
                if number not in kept:
                    kept.append(number)
        if not kept:
            return ""
        return match.group(1) + "".join(f"[{n}]" for n in kept)
