"""The LLM model alias: the name answers ask vLLM for, which the fine-tuning job re-points.

`KB_LLM__MODEL` is the alias (and its default target: the base model). When fine-tuning
promotes an adapter it loads it into vLLM under a new name and `PUT /v1/model-alias` points the
alias there; rollback points it back. The target lives in the shared metadata store, so every
API replica sends the same name, and a restart keeps serving the promoted adapter.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from core.auth.dependency import AdminDep, authenticate
from core.db.engine import Database
from core.db.schema import shared_state, utc_now
from core.errors import ConfigurationError

logger = logging.getLogger(__name__)

KEY = "model_alias"
LEGACY_FILE = "model-alias.json"


class AliasOut(BaseModel):
    """Where the alias points now."""

    alias: str = Field(description="The configured model name (KB_LLM__MODEL).")
    model: str = Field(description="The name answers send to the LLM server now.")


class AliasIn(BaseModel):
    """Body of `PUT /v1/model-alias`; null points the alias back at the configured model."""

    model: str | None = Field(None, min_length=1, max_length=200)


class ModelAlias:
    """The alias's current target, read from the store for every request that needs it."""

    def __init__(self, db: Database, alias: str) -> None:
        self._db, self.alias = db, alias

    @property
    def model(self) -> str:
        """The name to send to the LLM server."""
        with self._db.read() as conn:
            value = conn.execute(select(shared_state.c.value).where(shared_state.c.key == KEY))
            stored = value.scalar()
        target = json.loads(stored)["model"] if stored else None
        return target or self.alias

    def point(self, model: str | None) -> None:
        """Point the alias at `model` (None: back at itself), for every replica at once."""
        row = {"key": KEY, "value": json.dumps({"model": model}), "updated_at": utc_now()}
        with self._db.write() as conn:
            conn.execute(shared_state.delete().where(shared_state.c.key == KEY))
            conn.execute(shared_state.insert().values(**row))

    def import_legacy(self, data_dir: Path) -> None:
        """Take over the target earlier versions kept in `model-alias.json`."""
        path = data_dir / LEGACY_FILE
        if not path.exists():
            return
        try:
            target = json.loads(path.read_text(encoding="utf-8"))["model"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"{path} is unreadable: {exc}") from exc
        self.point(target)
        path.rename(path.with_name(LEGACY_FILE + ".imported"))
        logger.info("model alias %s -> %s taken over from %s", self.alias, target, path)

    def out(self) -> AliasOut:
        return AliasOut(alias=self.alias, model=self.model)


router = APIRouter(prefix="/v1", tags=["model alias"], dependencies=[Depends(authenticate)])


def _alias(request: Request) -> ModelAlias:
    alias: ModelAlias = request.app.state.model_alias
    return alias


AliasDep = Annotated[ModelAlias, Depends(_alias)]


@router.get("/model-alias")
async def get_alias(alias: AliasDep) -> AliasOut:
    """The configured model name and the name answers send to the LLM server now."""
    return alias.out()


@router.put("/model-alias")
async def put_alias(body: AliasIn, alias: AliasDep, _: AdminDep) -> AliasOut:
    """Point the alias at a served model (a promoted LoRA adapter), or back with null (admin)."""
    alias.point(body.model)
    return alias.out()
