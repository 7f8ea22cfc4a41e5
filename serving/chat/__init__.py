"""Cited answers over knowledge bases behind the OpenAI chat-completions API.

`POST /v1/chat/completions` with `model: "kb/<name>"` (several joined by `+`) retrieves
passages and answers with an LLM (any OpenAI-compatible server), or extractively without one;
`GET /v1/models` lists the knowledge bases as models.
"""
