#!/usr/bin/python3
"""Helpers of the real-nginx suites (test/nginx/openresty.sh, run.sh): HTTP load and
long-polls against nginx.

  zk_tool.py get-many PORT TIMEOUT_S OUT < paths
      one thread and one connection per path (a line of stdin); writes one JSON object per
      request to OUT: {"i", "path", "status", "ms", "body"} once all answered.
  zk_tool.py latency PORT PATH N
      N sequential GETs, each on a new connection; prints the times (ms) and "max=<ms>".
  zk_tool.py load PORT REQUESTS CONCURRENCY
      REQUESTS GETs of /ops?op=<op>&id=<i> over CONCURRENCY keep-alive connections; every
      answer must be 200 with a body starting "ok <op> <i> "; prints key=value lines.
  zk_tool.py blackhole
      a loopback port where connecting hangs (a listener whose accept queue is kept full, so
      the kernel drops new SYNs), as a server behind a dead route; prints the port, then waits.
  zk_tool.py silent
      a loopback port that accepts connections and reads them but never answers, as a frozen
      server; prints the port, then "heard <first bytes>" for each connection, until killed.

ZooKeeper reads and writes through kazoo are test/kazoo_peer.py's (the suites' one kazoo helper).
"""
import http.client
import json
import logging
import os
import socket
import sys
import threading
import time

logging.basicConfig(level=logging.CRITICAL)


def now_ms():
    return time.monotonic() * 1000.0


# ---- HTTP ----------------------------------------------------------------------------------

def get_many(port, timeout, out, paths):
    results = [None] * len(paths)
    started = threading.Barrier(len(paths) + 1) if paths else None

    def run(i, path):
        t0 = now_ms()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            conn.connect()
            started.wait()
            t0 = now_ms()
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read().decode("utf-8", "replace")
            results[i] = {"i": i, "path": path, "status": resp.status, "ms": round(now_ms() - t0, 1), "body": body}
            conn.close()
        except Exception as e:  # noqa: BLE001 - reported per request
            results[i] = {"i": i, "path": path, "status": 0, "ms": round(now_ms() - t0, 1), "body": "exception: %r" % e}
            try:
                started.abort()
            except Exception:  # noqa: BLE001
                pass

    threads = [threading.Thread(target=run, args=(i, p), daemon=True) for i, p in enumerate(paths)]
    for t in threads:
        t.start()
    try:
        started.wait()
    except threading.BrokenBarrierError:
        pass
    for t in threads:
        t.join(timeout + 5)
    with open(out + ".tmp", "w") as f:
        for r in results:
            f.write(json.dumps(r or {"status": 0, "body": "no answer"}) + "\n")
    os.rename(out + ".tmp", out)


def latency(port, path, n):
    times = []
    for _ in range(n):
        t0 = now_ms()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        conn.close()
        if resp.status != 200:
            print("status=%d" % resp.status)
        times.append(now_ms() - t0)
        time.sleep(0.02)
    print("times=" + " ".join("%.1f" % t for t in times))
    print("max=%.1f" % max(times))


OPS = ("full", "get", "full", "seq")


def load(port, total, concurrency):
    lock = threading.Lock()
    state = {"next": 0, "ok": 0, "bad": 0, "failures": [], "sids": {}, "lat": []}

    def take():
        with lock:
            i = state["next"]
            if i >= total:
                return None
            state["next"] = i + 1
            return i

    def worker():
        conn = None
        lat = []
        while True:
            i = take()
            if i is None:
                break
            op = OPS[i % len(OPS)]
            path = "/ops?op=%s&id=%d" % (op, i)
            status, body, err = 0, "", None
            for attempt in (1, 2):
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    t0 = now_ms()
                    conn.request("GET", path)
                    resp = conn.getresponse()
                    body = resp.read().decode("utf-8", "replace")
                    status = resp.status
                    lat.append(now_ms() - t0)
                    break
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                    # nginx closed an idle keep-alive connection: only then try once more.
                    conn, err = None, e
                    if attempt == 2:
                        status, body = 0, "exception: %r" % e
                except Exception as e:  # noqa: BLE001
                    conn, status, body = None, 0, "exception: %r" % e
                    break
            want = "ok %s %d " % (op, i)
            with lock:
                if status == 200 and body.startswith(want):
                    state["ok"] += 1
                    fields = dict(kv.split("=", 1) for kv in body.split() if "=" in kv)
                    key = (fields.get("pid"), fields.get("sid"))
                    state["sids"][key] = state["sids"].get(key, 0) + 1
                else:
                    state["bad"] += 1
                    if len(state["failures"]) < 5:
                        state["failures"].append("%s -> %d %s" % (path, status, body.strip()[:300]))
        with lock:
            state["lat"].extend(lat)

    t0 = now_ms()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = now_ms() - t0
    lat = sorted(state["lat"]) or [0.0]
    print("ok=%d" % state["ok"])
    print("bad=%d" % state["bad"])
    print("elapsed_ms=%.0f" % elapsed)
    print("rps=%.0f" % (total / (elapsed / 1000.0)))
    print("p50_ms=%.1f p99_ms=%.1f max_ms=%.1f" % (lat[len(lat) // 2], lat[int(len(lat) * 0.99)], lat[-1]))
    print("sessions=" + " ".join("%s:%s:%d" % (pid, sid, n) for (pid, sid), n in sorted(state["sids"].items())))
    for f in state["failures"]:
        print("failure=" + f)


# ---- a port that never answers a connect ----------------------------------------------------

def blackhole():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)  # an accept queue of one, never accepted from
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    print(port, flush=True)
    while True:
        time.sleep(3600)


def silent():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(listener.getsockname()[1], flush=True)

    def drain(conn):
        with conn:
            first = conn.recv(4096)
            print("heard " + first.decode("ascii", "replace"), flush=True)
            while conn.recv(4096):
                pass

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=drain, args=(conn,), daemon=True).start()


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd = argv[1]
    if cmd == "get-many":
        paths = [line.strip() for line in sys.stdin if line.strip()]
        get_many(int(argv[2]), float(argv[3]), argv[4], paths)
    elif cmd == "latency":
        latency(int(argv[2]), argv[3], int(argv[4]))
    elif cmd == "load":
        load(int(argv[2]), int(argv[3]), int(argv[4]))
    elif cmd == "blackhole":
        blackhole()
    elif cmd == "silent":
        silent()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
