#!/usr/bin/env python3
"""Writes a JSONL prompt file of N single-turn conversations (issue 12 §2).

    scripts/gen-prompts.py N OUT.jsonl [--job JOB.yaml --endpoint URL]

Each line is one JSON string (one turn), so the rows get the default ids
<stem>-1 .. <stem>-N. With --job, also writes a job file next to it that
reads the prompts and asks the mock for short replies (8 chunks of 8
words). The output is test data: do not commit it.
"""
import argparse
import json
import os

TOPICS = ["the sea", "a lamp", "winter", "a clock", "bread", "a bridge",
          "rain", "a kite", "salt", "a road", "moss", "a bell"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--job", help="also write this job file")
    ap.add_argument("--endpoint", default="http://127.0.0.1:8337/v1/chat/completions")
    ap.add_argument("--concurrency", type=int, default=256)
    args = ap.parse_args()
    with open(args.out, "w", encoding="utf-8") as f:
        for i in range(1, args.n + 1):
            text = f"Prompt {i}: one line about {TOPICS[i % len(TOPICS)]}."
            f.write(json.dumps(text) + "\n")
    if args.job:
        rel = os.path.relpath(os.path.abspath(args.out),
                              os.path.dirname(os.path.abspath(args.job)))
        with open(args.job, "w", encoding="utf-8") as f:
            f.write(f"name: million\n"
                    f"endpoint: {args.endpoint}\n"
                    f"concurrency: {args.concurrency}\n"
                    f"defaults: {{model: \"\", stream: true, mock: {{chunks: 8, words: 8}}}}\n"
                    f"conversations_from: {rel}\n")


if __name__ == "__main__":
    main()
