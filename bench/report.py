#!/usr/bin/python3
"""Tables from a bench/run.sh results file (one JSON object a line:
{"round", "label", "workload", "status", "result"}).

    report.py RESULTS.jsonl

For each op workload: client, runs, ops/s, p50/p99 latency, CPU us per op (user+sys of the client
process, all its threads), peak RSS, and the client's ratios to the bare ceiling and to the
C client. Medians over rounds, except peak RSS (max over rounds).
For idle: sessions, RSS, RSS per session above the process's own baseline, CPU over the hold,
threads.
"""
import json
import statistics
import sys

ORDER = ["bare", "c", "swift", "swift-io", "kazoo", "luasocket-lua5.1", "luasocket-luajit", "lua-lua5.1", "lua-luajit"]
OP_WORKLOADS = ["exists", "get", "set", "pexists", "pget"]
TITLES = {
    "exists": "exists, sequential (one request in flight)",
    "get": "getData 100 B, sequential",
    "set": "setData 100 B, sequential",
    "pexists": "exists, pipelined (window of outstanding requests)",
    "pget": "getData 100 B, pipelined (window of outstanding requests)",
    "idle": "idle sessions held by one process",
}


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def order_key(label):
    return (ORDER.index(label) if label in ORDER else len(ORDER), label)


def fmt(v, spec, none="-"):
    return none if v is None else format(v, spec)


def table(headers, rows, align):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    def line(cells):
        return "  ".join(str(c).rjust(w) if a == "r" else str(c).ljust(w)
                         for c, w, a in zip(cells, widths, align))
    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def main():
    recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    by = {}
    failures = {}
    for r in recs:
        key = (r["workload"], r["label"])
        if r.get("status") == 0 and r.get("result"):
            by.setdefault(key, []).append(r["result"])
        elif r.get("status") != 2:   # 2 = the peer does not support this workload
            failures[key] = failures.get(key, 0) + 1

    for w in OP_WORKLOADS + ["idle"]:
        labels = sorted({l for (ww, l) in list(by) + list(failures) if ww == w}, key=order_key)
        if not labels:
            continue
        window = None
        print(f"\n== {w}: {TITLES[w]}")
        if w != "idle":
            summary = {}
            for l in labels:
                rs = by.get((w, l), [])
                if not rs:
                    continue
                window = window or rs[0].get("window")
                summary[l] = {
                    "runs": len(rs),
                    "ops_s": med([r["ops"] / r["seconds"] for r in rs if r["seconds"] > 0]),
                    "p50": med([r.get("p50_us") for r in rs]),
                    "p99": med([r.get("p99_us") for r in rs]),
                    "cpu_op": med([(r["cpu_user_s"] + r["cpu_sys_s"]) * 1e6 / r["ops"] for r in rs if r["ops"]]),
                    "rss": max(r.get("max_rss_kb", 0) for r in rs),
                    "errors": sum(r.get("errors", 0) for r in rs),
                }
            base = summary.get("bare", {}).get("ops_s")
            cref = summary.get("c", {})
            rows = []
            for l in labels:
                s = summary.get(l)
                if not s:
                    rows.append([l, f"0 ({failures.get((w, l), 0)} failed)"] + ["-"] * 9)
                    continue
                runs = str(s["runs"]) + (f" ({failures[(w, l)]} failed)" if (w, l) in failures else "")
                rows.append([
                    l, runs, fmt(s["ops_s"], ",.0f"), fmt(s["p50"], ",.0f"), fmt(s["p99"], ",.0f"),
                    fmt(s["cpu_op"], ".1f"), fmt(s["rss"] / 1024, ".1f"),
                    fmt(s["ops_s"] / base if base else None, ".2f"),
                    fmt(s["ops_s"] / cref["ops_s"] if cref.get("ops_s") else None, ".2f"),
                    fmt(s["cpu_op"] / cref["cpu_op"] if cref.get("cpu_op") else None, ".2f"),
                    str(s["errors"]),
                ])
            if window and window > 1:
                print(f"   window={window} outstanding; latency = send to completion")
            print(table(["client", "runs", "ops/s", "p50 us", "p99 us", "CPU us/op", "peak RSS MB",
                         "ops/s vs bare", "ops/s vs c", "CPU/op vs c", "errors"], rows, "lrrrrrrrrrr"))
        else:
            rows = []
            cref = None
            summ = {}
            for l in labels:
                rs = by.get((w, l), [])
                if not rs:
                    continue
                per_sess = med([(r["rss_kb"] - r.get("base_rss_kb", 0)) / max(1, r["connected"]) for r in rs])
                summ[l] = {
                    "runs": len(rs),
                    "sessions": med([r["connected"] for r in rs]),
                    "requested": max(r["sessions"] for r in rs),
                    "rss": med([r["rss_kb"] for r in rs]),
                    "per": per_sess,
                    "cpu_pct": med([(r["cpu_user_s"] + r["cpu_sys_s"]) / r["seconds"] * 100 for r in rs if r["seconds"] > 0]),
                    "threads": med([r.get("threads") for r in rs]),
                    "hold": med([r["seconds"] for r in rs]),
                    "tmo": rs[0].get("session_timeout_ms"),
                    "alive": min(r.get("alive_after", r["connected"]) for r in rs),
                }
            cref = summ.get("c")
            for l in labels:
                s = summ.get(l)
                if not s:
                    rows.append([l, f"0 ({failures.get((w, l), 0)} failed)"] + ["-"] * 8)
                    continue
                runs = str(s["runs"]) + (f" ({failures[(w, l)]} failed)" if (w, l) in failures else "")
                rows.append([
                    l, runs, f"{s['sessions']:.0f}/{s['requested']}", fmt(s["hold"], ".1f"),
                    fmt(s["rss"] / 1024, ".1f"), fmt(s["per"], ".1f"), fmt(s["cpu_pct"], ".2f"),
                    fmt(s["threads"], ".0f"),
                    fmt(s["per"] / cref["per"] if cref and cref["per"] else None, ".2f"),
                    fmt(s["cpu_pct"] / cref["cpu_pct"] if cref and cref["cpu_pct"] else None, ".2f"),
                ])
            tmo = next(iter(summ.values()))["tmo"] if summ else None
            print(f"   session timeout {tmo} ms (pings every ~1/3 of it); CPU = user+sys over the hold")
            print(table(["client", "runs", "connected", "hold s", "RSS MB", "KB/session",
                         "CPU % core", "threads", "KB/sess vs c", "CPU vs c"], rows, "lrrrrrrrrr"))
    if failures:
        print("\nfailed runs (see the log): " + ", ".join(f"{l}/{w} x{n}" for (w, l), n in sorted(failures.items())))


if __name__ == "__main__":
    main()
