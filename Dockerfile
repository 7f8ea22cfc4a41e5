# One image for every Python service; docker-compose picks the command.
FROM python:3.11-slim
WORKDIR /app
# OpenCV (under the OCR) loads libGL and GLib even without a screen.
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
# Point TORCH_INDEX at a CPU-only wheel index to keep the image small (no CUDA libraries).
ARG TORCH_INDEX=""
RUN pip install --no-cache-dir ${TORCH_INDEX:+--index-url "$TORCH_INDEX"} torch==2.13.0
COPY pyproject.toml README.md ./
COPY core core
COPY ingest ingest
COPY retrieval retrieval
COPY search_proxy search_proxy
COPY serving serving
COPY finetune finetune
RUN pip install --no-cache-dir .
RUN useradd --uid 10001 --create-home kb && mkdir /data && chown kb /data
USER kb
ENV KB_DATA_DIR=/data HF_HUB_OFFLINE=1
EXPOSE 8000
CMD ["kb", "serve", "--host", "0.0.0.0"]
