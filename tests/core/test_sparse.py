import pytest

from core.errors import ConfigurationError
from core.sparse import (
    Bm25Encoder,
    LegacyTokenizer,
    MixedTokenizer,
    SparseEncoders,
    spec,
    token_index,
    words_digest,
)


def test_chinese_is_segmented_into_words():
    tokens = Bm25Encoder().tokens("我们在北京大学学习机器学习。")
    assert "北京大学" in tokens
    assert "学习" in tokens
    assert "。" not in tokens


def test_full_width_and_case_fold_to_the_same_token():
    encoder = Bm25Encoder()
    assert encoder.tokens("ＡＢＣ Qdrant") == encoder.tokens("abc qdrant")


def test_kana_and_hangul_become_bigrams():
    assert Bm25Encoder().tokens("テスト 한국어") == ["テス", "スト", "한국", "국어"]


def test_document_weights_saturate_and_indices_are_unique():
    vector = Bm25Encoder().document("cat cat cat cat dog")
    assert len(set(vector.indices)) == len(vector.indices)
    weights = dict(zip(vector.indices, vector.values, strict=True))
    cat, dog = weights[token_index("cat")], weights[token_index("dog")]
    assert dog < cat < 4 * dog  # more occurrences weigh more, but far less than linearly


def test_query_uses_each_token_once():
    vector = Bm25Encoder().query("cat cat dog")
    assert sorted(vector.indices) == sorted({token_index("cat"), token_index("dog")})
    assert vector.values == [1.0, 1.0]


def test_token_index_is_stable_across_processes():
    # Fixed expectation: Python's salted hash() would change between runs.
    assert token_index("qdrant") == token_index("qdrant")
    assert token_index("qdrant") != token_index("qdrant2")
    assert 0 <= token_index("x") < 2**32


# -- mixed Chinese–English text (bm25-mixed-3) ---------------------------------------------


def test_english_terms_end_where_chinese_starts():
    tokens = Bm25Encoder().tokens("4bit量化后的推理速度")
    assert tokens[:3] == ["4bit", "量化", "后"]
    assert {"推理", "速度"} <= set(tokens)


def test_identifiers_and_versions_stay_whole_and_their_parts_match_too():
    tokens = Bm25Encoder().tokens("Qwen-14B模型用Q2_K量化, FP16对比, 限流100/minute, v1.2.3版本")
    for whole in ("qwen-14b", "q2_k", "fp16", "100/minute", "v1.2.3"):
        assert whole in tokens
    for part in ("qwen", "14b", "qwen14b", "q2", "q2k", "100", "minut", "模型", "量化", "版本"):
        assert part in tokens
    # "4-bit" and "4bit" are spelled both ways in the same documents.
    assert "4bit" in Bm25Encoder().tokens("4-bit量化")


def test_numbers_keep_their_unit():
    tokens = Bm25Encoder().tokens("Redis缓存的TTL设置为3600秒, 在1990年成立, 3.5倍")
    assert {"redi", "ttl", "缓存", "3600秒", "3600", "1990年", "1990", "3.5倍", "3.5"} <= set(
        tokens
    )
    assert "3600秒" not in Bm25Encoder().tokens("3600 秒"), "only a unit written against it"


def test_the_old_tokenizers_are_kept_as_they_were():
    # Old indexes hold these tokens and are still queried with them.
    assert LegacyTokenizer(stem=True).tokens("在1990年成立 Caching") == ["在", "1990年成立", "cach"]
    assert LegacyTokenizer(stem=False).tokens("Caching") == ["caching"]


def test_dictionary_words_are_kept_whole():
    text = "使用向量数据库检索增强生成"
    assert "检索增强生成" not in MixedTokenizer().tokens(text)
    assert "检索增强生成" in MixedTokenizer(["检索增强生成", "Qwen-14B"]).tokens(text)


def test_encoders_follow_the_spec_and_union_tokens_across_specs():
    words = {"abc": ["检索增强生成"]}
    encoders = SparseEncoders(lambda digest: words[digest])
    assert encoders.encoder("bm25-cjk-2").tokenizer.tokens("4bit量化") == ["4bit量化"]
    assert encoders.encoder("bm25-mixed-3+words:abc").tokens("检索增强生成") == ["检索增强生成"]
    both = encoders.query("4bit量化", ["bm25-cjk-2", "bm25-mixed-3"])
    assert set(both.indices) == {token_index(t) for t in ("4bit量化", "4bit", "量化")}
    with pytest.raises(ConfigurationError, match="bm25-cjk-9"):
        encoders.encoder("bm25-cjk-9")
    assert spec("bm25-mixed-3", ["b", "a", "a"]) == f"bm25-mixed-3+words:{words_digest(['a', 'b'])}"
