"""The LLM seam shared by the answer service and the fine-tuning job.

`core.llm.client.LLMClient` talks to any OpenAI-compatible server (vLLM); `core.llm.prompts`
is the one prompt format, which answers use and fine-tuning trains on.
"""
