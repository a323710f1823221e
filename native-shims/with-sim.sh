#!/usr/bin/env bash
# Run a command (e.g. the unmodified mstflint) against a simulated ConnectX-4 Lx.
#
#   native-shims/with-sim.sh --personality 14.14.1100 [--state FILE] [--fault SPEC]... \
#       [--knob NAME=VALUE]... [--seed N] [--pci DDDD:BB:DD.F] [--stats FILE] [--verbose] \
#       -- COMMAND [ARGS...]
#
#   native-shims/with-sim.sh --personality 14.14.1100 -- mstflint -d 0000:ee:00.0 q
#
# Builds native-shims/build/sim-preload.so on first use (cc), starts the model server
# (`node dist/cli/main.js sim serve`, from the project root; build the project first),
# waits for its ready line, runs COMMAND with the shim preloaded so that the fake PCI
# address (default 0000:ee:00.0) answers from the model, stops the server (which saves
# --state FILE) and exits with COMMAND's status. --stats FILE writes the model's statistics
# (JSON, the server's `S` answer) taken after COMMAND ends. The wrapper's own failures exit
# with 125. See docs/mstflint-bridge.md.
#
# Environment: CC (compiler, default cc); FS3BURN_SIM_SERVE (the server command, default
# "node ROOT/dist/cli/main.js sim serve"); FS3BURN_SIM_TRACE=1 (the shim logs what it
# intercepts).
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
SO="$HERE/build/sim-preload.so"
SRC="$HERE/sim-preload.c"

die() {
  echo "with-sim: $*" >&2
  exit 125
}

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 125
}

server_args=()
pci="0000:ee:00.0"
stats_file=""
verbose=0
have_personality=0
have_state=0
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; break ;;
    --personality|--state|--fault|--knob|--seed)
      [ $# -ge 2 ] || die "$1 needs a value"
      [ "$1" = --personality ] && have_personality=1
      [ "$1" = --state ] && have_state=1
      server_args+=("$1" "$2"); shift 2 ;;
    --pci) [ $# -ge 2 ] || die "--pci needs a value"; pci="$2"; shift 2 ;;
    --stats) [ $# -ge 2 ] || die "--stats needs a value"; stats_file="$2"; shift 2 ;;
    --verbose) verbose=1; server_args+=(--verbose); shift ;;
    -h|--help) usage ;;
    *) die "unknown option $1 (the command goes after --)" ;;
  esac
done
[ $# -gt 0 ] || die "no command given (native-shims/with-sim.sh --personality 14.14.1100 -- mstflint -d 0000:ee:00.0 q)"
[ $have_personality = 1 ] || [ $have_state = 1 ] || die "--personality VERSION (or an existing --state FILE) is required"

# 1. the shim, built once (atomically, so parallel first uses do not race)
if [ ! -f "$SO" ] || [ "$SRC" -nt "$SO" ]; then
  mkdir -p "$HERE/build" || die "cannot create $HERE/build"
  tmp_so="$HERE/build/.sim-preload.$$.so"
  "${CC:-cc}" -shared -fPIC -O2 -Wall -o "$tmp_so" "$SRC" -ldl -lpthread || die "cannot build the shim (is a C compiler installed? apt-get install gcc)"
  mv -f "$tmp_so" "$SO" || die "cannot install $SO"
fi

# 2. the model server
if [ -n "${FS3BURN_SIM_SERVE:-}" ]; then
  read -r -a serve_cmd <<< "$FS3BURN_SIM_SERVE"
else
  [ -f "$ROOT/dist/cli/main.js" ] || die "$ROOT/dist is missing: build the project first (npx tsc -p .)"
  if grep -q registerSimCommands "$ROOT/dist/cli/program.js" 2>/dev/null; then
    serve_cmd=(node "$ROOT/dist/cli/main.js" sim serve)
  else
    # a build whose CLI does not have `sim` yet: the same command, registered on its own
    [ -f "$ROOT/dist/cli/sim-command.js" ] || die "$ROOT/dist/cli/sim-command.js is missing: build the project first (npx tsc -p .)"
    serve_cmd=(node --input-type=module -e '
      import { Command } from "commander";
      import { registerSimCommands } from "./dist/cli/sim-command.js";
      const p = new Command().exitOverride();
      registerSimCommands(p);
      try { await p.parseAsync(process.argv.slice(1), { from: "user" }); }
      catch (e) { process.stderr.write(`-E- ${e.message}\n`); process.exitCode = e.exitCode ?? 1; }
    ' -- sim serve)
  fi
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/fs3burn-sim.XXXXXX")" || die "mktemp failed"
sock="$work/card.sock"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

(cd "$ROOT" && exec "${serve_cmd[@]}" --socket "$sock" "${server_args[@]}") > "$work/server.out" 2> "$work/server.err" &
server_pid=$!
ready=0
for _ in $(seq 1 600); do
  if grep -q '^listening ' "$work/server.out" 2>/dev/null && [ -S "$sock" ]; then
    ready=1
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.05
done
if [ $ready != 1 ]; then
  cat "$work/server.err" >&2
  die "the simulated card did not start (${serve_cmd[*]} --socket $sock ${server_args[*]})"
fi
[ $verbose = 1 ] && sed 's/^/with-sim: /' "$work/server.out" >&2

# 3. the command, with the fake PCI function
LD_PRELOAD="$SO${LD_PRELOAD:+:$LD_PRELOAD}" FS3BURN_SIM_SOCKET="$sock" FS3BURN_SIM_PCI="$pci" "$@"
status=$?

# 4. statistics, then stop the server (it saves the state file)
if [ -n "$stats_file" ]; then
  node --input-type=module -e '
    const [, sockPath, out, mod] = process.argv;
    const { SimClient } = await import(mod);
    const c = await SimClient.connect(sockPath);
    const s = await c.stats();
    await c.close();
    (await import("node:fs")).writeFileSync(out, JSON.stringify(s, null, 2) + "\n");
  ' "$sock" "$stats_file" "$ROOT/dist/sim/server.js" || echo "with-sim: could not read the statistics" >&2
fi
kill -TERM "$server_pid" 2>/dev/null
wait "$server_pid" 2>/dev/null
server_status=$?
server_pid=""
if [ $server_status != 0 ] && [ $server_status != 143 ]; then
  cat "$work/server.err" >&2
  echo "with-sim: the server ended with status $server_status" >&2
fi
[ $verbose = 1 ] && sed 's/^/with-sim: /' "$work/server.err" >&2
exit $status
