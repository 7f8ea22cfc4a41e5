#!/bin/sh
# Docker secrets as settings: for every NAME_FILE=/run/secrets/x in the environment, export
# NAME with the file's content (trailing newlines dropped) and drop NAME_FILE, then run the
# command. The convention of the official postgres image, limited to values under
# /run/secrets/ because some settings end in _FILE themselves (KB_SEARCH_FILTER__WORDS_FILE).
# pydantic-settings reads plain variables only, and libpq reads PGPASSWORD.
set -eu
secrets="${KB_SECRETS_DIR:-/run/secrets}"  # another folder only in tests
for variable in $(env | sed -n "s|^\([A-Za-z_][A-Za-z0-9_]*\)_FILE=$secrets/.*\$|\1|p"); do
    file=$(printenv "${variable}_FILE")
    if [ ! -r "$file" ]; then
        echo "kb-entrypoint: ${variable}_FILE names $file, which cannot be read" >&2
        exit 1
    fi
    value=$(cat "$file")
    export "$variable=$value"
    unset "${variable}_FILE"
done
exec "$@"
