#!/usr/bin/env bash
# The main job: the field case this project exists for, on the built-in simulated card.
# A ConnectX-4 Lx on FW 14.14.1100 (no FW-managed flow; its ICMD stops answering after the
# warm-boot request) goes to 14.32.1908 in one failsafe command, then boots it.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
card="sim:cx4lx@14.14.1100?state=$work/card.sim"
fs3burn() { echo; echo "\$ fs3burn $*"; node dist/cli/main.js "$@"; }

fs3burn image build --catalog cx4lx-14.32.1908 -o "$work/fw-14.32.1908.bin"
fs3burn -d "$card" query
fs3burn -d "$card" -i "$work/fw-14.32.1908.bin" plan
fs3burn -d "$card" -i "$work/fw-14.32.1908.bin" burn -y
fs3burn -d "$card" reset
fs3burn -d "$card" query
fs3burn -d "$card" verify
