"""Personal data masking: each kind masked, look-alikes left alone, log lines masked."""

from __future__ import annotations

import logging

import pytest

from core.privacy import PiiLogFilter, PiiMasker, PrivacySettings, luhn_valid, mask_pii
from core.privacy.checks import resident_id_valid

# A structurally valid resident ID (area 110105, born 1949-12-31, check character X).
ID = "11010519491231002X"
CARD = "4111 1111 1111 1111"  # Luhn-valid test Visa number


@pytest.mark.parametrize(
    ("text", "masked", "kind"),
    [
        ("写信给 zhang.san+hr@example.com.cn 即可", "写信给 [EMAIL] 即可", "EMAIL"),
        ("联系li@corp.example获取", "联系[EMAIL]获取", "EMAIL"),
        (f"身份证号{ID}。", "身份证号[ID]。", "ID"),
        ("id 110101199003074477 end", "id [ID] end", "ID"),
        ("护照号码：E12345678，有效期至2030年", "护照号码：[PASSPORT]，有效期至2030年", "PASSPORT"),
        ("新版护照EA1234567已签发", "新版护照[PASSPORT]已签发", "PASSPORT"),
        ("Passport No. G12345678 (old)", "Passport No. [PASSPORT] (old)", "PASSPORT"),
        ("passport number: X1234567.", "passport number: [PASSPORT].", "PASSPORT"),
        ("护照号 K12345678", "护照号 [PASSPORT]", "PASSPORT"),
        ("总机 010-65529988 转 123。", "总机 [PHONE]。", "PHONE"),
        ("深圳办公室(0755) 8765 4321", "深圳办公室[PHONE]", "PHONE"),
        ("tel 021-61234567", "tel [PHONE]", "PHONE"),
        ("office +86 21 6123 4567", "office [PHONE]", "PHONE"),
        ("银联卡 6222 0212 3456 7894 尾号", "银联卡 [CARD] 尾号", "CARD"),
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
        "订单号 110105194912310021 的校验位不对",
        "order 110101199003074470 fails the check digit",
        "E1234567 is a part number, too short for a passport",
        "model EA12345 of the printer",
        "passport photos: 2 copies",
        "ISBN 978-7-111-54742-6",
        "server 192.168.100.200 port 8080",
        "会议时间 2024-01-15 10:30，会议室 0123",
        "2023-12345678 is a case number",
        "价格 ¥13,812,345,678 元",
        "编号 01012345678 无分隔",
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


# A staff record in Chinese and an e-mail in English, as they reach a knowledge base.
CHINESE_RECORD = (
    "员工张三，身份证号11010519491231002X，手机138 1234 5678，办公电话010-65529988转6012，"
    "工资卡6222021234567894，邮箱zhang.san@corp.example.cn。护照号码：E12345678。"
    "工号 20240115，入职日期 2024-01-15，年假 15 天，合同编号 HT-2024-000123。"
)
ENGLISH_MAIL = (
    "Hi Anna, please book the flight for John (passport no. 533412345, card "
    "4111-1111-1111-1111, mobile +44 7700 900123). Invoice 2024-0042 for 1,250.00 EUR is due "
    "on 2024-03-31; ticket #4111111111111112 is still open. Reply to travel@corp.example."
)


def test_a_realistic_chinese_record():
    masked, counts = mask_pii(CHINESE_RECORD)
    assert masked == (
        "员工张三，身份证号[ID]，手机[PHONE]，办公电话[PHONE]，工资卡[CARD]，邮箱[EMAIL]。"
        "护照号码：[PASSPORT]。工号 20240115，入职日期 2024-01-15，年假 15 天，"
        "合同编号 HT-2024-000123。"
    )
    assert counts == {"ID": 1, "PHONE": 2, "CARD": 1, "EMAIL": 1, "PASSPORT": 1}


def test_a_realistic_english_mail():
    masked, counts = mask_pii(ENGLISH_MAIL)
    assert masked == (
        "Hi Anna, please book the flight for John (passport no. [PASSPORT], card [CARD], "
        "mobile [PHONE]). Invoice 2024-0042 for 1,250.00 EUR is due on 2024-03-31; ticket "
        "#4111111111111112 is still open. Reply to [EMAIL]."
    )
    assert counts == {"PASSPORT": 1, "CARD": 1, "PHONE": 1, "EMAIL": 1}


def test_resident_id_check_character():
    assert resident_id_valid("11010519491231002X")
    assert resident_id_valid("11010519491231002x")
    assert resident_id_valid("110101199003074477")
    assert not resident_id_valid("110101199003074478")
    assert not resident_id_valid("11010519491231002")


def test_log_lines_are_masked(caplog):
    logger = logging.getLogger("tests.pii")
    caplog.handler.addFilter(PiiLogFilter())
    with caplog.at_level(logging.INFO, logger="tests.pii"):
        logger.info("question from %s: my card is %s", "li@corp.example", CARD)
    assert caplog.messages == ["question from [EMAIL]: my card is [CARD]"]


def test_per_kb_masking_options():
    settings = PrivacySettings(mask_stored=["hr"], mask_prompts=["*"])
    assert settings.masks_stored("hr")
    assert not settings.masks_stored("finance")
    assert settings.masks_prompts(["finance"])
    assert not PrivacySettings().masks_prompts(["hr"])
