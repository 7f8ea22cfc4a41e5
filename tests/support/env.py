"""External servers chosen by the environment, read once before tests clear it."""

from __future__ import annotations

import os
from pathlib import Path

TIKA_URL = os.environ.get("TIKA_URL")
QDRANT_URL = os.environ.get("QDRANT_URL")

EVAL_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "eval"
EVAL_MISSING = f"real evaluation data not found at {EVAL_DIR} (../shared/eval)"
