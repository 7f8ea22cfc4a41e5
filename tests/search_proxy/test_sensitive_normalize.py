from __future__ import annotations

import pytest

from search_proxy.sensitive.normalize import (
    CharTable,
    Normalized,
    Normalizer,
    default_normalizer,
    load_t2s_table,
    normalize,
)


def test_full_width_letters_and_digits_become_ascii():
    assert normalize("ＡＢＣ１２３") == Normalized("abc123", [0, 1, 2, 3, 4, 5])


def test_case_is_folded():
    assert normalize("ProJECT Straße").text == "projectstrasse"


def test_traditional_chinese_becomes_simplified():
    assert normalize("機密項目") == Normalized("机密项目", [0, 1, 2, 3])


def test_simplified_chinese_is_unchanged():
    assert normalize("机密项目").text == "机密项目"


@pytest.mark.parametrize(
    "noise",
    [
        "\u200b",  # zero-width space
        "\u200c",  # zero-width non-joiner
        "\u200d",  # zero-width joiner
        "\u2060",  # word joiner
        "\ufeff",  # byte-order mark
        "\u202e",  # right-to-left override
        "\ufe0f",  # variation selector
        " ",
        "\u3000",  # ideographic space
        "\t\n",
        "*-._/",
        "\uff0c\u3002",  # full-width comma, ideographic full stop
        "\u2605",  # black star
        "\U0001f600",  # emoji
        "\x00\x07",
    ],
)
def test_noise_between_characters_is_dropped_and_skipped_in_the_origin(noise):
    result = normalize(f"机{noise}密")
    assert result.text == "机密"
    assert result.origin == [0, 1 + len(noise)]


def test_letters_and_digits_of_any_script_are_kept():
    assert normalize("数据 v2 Ωmega 三").text == "数据v2ωmega三"


def test_compatibility_forms_fold():
    assert normalize("①②").text == "12"
    assert normalize("\uf900").text == normalize("\u8c48").text  # compatibility ideograph


def test_a_character_that_expands_maps_every_part_to_its_origin():
    result = normalize("x\ufb01le")  # the "fi" ligature
    assert result == Normalized("xfile", [0, 1, 1, 2, 3])
    assert result.span(1, 3) == (1, 2)
    assert result.span(2, 5) == (1, 4)


def test_span_covers_noise_inside_the_match():
    result = normalize("a 机 密 b")
    assert result.text == "a机密b"
    assert result.span(1, 3) == (2, 5)


def test_lone_surrogate_is_dropped():
    assert normalize("a\ud800b") == Normalized("ab", [0, 2])


def test_empty_text():
    assert normalize("") == Normalized("", [])


def test_fold_and_origin_agree_on_mixed_text():
    text = "Ｐroject 天網 ⅰⅱ \ufb03x，\u200b機密 ß①"
    normalizer = default_normalizer()
    result = normalizer.normalize(text)
    assert result.text == normalizer.fold(text)
    assert len(result.origin) == len(result.text)
    assert result.origin == sorted(result.origin)
    for index, char in enumerate(result.text):
        assert char in normalizer.fold(text[result.origin[index]])


def test_opencc_table_is_one_to_one_and_maps_traditional_to_simplified():
    table = load_t2s_table()
    assert table["機"] == "机"
    assert table["網"] == "网"
    assert len(table) > 3000
    assert all(len(key) == 1 and len(value) == 1 for key, value in table.items())


def test_a_normalizer_uses_the_table_it_is_given():
    assert Normalizer({"甲": "乙"}).fold("甲機") == "乙機"


def test_fold_char_folds_one_character():
    normalizer = default_normalizer()
    assert normalizer.fold_char("Ａ") == "a"
    assert normalizer.fold_char("網") == "网"
    assert normalizer.fold_char("\u200b") == ""
    assert normalizer.fold_char("\ufb01") == "fi"


class Upper(CharTable):
    LIMIT = 2

    def compute(self, code):
        return chr(code).upper()


def test_char_tables_stop_caching_at_their_limit_but_keep_answering():
    table = Upper()
    assert "abcd".translate(table) == "ABCD"
    assert len(table) == 2
    assert "dcba".translate(table) == "DCBA"
