"""A cited passage of a flow document (DOCX, text, HTML ...) within its surrounding text.

Such documents have no page images to show, so the viewer shows the text around the passage.
The page's text is put back together from its chunks, which carry their exact spans in it
(overlapping chunks agree on the text they share); gaps between chunks, which only hold white
space the chunker trimmed, become a blank line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

CONTEXT_CHARS = 1200


@dataclass(frozen=True)
class PassageInContext:
    """The passage and up to `CONTEXT_CHARS` of its page's text on each side."""

    before: str
    text: str
    after: str


def page_text(chunks: Iterable[dict[str, Any]]) -> str:
    """One page's text from its chunks' payloads (`text`, `char_start`, `char_end`)."""
    out = ""
    for chunk in sorted(chunks, key=lambda c: (int(c["char_start"]), int(c["char_end"]))):
        start, end, text = int(chunk["char_start"]), int(chunk["char_end"]), str(chunk["text"])
        if end <= len(out):
            continue
        if start > len(out):
            out += "\n\n"[: start - len(out)].ljust(start - len(out))
        out += text[len(out) - start :]
    return out


def in_context(text: str, start: int, end: int, context: int = CONTEXT_CHARS) -> PassageInContext:
    """The span [start, end) of `text` with the text around it, cut at white space."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    before = text[max(0, start - context) : start]
    after = text[end : end + context]
    if start > context and " " in before:  # do not begin in the middle of a word
        before = "…" + before[before.index(" ") + 1 :]
    if end + context < len(text) and " " in after:
        after = after[: after.rindex(" ")] + "…"
    return PassageInContext(before=before, text=text[start:end], after=after)
