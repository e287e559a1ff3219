#!/usr/bin/python3
"""kazoo peer (Debian python3-kazoo; run with /usr/bin/python3).

    kazoo_bench.py HOST:PORT WORKLOAD N SECONDS

WORKLOAD: exists | get | set   sequential sync calls: zk.exists / zk.get / zk.set (100 B)
          pexists | pget       exists_async / get_async keeping BENCH_WINDOW (default 1000)
                               requests outstanding (each completion callback issues the next)
Stops after N ops or SECONDS, whichever comes first. Paths: BENCH_PATH (default /bench/node),
BENCH_SET_PATH (default /bench/set). Prints one JSON line on stdout (see bench/run.sh).
"""
import json
import logging
import os
import resource
import sys
import threading
import time

from kazoo.client import KazooClient


def usage():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime, ru.ru_stime, ru.ru_maxrss


def percentile(sorted_v, p):
    if not sorted_v:
        return 0.0
    k = max(0, min(len(sorted_v) - 1, int(-(-p * len(sorted_v) // 100)) - 1))
    return sorted_v[k]


def main():
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    cs, workload, n, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    path = os.environ.get("BENCH_PATH", "/bench/node")
    set_path = os.environ.get("BENCH_SET_PATH", "/bench/set")
    window = int(os.environ.get("BENCH_WINDOW", "1000"))
    if workload not in ("exists", "get", "set", "pexists", "pget"):
        print("kazoo_bench: unsupported workload " + workload, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.ERROR)
    zk = KazooClient(hosts=cs, timeout=30.0)
    zk.start(timeout=30)
    value = b"x" * 100
    lat = []
    errors = 0
    now = time.perf_counter

    u0 = usage()
    t0 = now()
    deadline = t0 + limit
    if not workload.startswith("p"):
        window = 1
        op = {"exists": lambda: zk.exists(path),
              "get": lambda: zk.get(path),
              "set": lambda: zk.set(set_path, value)}[workload]
        append = lat.append
        done = 0
        while done < n:
            ts = now()
            try:
                op()
            except Exception:  # noqa: BLE001 - count, keep going
                errors += 1
            te = now()
            append((te - ts) * 1e6)
            done += 1
            if done & 63 == 0 and te > deadline:
                break
        t_end = now()
    else:
        call = zk.exists_async if workload == "pexists" else zk.get_async
        lock = threading.Lock()
        finished = threading.Event()
        state = {"issued": 0, "done": 0, "errors": 0, "stop": False, "tlast": t0}

        def issue():  # with lock held
            state["issued"] += 1
            ts = now()
            call(path).rawlink(lambda res, ts=ts: completed(res, ts))

        def completed(res, ts):
            te = now()
            with lock:
                lat.append((te - ts) * 1e6)
                if res.exception is not None:
                    state["errors"] += 1
                state["done"] += 1
                state["tlast"] = te
                if not state["stop"] and state["done"] & 63 == 0 and te > deadline:
                    state["stop"] = True
                if not state["stop"] and state["issued"] < n:
                    issue()
                if state["done"] == state["issued"]:
                    finished.set()

        with lock:
            while state["issued"] < min(n, window):
                issue()
        finished.wait(limit + 120)
        with lock:
            errors = state["errors"]
            t_end = state["tlast"]
    u1 = usage()
    zk.stop()
    zk.close()
    lat.sort()
    print(json.dumps({
        "client": "kazoo", "workload": workload, "ops": len(lat), "errors": errors,
        "seconds": round(t_end - t0, 6), "window": window,
        "p50_us": round(percentile(lat, 50), 1), "p99_us": round(percentile(lat, 99), 1),
        "cpu_user_s": round(u1[0] - u0[0], 6), "cpu_sys_s": round(u1[1] - u0[1], 6),
        "max_rss_kb": u1[2]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
