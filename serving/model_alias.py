"""The LLM model alias: the name answers ask vLLM for, which the fine-tuning job re-points.

`KB_LLM__MODEL` is the alias (and its default target: the base model). When fine-tuning
promotes an adapter it loads it into vLLM under a new name and `PUT /v1/model-alias` points the
alias there; rollback points it back. The target is kept in `model-alias.json` in the data
folder, replaced atomically, so a restart keeps serving the promoted adapter.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from core.errors import ConfigurationError

FILE_NAME = "model-alias.json"


class AliasOut(BaseModel):
    """Where the alias points now."""

    alias: str = Field(description="The configured model name (KB_LLM__MODEL).")
    model: str = Field(description="The name answers send to the LLM server now.")


class AliasIn(BaseModel):
    """Body of `PUT /v1/model-alias`; null points the alias back at the configured model."""

    model: str | None = Field(None, min_length=1, max_length=200)


class ModelAlias:
    """The current target of the alias, read once and written through."""

    def __init__(self, folder: Path, alias: str) -> None:
        self._path, self.alias = folder / FILE_NAME, alias
        self._target: str | None = None
        if self._path.exists():
            try:
                self._target = json.loads(self._path.read_text(encoding="utf-8"))["model"]
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigurationError(f"{self._path} is unreadable: {exc}") from exc

    @property
    def model(self) -> str:
        """The name to send to the LLM server."""
        return self._target or self.alias

    def point(self, model: str | None) -> None:
        """Point the alias at `model` (None: back at itself), durably."""
        temporary = self._path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as out:
            json.dump({"model": model}, out)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(self._path)
        self._target = model

    def out(self) -> AliasOut:
        return AliasOut(alias=self.alias, model=self.model)


router = APIRouter(prefix="/v1", tags=["model alias"])


def _alias(request: Request) -> ModelAlias:
    alias: ModelAlias = request.app.state.model_alias
    return alias


AliasDep = Annotated[ModelAlias, Depends(_alias)]


@router.get("/model-alias")
async def get_alias(alias: AliasDep) -> AliasOut:
    """The configured model name and the name answers send to the LLM server now."""
    return alias.out()


@router.put("/model-alias")
async def put_alias(body: AliasIn, alias: AliasDep) -> AliasOut:
    """Point the alias at a served model (a promoted LoRA adapter), or back with null."""
    alias.point(body.model)
    return alias.out()
