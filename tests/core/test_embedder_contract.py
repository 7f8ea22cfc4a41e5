"""The contract every Embedder keeps, run on each engine and model (tests/core/conftest.py)."""

import itertools

import numpy as np
import pytest

from core.embeddings.quality import SAMPLE

TEXTS = [
    "a cat sat on the mat",
    "Stock markets fell sharply after the central bank raised interest rates by half a point.",
    "员工每年有多少天年假？",
    "x",
    SAMPLE[5],  # a long English passage
    SAMPLE[10],  # a long Chinese passage
    "Redis缓存的TTL是3600秒。",
]


def as_array(vectors: object) -> np.ndarray:
    return np.asarray(vectors, dtype=np.float64)


def test_one_unit_vector_of_dimension_per_text(engine):
    vectors = as_array(engine.embed_documents(TEXTS))
    assert vectors.shape == (len(TEXTS), engine.dimension)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    query = as_array(engine.embed_query("how many days of leave?"))
    assert query.shape == (engine.dimension,)
    assert abs(np.linalg.norm(query) - 1.0) < 1e-4


def test_order_is_kept_and_batching_does_not_change_vectors(engine):
    together = as_array(engine.embed_documents(TEXTS))
    reversed_ = as_array(engine.embed_documents(TEXTS[::-1]))[::-1]
    one_by_one = np.vstack([as_array(engine.embed_documents([t])) for t in TEXTS])
    for other in (reversed_, one_by_one):
        cosines = np.sum(other * together, axis=1)
        assert cosines.min() >= 0.99999, cosines
    # Every text is distinct, so a mix-up of rows could not pass the comparison above.
    assert len({tuple(np.round(row, 3)) for row in together}) == len(TEXTS)


def test_empty_input_gives_no_vectors(engine):
    assert engine.embed_documents([]) == []


def test_similar_texts_are_closer(engine):
    query = as_array(engine.embed_query("a kitten on a rug"))
    cat, stocks = as_array(engine.embed_documents(["a cat sat on the mat", "stock markets fell"]))
    assert query @ cat > query @ stocks


@pytest.mark.parametrize("text", [*TEXTS, "  two  spaces\tand\ttabs\n\nand lines  ", "", "①ﬁ café"])
def test_token_spans_cover_the_text_in_order(engine, text):
    spans = engine.token_spans(text)
    for (a, b), (c, _) in itertools.pairwise(spans):
        assert a <= b <= c, spans
    assert all(0 <= a <= b <= len(text) for a, b in spans)
    covered: set[int] = set()
    for a, b in spans:
        covered.update(range(a, b))
    uncovered = [text[i] for i in range(len(text)) if i not in covered and not text[i].isspace()]
    assert not uncovered, uncovered
    assert 0 < engine.max_tokens <= 512
