# syntax=docker/dockerfile:1.7
# One image for every Python service; docker-compose picks the command. Targets:
#   runtime  CPU torch (serving, ingest workers, search proxy): no CUDA libraries, ~2 GB less
#   trainer  CUDA torch (the fine-tuning scheduler, which trains on a GPU)
# Dependencies are installed before the source is copied, so a code change rebuilds only
# the last layers.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS base
# OpenCV (under the OCR) loads libGL and GLib even without a screen.
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH

# The dependencies alone, read from pyproject.toml (torch first, from the chosen index).
FROM base AS deps
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN python -m venv /opt/venv \
    && pip install --index-url "$TORCH_INDEX" torch==2.13.0
WORKDIR /src
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" > requirements.txt \
    && pip install -r requirements.txt

# The project itself, without touching the dependencies.
FROM deps AS build
COPY README.md ./
COPY core core
COPY ingest ingest
COPY retrieval retrieval
COPY search_proxy search_proxy
COPY serving serving
COPY finetune finetune
COPY kb kb
RUN pip install --no-deps .

FROM base AS runtime
COPY --from=build /opt/venv /opt/venv
COPY deploy/docker-entrypoint.sh /usr/local/bin/kb-entrypoint
# Non-root; the folders named volumes mount over start out owned by it, so they are writable.
RUN useradd --uid 10001 --create-home kb \
    && mkdir -p /data /shared/uploads /shared/originals /adapters \
    && chown -R kb /data /shared /adapters
USER 10001
WORKDIR /home/kb
ENV KB_DATA_DIR=/data HF_HUB_OFFLINE=1
EXPOSE 8000
ENTRYPOINT ["kb-entrypoint"]
CMD ["kb", "serve", "--host", "0.0.0.0"]

# The trainer: the same image with torch swapped for the CUDA build.
FROM build AS build-cuda
ARG CUDA_TORCH_INDEX=https://download.pytorch.org/whl/cu128
# The CPU build is 2.13.0+cpu, which "==2.13.0" already accepts: remove it first.
RUN pip uninstall -y torch \
    && pip install --index-url "$CUDA_TORCH_INDEX" --extra-index-url https://pypi.org/simple \
       torch==2.13.0

FROM runtime AS trainer
USER root
COPY --from=build-cuda /opt/venv /opt/venv
USER 10001
