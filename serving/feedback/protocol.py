"""Wire models of `POST /v1/feedback` and `GET /v1/feedback`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from serving.chat.protocol import Citation


class FeedbackIn(BaseModel):
    """A rated answer, as the client showed it: question, answer text and its citations."""

    question: str = Field(min_length=1, max_length=8000)
    answer: str = Field(min_length=1, max_length=32000)
    citations: list[Citation] = Field(
        default_factory=list, max_length=100, description="The answer's `citations`, unchanged."
    )
    rating: int = Field(ge=1, le=5, description="1 (bad) to 5 (good); thumbs: 1 or 5.")
    comment: str = Field("", max_length=4000)
    model: str | None = Field(None, max_length=200, description="The model that answered.")


class CitedPassage(BaseModel):
    """A cited source with the full text it points at (what training needs)."""

    number: int
    type: Literal["document", "web"]
    title: str
    kb: str | None = None
    document_id: str | None = None
    source: str | None = Field(None, description="The document's name (documents).")
    page: int | None = None
    url: str | None = Field(None, description="The result's URL (web).")
    text: str = Field(
        description="The whole cited passage, read back from the index when the feedback "
        "arrived; the citation's snippet when the passage is gone or for web results."
    )


class FeedbackOut(BaseModel):
    """One stored rating."""

    object: Literal["feedback"] = "feedback"
    id: int = Field(description="Increases with every rating: page with `after`.")
    created_at: str
    model: str | None
    question: str
    answer: str
    rating: int
    comment: str
    citations: list[CitedPassage]


class FeedbackList(BaseModel):
    """Ratings with ids above `after`, oldest first."""

    object: Literal["list"] = "list"
    data: list[FeedbackOut]
    last_id: int = Field(description="The highest id in `data`, or `after` when it is empty.")
