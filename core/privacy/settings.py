"""Where personal data is masked (`KB_PRIVACY__*`); audit text and logs are always masked."""

from __future__ import annotations

from pydantic import BaseModel, Field

ALL = "*"


class PrivacySettings(BaseModel):
    """Per knowledge base: mask before embedding and storage, and in prompts to the LLM."""

    mask_stored: list[str] = Field(
        default_factory=list,
        description="Knowledge bases whose chunks are masked before they are embedded and "
        'stored (the original file is kept as uploaded); ["*"] for all. JSON list.',
    )
    mask_prompts: list[str] = Field(
        default_factory=list,
        description="Knowledge bases whose passages, and the question and history asked of "
        'them, are masked in prompts sent to the LLM; ["*"] for all. JSON list.',
    )

    def masks_stored(self, kb: str) -> bool:
        """Whether chunks of `kb` are masked before embedding and storage."""
        return ALL in self.mask_stored or kb in self.mask_stored

    def masks_prompts(self, kbs: list[str]) -> bool:
        """Whether a prompt over `kbs` is masked (any of them asks for it)."""
        return ALL in self.mask_prompts or any(kb in self.mask_prompts for kb in kbs)
