#!/usr/bin/env bash
# The session host image of a swarm (SPEC 13, docs/operations.md "Many
# machines"): the foyer binary and the programs users run in their
# sessions (bash, coreutils, grep, procps), built without a registry from
# this machine's files (deploy/user-image/build-test-image.sh), then
# loaded onto every node by the operator (`docker save IMAGE | docker -H
# NODE load`). Its entry point is `foyer session-host`; the gateway passes
# the rest.
#
#   deploy/swarm/build-host-image.sh IMAGE FOYER_BINARY
#
# DOCKER_HOST picks the engine it is built on. With a registry, a
# Dockerfile FROM a Debian image with the same programs and the binary
# does the same.
set -euo pipefail
image=${1:?usage: build-host-image.sh IMAGE FOYER_BINARY}
binary=${2:?usage: build-host-image.sh IMAGE FOYER_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
WITH_FOYER=$binary "$here/../user-image/build-test-image.sh" "$image"
