"""A server that answers every POST with a fixed GetIndex body after sleeping --latency-ms:
the emulator's latency without its work. bench_refresh.py runs it in its own process to
show how much of a request's time at full concurrency is the emulator's CPU.

    python tests/bench/_bare_server.py PORT LATENCY_MS
"""

from __future__ import annotations

import asyncio
import json
import sys

BODY = json.dumps({"index": {"vectorBucketName": "bench-000", "indexName": "idx-0000", "indexTrn": "trn:x",
                             "creationTime": 0, "dataType": "float32", "dimension": 384,
                             "distanceMetric": "cosine"}}).encode()
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(BODY)


async def main(port: int, latency: float) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                await asyncio.sleep(latency)
                writer.write(HEAD + BODY)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2]) / 1000))
