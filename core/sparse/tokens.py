r"""The BM25 tokenizers: today's mixed-script one and the earlier ones old indexes were built with.

Every tokenizer NFKC-normalises and lower-cases first (full-width letters match half-width
ones), splits Japanese kana and Korean hangul runs into character bigrams, Snowball-stems
plain English words and drops a few English stop words.

`MixedTokenizer` (bm25-mixed-3) is the one new knowledge bases get. It reads text where
Chinese and English technical terms are written together ("4bit量化后的推理速度",
"Q2_K量化的BLEU分数", "Redis缓存的TTL为3600秒"):
- a Latin or digit term ends where a Chinese character starts, so "4bit", "q2_k", "ttl" are
  tokens of their own. The earlier tokenizers used `\w+`, which also matches Chinese, so
  "1990年成立" or "4bit量化后的推理速度" came out as one token that no query ever matched;
- identifiers and versions stay whole ("qwen-14b", "100/minute", "v1.2.3", "q2_k") and their
  parts are tokens too ("qwen", "14b"), so a query matches either spelling; "-" and "_"
  compounds also give the parts joined ("4-bit" → "4bit");
- a number followed by a unit keeps the pair as a token ("3600秒", "1990年") beside the number;
- Chinese runs are segmented by jieba with extra dictionary words (a user dictionary, terms a
  knowledge base recorded), which jieba then keeps whole.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from typing import Any, Protocol

import snowballstemmer

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_KANA_HANGUL = r"\u3040-\u30ff\u31f0-\u31ff\uac00-\ud7af"
_NOT_WORD = re.compile(r"^\W+$")
_LATIN_WORD = re.compile(r"^[a-z]+$")

# The earlier tokenizers: `\w+` also matches Chinese, so a Latin or digit run glued the
# Chinese after it into one token. Kept as it was: old indexes are queried with it.
_LEGACY_RUNS = re.compile(rf"([{_HAN}]+)|([{_KANA_HANGUL}]+)|(\w+)")

_ALNUM = rf"[^\W_{_HAN}{_KANA_HANGUL}]"  # a word character that is neither CJK nor "_"
_MIXED_RUNS = re.compile(
    rf"([{_HAN}]+)|([{_KANA_HANGUL}]+)|({_ALNUM}+(?:[-_./+]{_ALNUM}+)*(?:\+\+|#(?!\w))?)"
)
_CONNECTOR = re.compile(r"[-_./+#]+")
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)*$")
# Units that follow a number in Chinese text; the longest match wins ("分钟" before "分").
_UNITS = sorted(
    [
        "秒", "毫秒", "微秒", "分", "分钟", "小时", "天", "日", "周", "月", "年", "岁", "世纪",
        "个", "次", "位", "元", "角", "块", "万", "亿", "千", "百", "倍", "米", "厘米", "毫米",
        "公里", "千米", "克", "千克", "公斤", "吨", "升", "毫升", "度", "页", "行", "条", "字",
        "人", "名", "台", "张", "层", "届", "号", "比特", "字节", "核", "线程", "帧", "像素",
    ],
    key=len,
    reverse=True,
)  # fmt: skip

# A short list: BM25's IDF already discounts common words, this only trims the vectors.
STOPWORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in",
        "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were",
        "will", "with",
    }
)  # fmt: skip


class Tokenizer(Protocol):
    """Text to BM25 tokens; the same text always gives the same tokens."""

    def tokens(self, text: str) -> list[str]: ...


class _Base:
    """Jieba (loaded on first use, with extra words) and a memoised Snowball stemmer."""

    def __init__(self, words: Iterable[str] = ()) -> None:
        self._words = tuple(w for w in words if re.search(f"[{_HAN}]", w))
        self._jieba: Any = None
        self._lock = threading.Lock()
        self._stemmer: Any = snowballstemmer.stemmer("english")
        self._stems: dict[str, str] = {}  # the stemmer is pure Python: remember its answers

    def _stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            stem = self._stemmer.stemWord(word) if _LATIN_WORD.match(word) else word
            if len(self._stems) < 500_000:
                self._stems[word] = stem
        return stem

    def _segment_han(self, run: str) -> list[str]:
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    import jieba

                    jieba.setLogLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    for word in self._words:
                        tokenizer.add_word(word)  # jieba picks a frequency that keeps it whole
                    self._jieba = tokenizer
        return [t for t in self._jieba.lcut(run) if t.strip() and not _NOT_WORD.match(t)]

    @staticmethod
    def _bigrams(run: str) -> list[str]:
        return [run[i : i + 2] for i in range(max(1, len(run) - 1))]


class LegacyTokenizer(_Base):
    """bm25-cjk-1 (no stemming) and bm25-cjk-2 (Snowball stemming), exactly as they were."""

    def __init__(self, *, stem: bool) -> None:
        super().__init__()
        self._stem_words = stem

    def tokens(self, text: str) -> list[str]:
        out: list[str] = []
        for han, kana, word in _LEGACY_RUNS.findall(unicodedata.normalize("NFKC", text).lower()):
            if han:
                out.extend(self._segment_han(han))
            elif kana:
                out.extend(self._bigrams(kana))
            elif word not in STOPWORDS:
                out.append(self._stem(word) if self._stem_words else word)
        return out


class MixedTokenizer(_Base):
    """bm25-mixed-3: Chinese and English terms, identifiers and numbers with units."""

    def tokens(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text).lower()
        out: list[str] = []
        number_end = -1  # where the last bare number ended, for "3600秒"
        number = ""
        for match in _MIXED_RUNS.finditer(text):
            han, kana, term = match.groups()
            if han:
                if match.start() == number_end and (unit := _unit(han)):
                    out.append(number + unit)
                out.extend(self._segment_han(han))
            elif kana:
                out.extend(self._bigrams(kana))
            else:
                out.extend(self._term(term))
                if _NUMBER.match(term):
                    number, number_end = term, match.end()
        return out

    def _term(self, term: str) -> list[str]:
        if not _CONNECTOR.search(term):
            return [] if term in STOPWORDS else [self._stem(term)]
        parts = [p for p in _CONNECTOR.split(term) if p]
        out = [term]
        out.extend(self._stem(p) for p in parts if len(p) > 1 and p not in STOPWORDS)
        if re.fullmatch(r"[^\W_]+(?:[-_][^\W_]+)+", term):
            out.append("".join(parts))  # "4-bit" also matches "4bit"
        return out


def _unit(han: str) -> str | None:
    return next((unit for unit in _UNITS if han.startswith(unit)), None)
