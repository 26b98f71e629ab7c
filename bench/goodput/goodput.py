#!/usr/bin/env python3
"""Goodput benchmark: sluice --headless against sluice-sim, with and without the limits configured.

For each scenario this starts a fresh `sluice-sim` with the scenario's limits, latency and faults, generates the
workload (workload.py), runs `sluice --headless` on it once with the limits given on the command line
("configured") and once with none ("learned": Sluice must learn them from the response headers), and computes,
from the result lines' "sluice" metadata and the simulator's GET /stats:

  goodput   = (ok / N) x ideal makespan / actual makespan
  ideal     = (U - burst) / rate + one mean latency, for the binding limit: U its units in the whole run (N
              requests, or the input / output tokens the server counted), rate = limit / 60 per second,
              burst = limit / 60 x the enforcement window (what a full bucket lets through at once)
  actual    = when the last result was written, from the start of the run (max of sluice.finished_ms)
  429s      = the simulator's rate_limited.total
  lost      = input lines without a succeeded result
  queue wait p50 / p99 = from sluice.queue_wait_ms over every result

Targets (issue 4): every request succeeds; configured: 0 x 429 and goodput >= 0.98; learned: goodput >= 0.95
and 429s <= 1 % of N. A scenario with faults spends part of the rate on attempts that fail, so its goodput
cannot reach 1 against an ideal that counts only the work itself: the table also shows the ceiling, U / what
the server charged on the binding limit (every admitted attempt for requests and input tokens, the output of
truncated replies too for output tokens), and goodput (charged) against an ideal over what the server charged.

Usage: goodput.py --sluice PATH --sim PATH [--only NAME ...] [--markdown] [--keep DIR]
"""

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import workload  # noqa: E402

LATENCY_MS = 200  # mean time to the first byte at the simulator
JITTER_MS = 50    # +- uniform
WINDOW_S = 1.0    # the simulator enforces each per-minute limit over 1 s (burst = limit / 60)


@dataclass
class Scenario:
    name: str
    count: int
    binding: str                 # "requests", "input_tokens" or "output_tokens"
    limit_per_minute: float
    input_tokens: int = 20       # per request (mean)
    spread: int = 0
    max_tokens: int = 64
    sim_args: list = field(default_factory=list)   # beyond the limit, latency and seed
    sluice_config: dict = field(default_factory=dict)  # a config file for both runs (e.g. a short timeout)

    def sim_limit_flag(self):
        return {"requests": "--rpm", "input_tokens": "--input-tpm", "output_tokens": "--output-tpm"}[self.binding]

    def sluice_limit_flag(self):
        return {"requests": "--rpm", "input_tokens": "--input-tpm", "output_tokens": "--output-tpm"}[self.binding]


# The fault scenarios' config: stalls end at a 3 s request timeout, and 8 retries (9 attempts) because with 22 %
# of attempts failing, 5 attempts would lose one request in about 2,000 (0.22^5), 9 attempts one in a million.
FAULT_CONFIG = {"transport": {"request_timeout_ms": 3000}, "backoff": {"max_attempts": 9}}

SCENARIOS = [
    Scenario("request-bound", 400, "requests", 1200),
    Scenario("input-token-bound", 120, "input_tokens", 60000, input_tokens=260, spread=10),
    # Every reply is exactly 100 tokens and max_tokens is 100, so the reservation equals the charge.
    Scenario("output-token-bound", 120, "output_tokens", 24000, max_tokens=100,
             sim_args=["--output-tokens", "100"]),
    # The request-bound limits plus 22 % faults; stalls end at the 3 s request timeout.
    Scenario("fault-mix", 400, "requests", 1200,
             sim_args=["--p500", "0.10", "--p529", "0.05", "--p-reset", "0.05", "--p-stall", "0.01",
                       "--p-malformed", "0.01"],
             sluice_config=FAULT_CONFIG),
    # The same faults where output tokens bind: a failed attempt produces nothing, so (as at the API, where
    # output is settled to what was produced) it costs the binding limit only while its reservation is held.
    Scenario("fault-mix-output", 120, "output_tokens", 24000, max_tokens=100,
             sim_args=["--output-tokens", "100", "--p500", "0.10", "--p529", "0.05", "--p-reset", "0.05",
                       "--p-stall", "0.01", "--p-malformed", "0.01"],
             sluice_config=FAULT_CONFIG),
]


def start_sim(sim_path, scenario):
    args = [sim_path, "--port", "0", scenario.sim_limit_flag(), str(scenario.limit_per_minute),
            "--window", str(WINDOW_S), "--latency-ms", str(LATENCY_MS), "--jitter-ms", str(JITTER_MS),
            "--seed", "7"] + scenario.sim_args
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()  # "listening on 127.0.0.1:PORT"
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"sluice-sim did not start: {line} {proc.stderr.read()}")
    return proc, int(line.rsplit(":", 1)[1])


def sim_stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as r:
        return json.load(r)


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def run_one(sluice_path, sim_path, scenario, configured, work):
    tag = f"{scenario.name}-{'configured' if configured else 'learned'}"
    inp = work / f"{scenario.name}.jsonl"
    if not inp.exists():
        with inp.open("w") as f:
            for line in workload.lines(scenario.count, scenario.input_tokens, scenario.spread,
                                       scenario.max_tokens, "claude-sim", 1):
                f.write(json.dumps(line, separators=(",", ":")) + "\n")
    out = work / f"{tag}.out.jsonl"
    log = work / f"{tag}.stderr.txt"

    sim, port = start_sim(sim_path, scenario)
    try:
        args = [sluice_path, "--headless", "--input", str(inp), "--output", str(out),
                "--base-url", f"http://127.0.0.1:{port}", "--burst-seconds", str(WINDOW_S)]
        if configured:
            args += [scenario.sluice_limit_flag(), str(scenario.limit_per_minute)]
        if scenario.sluice_config:
            cfg = work / f"{scenario.name}.config.json"
            cfg.write_text(json.dumps(scenario.sluice_config))
            args += ["--config", str(cfg)]
        env = {k: v for k, v in os.environ.items()
               if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "ANTHROPIC_BASE_URL")}
        env["ANTHROPIC_API_KEY"] = "bench-key"  # the simulator accepts any key
        started = time.monotonic()
        with log.open("w") as err:
            code = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=err, env=env, timeout=900).returncode
        wall = time.monotonic() - started
        stats = sim_stats(port)
    finally:
        sim.terminate()
        try:
            sim.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sim.kill()

    results = [json.loads(l) for l in out.read_text().splitlines() if l.strip()]
    lines_ok = {r["sluice"]["line"] for r in results if r["result"]["type"] == "succeeded"}
    ok = len(lines_ok)
    n = scenario.count
    succeeded = [r for r in results if r["result"]["type"] == "succeeded"]
    mean_latency = statistics.mean(r["sluice"]["latency_ms"] for r in succeeded) / 1000.0 if succeeded else 0.0
    if scenario.binding == "requests":
        units = n
    elif scenario.binding == "input_tokens":
        units = sum(r["result"]["message"]["usage"]["input_tokens"] for r in succeeded)
    else:
        units = sum(r["result"]["message"]["usage"]["output_tokens"] for r in succeeded)
    rate = scenario.limit_per_minute / 60.0
    burst = rate * WINDOW_S
    ideal = (units - burst) / rate + mean_latency
    actual = max((r["sluice"]["finished_ms"] for r in results), default=0) / 1000.0
    goodput = (ok / n) * ideal / actual if actual > 0 else 0.0

    # Faults: the binding limit also paid for what failed attempts cost at the server (every admitted
    # attempt for requests and input tokens; the output of a truncated reply for output tokens), which no
    # scheduler can avoid. `charged` is what the server counted on the binding limit; the ceiling is
    # units / charged, and goodput (charged) uses an ideal over `charged` instead of `units`.
    admitted = stats.get("admitted", n)
    charged = {"requests": admitted,
               "input_tokens": stats.get("input_tokens_admitted", units),
               "output_tokens": stats.get("output_tokens_produced", units)}[scenario.binding]
    charged = max(charged, units)
    ceiling = min(1.0, units / charged) if charged else 1.0
    ideal_charged = (charged - burst) / rate + mean_latency
    goodput_charged = (ok / n) * ideal_charged / actual if actual > 0 else 0.0

    waits = [r["sluice"]["queue_wait_ms"] / 1000.0 for r in results]
    rate_limited = stats.get("rate_limited", {}).get("total", 0)
    attempts = sum(r["sluice"]["attempts"] for r in results)
    if configured:
        met = ok == n and rate_limited == 0 and goodput >= 0.98
    else:
        met = ok == n and goodput >= 0.95 and rate_limited <= 0.01 * n
    return {
        "scenario": scenario.name, "limits": "configured" if configured else "learned", "exit": code,
        "n": n, "ok": ok, "lost": n - ok, "rate_limited": rate_limited, "retries": attempts - len(results),
        "admitted": admitted, "faults": stats.get("faults", {}),
        "actual_s": actual, "wall_s": wall, "ideal_s": ideal, "mean_latency_s": mean_latency,
        "goodput": goodput, "ceiling": ceiling, "charged": charged, "goodput_charged": goodput_charged,
        "wait_p50_s": percentile(waits, 50), "wait_p99_s": percentile(waits, 99),
        "targets_met": met, "output": str(out), "stderr": str(log),
    }


HEADER = ["scenario", "limits", "N", "ok", "lost", "429s", "retries", "makespan s", "ideal s", "goodput",
          "ceiling", "goodput (charged)", "wait p50 s", "wait p99 s", "targets"]


def row(r):
    return [r["scenario"], r["limits"], str(r["n"]), str(r["ok"]), str(r["lost"]), str(r["rate_limited"]),
            str(r["retries"]), f"{r['actual_s']:.2f}", f"{r['ideal_s']:.2f}", f"{r['goodput']:.3f}",
            f"{r['ceiling']:.3f}", f"{r['goodput_charged']:.3f}", f"{r['wait_p50_s']:.2f}",
            f"{r['wait_p99_s']:.2f}", "met" if r["targets_met"] else "MISSED"]


def print_table(results, markdown):
    rows = [row(r) for r in results]
    if markdown:
        print("| " + " | ".join(HEADER) + " |")
        print("|" + "|".join("---" for _ in HEADER) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADER)]
    print("  ".join(h.ljust(w) for h, w in zip(HEADER, widths)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sluice", required=True, help="the sluice executable")
    p.add_argument("--sim", required=True, help="the sluice-sim executable")
    p.add_argument("--only", action="append", help="run only this scenario (repeatable)")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--keep", help="keep workloads, outputs and logs in this directory")
    p.add_argument("--json", help="also write every figure to this JSON file")
    a = p.parse_args()

    scenarios = [s for s in SCENARIOS if not a.only or s.name in a.only]
    if not scenarios:
        p.error(f"no such scenario; choose from {', '.join(s.name for s in SCENARIOS)}")
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="sluice-goodput-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for s in scenarios:
            for configured in (True, False):
                r = run_one(a.sluice, a.sim, s, configured, work)
                results.append(r)
                print(f"goodput: {r['scenario']} ({r['limits']}): goodput {r['goodput']:.3f}, "
                      f"{r['ok']}/{r['n']} ok, {r['rate_limited']} x 429, {r['actual_s']:.1f} s "
                      f"(ideal {r['ideal_s']:.1f} s), exit {r['exit']}", file=sys.stderr, flush=True)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print_table(results, a.markdown)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2))
    return 0 if all(r["targets_met"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
