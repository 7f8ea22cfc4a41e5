"""Personal data: found and masked in one place for every service.

`mask_pii` / `PiiMasker` replace mainland ID numbers, phone numbers, bank cards, e-mail
addresses and passport numbers with typed placeholders (`core.privacy.pii`). Where masking
applies is `PrivacySettings`: per knowledge base before embedding and storage and in prompts
sent to the LLM; always in audit text and, through `PiiLogFilter`, in logs.
"""

from core.privacy.checks import luhn_valid, resident_id_valid
from core.privacy.logs import PiiLogFilter, install_log_masking
from core.privacy.pii import PiiMasker, mask_pii
from core.privacy.settings import PrivacySettings

__all__ = [
    "PiiLogFilter",
    "PiiMasker",
    "PrivacySettings",
    "install_log_masking",
    "luhn_valid",
    "mask_pii",
    "resident_id_valid",
]
