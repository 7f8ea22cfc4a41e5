#!/bin/sh
# Writes a random value into each secret file docker-compose.yml names (keeping any that
# exist), and SearXNG's cookie key into deploy/searxng/searxng.env. Run once, from anywhere.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
umask 077
for name in postgres_password qdrant_api_key vllm_api_key keycloak_admin_password grafana_admin_password; do
    if [ ! -s "$here/$name" ]; then
        od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > "$here/$name"
        echo "wrote $here/$name"
    fi
done
searxng="$here/../searxng/searxng.env"
if [ ! -s "$searxng" ]; then
    printf 'SEARXNG_SECRET=%s\n' "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" > "$searxng"
    echo "wrote $searxng"
fi
# The containers run as other users and read these files: readable, not writable.
chmod 644 "$here"/*_password "$here"/*_key
