#!/usr/bin/env bash
# The main job for now: query and verify a real vendor FS3 image from ../shared/fixtures.
# (Later issues turn this into the 14.14.1100 -> 14.32.1908 burn on the simulated card.)
set -euo pipefail
cd "$(dirname "$0")/.."
fixture=../shared/fixtures/fs3/fw-SPC-rel-13_2000_2162-EVB_IBM0000000028.bin.xz
image=$(mktemp --suffix=.bin)
trap 'rm -f "$image"' EXIT
xz -dc "$fixture" > "$image"
echo "\$ fs3burn -i $(basename "$fixture" .xz) query full"
node dist/cli/main.js -i "$image" query full
echo
echo "\$ fs3burn -i $(basename "$fixture" .xz) verify"
node dist/cli/main.js -i "$image" verify
