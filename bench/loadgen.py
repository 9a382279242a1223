"""Load generator run in its own process (so its threads do not share the stack's GIL):
`python -m bench.loadgen URL CONCURRENCY REQUESTS_PER_CLIENT` prints JSON latencies."""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import httpx


def main() -> None:
    url, clients, per_client = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    barrier = threading.Barrier(clients)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        auth = os.environ.get("BENCH_AUTHORIZATION")
        with httpx.Client(timeout=30, headers={"Authorization": auth} if auth else {}) as http:
            try:
                http.get(url)  # warm-up: connection and the function's environment, not measured
            except httpx.HTTPError:
                pass
            barrier.wait()
            for _ in range(per_client):
                start = time.perf_counter()
                try:
                    answer = http.get(url)
                    ok = answer.status_code == 200
                    problem = None if ok else f"HTTP {answer.status_code}"
                except httpx.HTTPError as exc:
                    problem = type(exc).__name__
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if problem:
                        errors.append(problem)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"latencies": latencies, "errors": errors, "seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
