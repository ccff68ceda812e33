"""Embedded redis-server latencies: cold start, attach (ensure_running on a live server),
connect() through the embedded path, stop. Usage: python benchmarks/embedded_start.py [N]"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

import dmq_tools as dmq
from dmq_tools import embedded


def main(n: int = 200) -> None:
    with tempfile.TemporaryDirectory(prefix="dmq-bench-") as tmp:
        data_dir = os.path.join(tmp, "dmq")
        t0 = time.perf_counter()
        embedded.ensure_running(data_dir)
        cold = time.perf_counter() - t0
        try:
            attach = []
            for _ in range(n):
                t0 = time.perf_counter()
                embedded.ensure_running(data_dir)
                attach.append(time.perf_counter() - t0)
            os.environ["DMQ_DATA_DIR"] = data_dir
            conn = []
            for _ in range(n):
                t0 = time.perf_counter()
                dmq.connect().close()
                conn.append(time.perf_counter() - t0)
        finally:
            t0 = time.perf_counter()
            embedded.stop(data_dir)
            stopped = time.perf_counter() - t0
    print(f"cold start: {cold * 1e3:.1f} ms")
    print(f"attach (ensure_running, live server): median {statistics.median(attach) * 1e3:.2f} ms over {n}")
    print(f"connect() via embedded: median {statistics.median(conn) * 1e3:.2f} ms over {n}")
    print(f"stop: {stopped * 1e3:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
