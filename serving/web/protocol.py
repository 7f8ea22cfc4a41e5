"""Wire models of the document viewer's endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Box(BaseModel):
    """A rectangle in PDF points from the page's top-left corner."""

    left: float
    top: float
    right: float
    bottom: float


class Highlight(BaseModel):
    """Where a cited span is drawn on its page: scale the boxes by the image's width / `width`."""

    object: Literal["highlight"] = "highlight"
    page: int
    pages: int = Field(description="The document's page count (for next/previous).")
    width: float = Field(description="The page's width in PDF points.")
    height: float = Field(description="The page's height in PDF points.")
    boxes: list[Box] = Field(
        description="One rectangle per line of the span; empty when the span's characters "
        "have no place on the page (text recognised by OCR, or a changed document)."
    )


class Passage(BaseModel):
    """A cited passage of a document without page images, within its surrounding text."""

    object: Literal["passage"] = "passage"
    page: int
    pages: int
    before: str = Field(description="The page's text just before the passage.")
    text: str = Field(description="The passage itself (highlight it).")
    after: str = Field(description="The page's text just after the passage.")
