#!/bin/sh
# Runs the SDK, schemathesis and hostile-client suite against a registryd that is already running
# (the compose `tests` service). Needs REGISTRYD_URL, and DATABASE_URL to create the API keys.
set -eu
: "${REGISTRYD_URL:?set REGISTRYD_URL to the service, e.g. http://registryd:8080}"
: "${DATABASE_URL:?set DATABASE_URL so that the suite can create its API keys}"
organization=$(python3 -c 'import uuid; print(uuid.uuid4())')
key=$(registryd api-key create --organization-id "$organization" --description "end-to-end suite")
SCW_ACCESS_KEY=$(echo "$key" | awk '/^access_key:/ {print $2}')
SCW_SECRET_KEY=$(echo "$key" | awk '/^secret_key:/ {print $2}')
export SCW_ACCESS_KEY SCW_SECRET_KEY SCW_DEFAULT_ORGANIZATION_ID="$organization"
export REGISTRYD_BINARY="${REGISTRYD_BINARY:-$(command -v registryd)}"
exec python3 -m pytest -q -p no:cacheprovider "$(dirname "$0")" "$@"
