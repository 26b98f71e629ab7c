#!/usr/bin/env python3
"""Generates a Message Batches JSONL workload for the goodput benchmark.

Each line is {"custom_id": "w-N", "params": {...}} with one user message whose input-token count, by the
published heuristic that Sluice and sluice-sim share (3 framing + 4 per message + ceil(characters / 4)), is
`--input-tokens` give or take `--spread`. The text is drawn from a fixed word list with a seeded generator, so the
same arguments always give the same file.

Example: workload.py --count 120 --input-tokens 260 --spread 10 --max-tokens 64 > w.jsonl
  -> 120 lines of 250..270 input tokens each (about 31,200 in all).
"""

import argparse
import json
import math
import random
import sys

WORDS = ("river mill gate water level channel stone reed heron current token bucket measure pace wheel "
         "valley rain quiet bright flow admits waits turns keeps along through every second").split()

FRAMING_TOKENS = 3 + 4  # request framing + one message


def estimate_tokens(text: str) -> int:
    """The heuristic of core/tokenestimator.h for one user message with string content."""
    return FRAMING_TOKENS + math.ceil(len(text) / 4)


def prompt_of(rng: random.Random, tokens: int) -> str:
    chars = max(1, (tokens - FRAMING_TOKENS) * 4)
    words = []
    length = -1
    while length < chars:
        w = rng.choice(WORDS)
        words.append(w)
        length += len(w) + 1
    text = " ".join(words)[:chars]
    return text


def lines(count: int, input_tokens: int, spread: int, max_tokens: int, model: str, seed: int):
    rng = random.Random(seed)
    for i in range(1, count + 1):
        target = input_tokens + (rng.randint(-spread, spread) if spread > 0 else 0)
        text = prompt_of(rng, max(FRAMING_TOKENS + 1, target))
        yield {
            "custom_id": f"w-{i}",
            "params": {"model": model, "max_tokens": max_tokens,
                       "messages": [{"role": "user", "content": text}]},
        }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, required=True, help="requests (lines)")
    p.add_argument("--input-tokens", type=int, default=20, help="mean input tokens per request")
    p.add_argument("--spread", type=int, default=0, help="+- uniform spread of input tokens")
    p.add_argument("--max-tokens", type=int, default=64, help="max_tokens of each request")
    p.add_argument("--model", default="claude-sim")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    out = sys.stdout
    for line in lines(a.count, a.input_tokens, a.spread, a.max_tokens, a.model, a.seed):
        out.write(json.dumps(line, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
