"""Personal data masking: each kind masked, look-alikes left alone."""

from __future__ import annotations

import pytest

from finetune.pii import PiiMasker, luhn_valid, mask_pii

# A structurally valid resident ID (area 110105, born 1949-12-31, check character X).
ID = "11010519491231002X"
CARD = "4111 1111 1111 1111"  # Luhn-valid test Visa number


@pytest.mark.parametrize(
    ("text", "masked", "kind"),
    [
        ("写信给 zhang.san+hr@example.com.cn 即可", "写信给 [EMAIL] 即可", "EMAIL"),
        ("联系li@corp.example获取", "联系[EMAIL]获取", "EMAIL"),
        (f"身份证号{ID}。", "身份证号[ID]。", "ID"),
        ("id 110105194912310021 end", "id [ID] end", "ID"),
        (f"card {CARD} ok", "card [CARD] ok", "CARD"),
        ("卡号4111-1111-1111-1111", "卡号[CARD]", "CARD"),
        ("account 6011000990139424.", "account [CARD].", "CARD"),
        ("电话13812345678。", "电话[PHONE]。", "PHONE"),
        ("call 138 1234 5678 now", "call [PHONE] now", "PHONE"),
        ("call 138-1234-5678 now", "call [PHONE] now", "PHONE"),
        ("tel +86 139 1234 5678", "tel [PHONE]", "PHONE"),
        ("tel +8613912345678", "tel [PHONE]", "PHONE"),
        ("tel 0086 139 1234 5678", "tel [PHONE]", "PHONE"),
        ("London +44 20 7946 0958.", "London [PHONE].", "PHONE"),
        ("伦敦电话+44 20 7946 0958。", "伦敦电话[PHONE]。", "PHONE"),
        ("US +1 (415) 555-0100", "US [PHONE]", "PHONE"),
    ],
)
def test_each_kind_is_masked(text, masked, kind):
    assert mask_pii(text) == (masked, {kind: 1})


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 is Luhn-invalid",
        "order 4111111111111112",
        "id 110105194913310021 has month 13",
        "id 110105194902300022 has February 30",
        "id 01010519491231002X has area code 0",
        "too long 1101051949123100211",
        "too short 13812345",
        "12812345678 is no mobile prefix",
        "138123456789 has twelve digits",
        "reference 12345678901234567890123",
        "in 2024 2025 we grew",
        "version 3.14.15, page 12, 25 days",
        "not an email: user@localhost",
        "+44 2",
    ],
)
def test_look_alikes_are_left_alone(text):
    assert mask_pii(text) == (text, {})


def test_counts_add_up_over_many_texts():
    masker = PiiMasker()
    first = masker.mask(f"a@b.io, {ID}, 13812345678 and 13912345678")
    second = masker.mask(f"{CARD} and c@d.io")
    assert first == "[EMAIL], [ID], [PHONE] and [PHONE]"
    assert second == "[CARD] and [EMAIL]"
    assert masker.counts == {"EMAIL": 2, "ID": 1, "PHONE": 2, "CARD": 1}


def test_digits_inside_an_email_are_not_a_phone():
    assert mask_pii("13812345678@qq.com") == ("[EMAIL]", {"EMAIL": 1})


def test_luhn():
    assert luhn_valid("4111111111111111")
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
