"""Every Prometheus metric of the project, in one catalogue (the README lists them).

Names follow Prometheus conventions: a `kb_` namespace, the unit in the name (`_seconds`,
`_total`), and labels whose values are bounded (route templates, not paths; engine, model,
stage and outcome names from configuration or code, never user input). The metrics live in
prometheus_client's default registry: one process, one service, one set of figures.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Request latency buckets: from a cached answer (milliseconds) to a long LLM answer.
LATENCY_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
# Ingestion takes longer: a text file in milliseconds, a scanned book in minutes.
INGEST_S = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

HTTP_REQUESTS = Counter(
    "kb_http_requests_total",
    "HTTP requests answered, by service, route template, method and status code.",
    ["service", "route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "kb_http_request_duration_seconds",
    "Time from request to the end of the response (streams included), by route and status.",
    ["service", "route", "method", "status"],
    buckets=LATENCY_S,
)

INGEST_BACKLOG = Gauge(
    "kb_ingest_backlog_files",
    "Files of ingestion jobs waiting for a worker or being ingested (the shared queue).",
)
INGEST_FILES = Counter(
    "kb_ingest_files_total",
    "Files ingested by this process, by outcome (ingested, replaced, unchanged, failed...).",
    ["outcome"],
)
INGEST_FILE_DURATION = Histogram(
    "kb_ingest_file_duration_seconds",
    "Time to ingest one file, from claim to outcome, by outcome.",
    ["outcome"],
    buckets=INGEST_S,
)
INGEST_STAGE_DURATION = Histogram(
    "kb_ingest_stage_duration_seconds",
    "Time spent in each ingestion stage: parse (a file), chunk (a file), embed (a batch of "
    "chunks to vectors), store (a batch upserted into the vector store).",
    ["stage"],
    buckets=INGEST_S,
)
INGEST_JOB_DURATION = Histogram(
    "kb_ingest_job_duration_seconds",
    "Time from a job being queued to its last file's outcome (recorded by the worker that "
    "finished it).",
    buckets=INGEST_S,
)
INGEST_CHUNKS = Counter("kb_ingest_chunks_total", "Chunks embedded and stored.")

RETRIEVAL_DURATION = Histogram(
    "kb_retrieval_duration_seconds",
    "Time of one retrieval (embed the query, search, rerank, neighbours), by mode.",
    ["mode"],
    buckets=LATENCY_S,
)

LLM_TTFT = Histogram(
    "kb_llm_time_to_first_token_seconds",
    "Time from sending a streamed chat request to the LLM to its first content token.",
    ["model"],
    buckets=LATENCY_S,
)
LLM_DURATION = Histogram(
    "kb_llm_request_duration_seconds",
    "Time of a whole chat request to the LLM, streamed or not, by model.",
    ["model"],
    buckets=LATENCY_S,
)
LLM_TOKENS = Counter(
    "kb_llm_tokens_total",
    "Tokens the LLM reported in its usage, by model and kind (prompt, completion).",
    ["model", "kind"],
)
LLM_ERRORS = Counter(
    "kb_llm_errors_total",
    "Chat requests to the LLM that failed, by model and reason (timeout, error).",
    ["model", "reason"],
)

SEARCH_ENGINE_REQUESTS = Counter(
    "kb_search_engine_requests_total",
    "Searches sent to each web search engine, by outcome (ok, timeout, rate_limited, error).",
    ["engine", "outcome"],
)
SEARCH_ENGINE_DURATION = Histogram(
    "kb_search_engine_duration_seconds",
    "Time each web search engine took to answer (cached answers not counted), by engine.",
    ["engine"],
    buckets=LATENCY_S,
)
SENSITIVE_HITS = Counter(
    "kb_sensitive_word_hits_total",
    "Queries and results in which the sensitive-word filter found listed words, by stage "
    "(query, result) and the action taken (block, strip, mask, drop).",
    ["stage", "action"],
)

ANSWER_CACHE = Counter(
    "kb_answer_cache_lookups_total",
    "Answer cache look-ups by this process, by result (hit, miss, error).",
    ["result"],
)

FINETUNE_RUNS = Counter(
    "kb_finetune_runs_total",
    "Fine-tuning runs by how they ended (ok, rejected, skipped, failed).",
    ["status"],
)
FINETUNE_RUN_DURATION = Histogram(
    "kb_finetune_run_duration_seconds",
    "Time of one fine-tuning run, by how it ended.",
    ["status"],
    buckets=(1, 10, 60, 300, 900, 1800, 3600, 7200, 14400, 28800),
)
