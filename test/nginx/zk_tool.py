#!/usr/bin/python3
"""Helpers of the real-nginx suites (test/nginx/openresty.sh, run.sh): HTTP load and
long-polls against nginx, and ZooKeeper reads/writes through kazoo, an independent client.

  zk_tool.py get-many PORT TIMEOUT_S OUT < paths
      one thread and one connection per path (a line of stdin); writes one JSON object per
      request to OUT: {"i", "path", "status", "ms", "body"} once all answered.
  zk_tool.py latency PORT PATH N
      N sequential GETs, each on a new connection; prints the times (ms) and "max=<ms>".
  zk_tool.py load PORT REQUESTS CONCURRENCY
      REQUESTS GETs of /ops?op=<op>&id=<i> over CONCURRENCY keep-alive connections; every
      answer must be 200 with a body starting "ok <op> <i> "; prints key=value lines.
  zk_tool.py zk HOSTS COMMAND ARGS...
      create PATH [DATA] | create-many PREFIX FIRST LAST | set-many PREFIX FIRST LAST DATA |
      set PATH DATA | delete PATH |
      exists PATH... | owner PATH... | children PATH | tree PATH
  zk_tool.py signal-gone HOSTS PID SIGNAL TIMEOUT_S PATH...
      checks that every PATH exists, sends SIGNAL to PID, then polls until each is gone;
      prints "gone PATH MS" (ms after the signal) or "held PATH".
"""
import http.client
import json
import logging
import os
import signal
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


# ---- ZooKeeper through kazoo ---------------------------------------------------------------

def kazoo(hosts, timeout=20):
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=hosts, timeout=10, connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1},
                     command_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1, "deadline": timeout})
    zk.start(timeout=timeout)
    return zk


def zk_command(hosts, cmd, args):
    from kazoo.exceptions import NoNodeError
    zk = kazoo(hosts)
    try:
        if cmd == "create":
            zk.create(args[0], (args[1] if len(args) > 1 else "").encode(), makepath=True)
            print("created " + args[0])
        elif cmd == "create-many":
            prefix, first, last = args[0], int(args[1]), int(args[2])
            zk.ensure_path(prefix.rsplit("/", 1)[0] or "/")
            pending = [zk.create_async("%s%d" % (prefix, i), b"x") for i in range(first, last + 1)]
            for p in pending:
                p.get(timeout=20)
            print("created %d" % len(pending))
        elif cmd == "set-many":
            prefix, first, last, data = args[0], int(args[1]), int(args[2]), args[3].encode()
            pending = [zk.set_async("%s%d" % (prefix, i), data) for i in range(first, last + 1)]
            for p in pending:
                p.get(timeout=20)
            print("set %d" % len(pending))
        elif cmd == "set":
            zk.set(args[0], args[1].encode())
            print("set " + args[0])
        elif cmd == "delete":
            zk.delete(args[0], recursive=True)
            print("deleted " + args[0])
        elif cmd == "exists":
            for path in args:
                print("%s %s" % (path, "yes" if zk.exists(path) else "no"))
        elif cmd == "owner":
            for path in args:
                stat = zk.exists(path)
                print("%s %s" % (path, "0x%x" % stat.ephemeralOwner if stat else "none"))
        elif cmd == "children":
            try:
                print(" ".join(sorted(zk.get_children(args[0]))))
            except NoNodeError:
                print("")
        elif cmd == "tree":
            def walk(path):
                try:
                    children = zk.get_children(path)
                except NoNodeError:
                    return
                for c in sorted(children):
                    child = path.rstrip("/") + "/" + c
                    stat = zk.exists(child)
                    print("%s owner=0x%x" % (child, stat.ephemeralOwner if stat else 0))
                    walk(child)
            walk(args[0])
        else:
            sys.exit("unknown zk command " + cmd)
    finally:
        zk.stop()
        zk.close()


def signal_gone(hosts, pid, signame, timeout, paths):
    zk = kazoo(hosts)
    try:
        missing = [p for p in paths if not zk.exists(p)]
        if missing:
            print("missing-before " + " ".join(missing))
            sys.exit(1)
        t0 = now_ms()
        os.kill(pid, getattr(signal, "SIG" + signame))
        left = dict.fromkeys(paths)
        while left and now_ms() - t0 < timeout * 1000:
            for p in list(left):
                if not zk.exists(p):
                    print("gone %s %.0f" % (p, now_ms() - t0))
                    del left[p]
            time.sleep(0.01)
        for p in left:
            print("held " + p)
    finally:
        zk.stop()
        zk.close()


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
    elif cmd == "zk":
        zk_command(argv[2], argv[3], argv[4:])
    elif cmd == "signal-gone":
        signal_gone(argv[2], int(argv[3]), argv[4], float(argv[5]), argv[6:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
