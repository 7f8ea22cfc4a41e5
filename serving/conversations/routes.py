"""`/v1/conversations`: the caller's own conversations; anyone else's is a 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field

from core.auth.dependency import CallerDep, authenticate
from serving.conversations.store import ConversationStore

router = APIRouter(prefix="/v1", tags=["conversations"], dependencies=[Depends(authenticate)])


def _store(request: Request) -> ConversationStore:
    store: ConversationStore = request.app.state.conversations
    return store


StoreDep = Annotated[ConversationStore, Depends(_store)]


class ConversationOut(BaseModel):
    """A conversation; chat requests add to it by sending its id as `conversation_id`."""

    id: str
    title: str
    created_at: str
    updated_at: str


class TurnOut(BaseModel):
    """One message: the user's question or the assistant's final answer."""

    seq: int
    role: str
    content: str
    created_at: str


class ConversationDetail(ConversationOut):
    """A conversation with its messages in order."""

    turns: list[TurnOut]


class ConversationPatch(BaseModel):
    """Body of `PATCH /v1/conversations/{id}`."""

    title: str = Field(min_length=1, max_length=200)


def _out(c: object) -> ConversationOut:
    return ConversationOut.model_validate(c, from_attributes=True)


@router.get("/conversations")
async def list_conversations(store: StoreDep, caller: CallerDep) -> list[ConversationOut]:
    """Your conversations, the most recently updated first."""
    return [_out(c) for c in store.of_user(caller.user)]


@router.get("/conversations/{conversation_id}")
async def get_conversation(
    conversation_id: str, store: StoreDep, caller: CallerDep
) -> ConversationDetail:
    """One of your conversations with its messages."""
    turns = store.turns(conversation_id, caller.user)
    head = store.get(conversation_id, caller.user)
    return ConversationDetail(
        **_out(head).model_dump(),
        turns=[TurnOut.model_validate(t, from_attributes=True) for t in turns],
    )


@router.patch("/conversations/{conversation_id}")
async def rename_conversation(
    conversation_id: str, body: ConversationPatch, store: StoreDep, caller: CallerDep
) -> ConversationOut:
    """Retitle one of your conversations."""
    return _out(store.rename(conversation_id, caller.user, body.title))


@router.delete("/conversations/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_conversation(conversation_id: str, store: StoreDep, caller: CallerDep) -> None:
    """Delete one of your conversations and its messages."""
    store.delete(conversation_id, caller.user)
