#!/usr/bin/python3
"""Peer client for scripts/bench.sh: N concurrent streamed chat requests with
aiohttp (Debian python3-aiohttp), parsing every data line with json.loads and
assembling each reply, as a typical asyncio client does.

usage: peer_aiohttp.py URL BODY_JSON_FILE STREAMS
Prints "chunks=<n> replies=<n> errors=<n>".
"""
import asyncio
import json
import sys

import aiohttp


async def one(session, url, body, counts):
    content = []
    async with session.post(url, data=body,
                            headers={"Content-Type": "application/json"}) as r:
        if r.status != 200:
            counts["errors"] += 1
            return
        async for raw in r.content:  # one line at a time
            line = raw.strip()
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                break
            chunk = json.loads(data)
            counts["chunks"] += 1
            for choice in chunk.get("choices") or []:
                text = (choice.get("delta") or {}).get("content")
                if text:
                    content.append(text)
    counts["replies"] += 1
    counts["bytes"] += len("".join(content))


async def main():
    url, body_file, streams = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(body_file, "rb") as f:
        body = f.read()
    counts = {"chunks": 0, "replies": 0, "errors": 0, "bytes": 0}
    connector = aiohttp.TCPConnector(limit=streams)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=timeout) as session:
        await asyncio.gather(*(one(session, url, body, counts)
                               for _ in range(streams)))
    print("chunks=%d replies=%d errors=%d" %
          (counts["chunks"], counts["replies"], counts["errors"]))


asyncio.run(main())
