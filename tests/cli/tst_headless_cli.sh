#!/usr/bin/env bash
# Runs `sluice --headless` as a user would: no display (DISPLAY, WAYLAND_DISPLAY and QT_QPA_PLATFORM unset, so
# creating a QApplication would abort), no API key and no base URL (so it runs against the built-in simulator and
# nothing can reach the real API). Checks exit codes (0 / 1 / 2 / 130), that every input line gets exactly one
# result, and that the demo-mode notice is printed. Every wait is bounded.
# Usage: tst_headless_cli.sh PATH/TO/sluice
set -u
SLUICE=${1:?usage: $0 PATH/TO/sluice}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "PASS: $*"; }

# sluice with a clean environment: no display, no key, no base URL.
run_sluice() {
    env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM -u ANTHROPIC_API_KEY -u ANTHROPIC_BASE_URL \
        timeout 60 "$SLUICE" "$@"
}

request() { # custom_id [priority]
    printf '{"custom_id":"%s","priority":%s,"params":{"model":"claude-sim","max_tokens":32,"messages":[{"role":"user","content":"Say hello to %s"}]}}\n' \
        "$1" "${2:-0}" "$1"
}

expect_code() { # name expected actual
    if [ "$3" -eq "$2" ]; then pass "$1: exit $3"; else fail "$1: exit $3, expected $2"; fi
}

expect_lines() { # name file expected
    local n
    n=$(grep -c '' "$2" 2>/dev/null || true)
    if [ "$n" -eq "$3" ]; then pass "$1: $n result lines"; else fail "$1: $n result lines, expected $3"; fi
}

# 1. A small good batch: exit 0, one succeeded result per line, the demo notice on stderr.
for i in 1 2 3 4 5; do request "ok-$i" "$i"; done >"$WORK/good.jsonl"
run_sluice --headless --input "$WORK/good.jsonl" --output "$WORK/good.out" 2>"$WORK/good.err"
expect_code "good batch" 0 $?
expect_lines "good batch" "$WORK/good.out" 5
n=$(grep -c '"type":"succeeded"' "$WORK/good.out")
[ "$n" -eq 5 ] && pass "good batch: 5 succeeded" || fail "good batch: $n succeeded, expected 5"
grep -q 'running against the built-in simulator (demo mode) at http://127.0.0.1:' "$WORK/good.err" &&
    pass "demo notice" || { fail "demo notice missing"; cat "$WORK/good.err"; }
grep -q '"sluice":{"attempts":1,' "$WORK/good.out" && pass "metadata present" || fail "metadata missing"

# 2. A malformed line: exit 1; it gets an errored result naming its line; the others still succeed.
{ request a-1; request a-2; echo '{"custom_id": "a-3", "params": '; echo; request a-4; } >"$WORK/bad.jsonl"
run_sluice --headless --input "$WORK/bad.jsonl" --output "$WORK/bad.out" 2>"$WORK/bad.err"
expect_code "malformed line" 1 $?
expect_lines "malformed line" "$WORK/bad.out" 4 # the blank line 4 gets no result
grep -q '"message":"line 3: not JSON' "$WORK/bad.out" && pass "errored result names line 3" ||
    { fail "no errored result naming line 3"; cat "$WORK/bad.out"; }
n=$(grep -c '"type":"succeeded"' "$WORK/bad.out")
[ "$n" -eq 3 ] && pass "malformed line: the other 3 succeeded" || fail "malformed line: $n succeeded, expected 3"

# 3. Results to standard output with --output -.
run_sluice --headless --input "$WORK/good.jsonl" --output - >"$WORK/stdout.out" 2>/dev/null
expect_code "output to stdout" 0 $?
expect_lines "output to stdout" "$WORK/stdout.out" 5

# 4. Bad usage or configuration: exit 2 with a message naming the problem, nothing written.
check_usage() { # name expected-message args...
    local name=$1 message=$2
    shift 2
    run_sluice "$@" >"$WORK/usage.out" 2>"$WORK/usage.err"
    expect_code "$name" 2 $?
    grep -qF -- "$message" "$WORK/usage.err" && pass "$name: says \"$message\"" ||
        { fail "$name: message \"$message\" missing"; cat "$WORK/usage.err"; }
}
check_usage "unknown flag" "Unknown option 'no-such-flag'" --headless --no-such-flag
check_usage "no --output" "--headless needs --output" --headless --input "$WORK/good.jsonl"
check_usage "bad --rpm" '--rpm: "abc" is not a number' --headless --rpm abc --input "$WORK/good.jsonl" --output "$WORK/x.out"
check_usage "missing input" "--input $WORK/nope.jsonl" --headless --input "$WORK/nope.jsonl" --output "$WORK/x.out"
check_usage "output overwrites input" "is the input file" --headless --input "$WORK/good.jsonl" --output "$WORK/good.jsonl"
check_usage "--input without --headless" "--input is for headless mode" --input "$WORK/good.jsonl"

# 5. SIGINT: exit 130, and every line is accounted for (finished ones as results, the rest as canceled).
for i in $(seq 1 100); do request "int-$i"; done >"$WORK/many.jsonl"
env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM -u ANTHROPIC_API_KEY -u ANTHROPIC_BASE_URL \
    "$SLUICE" --headless --input "$WORK/many.jsonl" --output "$WORK/many.out" 2>"$WORK/many.err" &
pid=$!
for _ in $(seq 1 100); do # until the first result is written (at most 10 s)
    [ -s "$WORK/many.out" ] && break
    sleep 0.1
done
kill -INT "$pid"
code=124
for _ in $(seq 1 150); do # at most 15 s: 5 s grace plus margin
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid"
        code=$?
        break
    fi
    sleep 0.1
done
[ "$code" -eq 124 ] && kill -KILL "$pid" 2>/dev/null
expect_code "SIGINT" 130 "$code"
expect_lines "SIGINT" "$WORK/many.out" 100
n=$(grep -c '"type":"canceled"' "$WORK/many.out")
[ "$n" -ge 1 ] && pass "SIGINT: $n canceled" || fail "SIGINT: no canceled results"
grep -q '"reason":"interrupted before it was sent"' "$WORK/many.out" && pass "SIGINT: canceled with a reason" ||
    fail "SIGINT: no reason"

if [ "$failures" -gt 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks passed"
