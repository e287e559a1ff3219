#!/usr/bin/python3
"""The table of a bench/nginx/run.sh output directory.

    report.py OUT_DIR

Reads OUT_DIR/runs/<phase>-r<round>-<variant>.{wrk,meta,errors}, writes OUT_DIR/results.jsonl
(one object per run, warm-up runs included with phase "warmup") and prints, over the measured
runs: req/s (200 answers), p50 and p99 latency (medians over rounds), nginx and ZooKeeper CPU per request
(medians), sessions made per request (per-request variants), errors (summed), then the ratios.
"""
import glob
import json
import os
import statistics
import sys

ORDER = ["plain", "dict", "shared", "ours", "original"]
WHAT = {
    "plain": "no ZooKeeper work (ceiling)",
    "dict": "discovery.members (shared dict)",
    "shared": "zk.shared():get_data",
    "ours": "per request: new/connect/get/close",
    "original": "per request: the original's way",
}
ERROR_KEYS = ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(headers, rows, align):
    widths = [max([len(str(h))] + [len(str(r[i])) for r in rows]) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(str(c).rjust(w) if a == "r" else str(c).ljust(w)
                         for c, w, a in zip(cells, widths, align)).rstrip()
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def read_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    return meta


def load(out):
    runs = []
    for meta_path in sorted(glob.glob(os.path.join(out, "runs", "*.meta"))):
        base = meta_path[:-len(".meta")]
        meta = read_meta(meta_path)
        rec = {
            "phase": meta["phase"], "round": int(meta["round"]), "variant": meta["variant"],
            "seconds": float(meta["seconds"]), "wrk_status": int(meta["wrk_status"]),
            "nginx_cpu_s": float(meta["nginx_cpu_s"]), "zk_cpu_s": float(meta["zk_cpu_s"]),
            "sessions_left": int(meta.get("sessions_left", 0)),
            "workers_before": meta.get("workers_before", ""), "workers_after": meta.get("workers_after", ""),
            "wrk": None, "handler_errors": {},
        }
        sb, sa = meta.get("sid_before", "none"), meta.get("sid_after", "none")
        if sb.startswith("0x") and sa.startswith("0x"):
            # ZooKeeper numbers sessions in sequence; the probe after the run is one of them.
            rec["sessions_made"] = int(sa, 16) - int(sb, 16) - 1
        try:
            with open(base + ".wrk") as f:
                for line in f:
                    if line.startswith("WRKJSON "):
                        rec["wrk"] = json.loads(line[len("WRKJSON "):])
        except OSError:
            pass
        try:
            with open(base + ".errors") as f:
                for line in f:
                    if "\t" in line:
                        count, msg = line.rstrip("\n").split("\t", 1)
                        rec["handler_errors"][msg] = int(count)
        except OSError:
            pass
        w = rec["wrk"]
        if w:
            secs = w["duration_us"] / 1e6
            # Successful answers only: a variant failing fast must not look fast.
            rec["req_s"] = (w["requests"] - w["status_errors"]) / secs if secs > 0 else None
            rec["errors"] = sum(w[k] for k in ERROR_KEYS)
        rec["worker_died"] = rec["workers_before"] != rec["workers_after"]
        runs.append(rec)
    return runs


def main():
    out = sys.argv[1]
    runs = load(out)
    with open(os.path.join(out, "results.jsonl"), "w") as f:
        for r in runs:
            f.write(json.dumps(r, sort_keys=True) + "\n")
    measured = [r for r in runs if r["phase"] == "run"]
    variants = sorted({r["variant"] for r in measured}, key=lambda v: (ORDER.index(v) if v in ORDER else 99, v))
    summary = {}
    rows = []
    problems = []
    for v in variants:
        rs = [r for r in measured if r["variant"] == v]
        ok = [r for r in rs if r["wrk"]]
        failed = len(rs) - len(ok)
        errors = sum(r["errors"] for r in ok)
        died = sum(1 for r in rs if r["worker_died"])
        left = max([r["sessions_left"] for r in rs] or [0])
        s = {
            "runs": len(ok),
            "req_s": med([r["req_s"] for r in ok]),
            "p50": med([r["wrk"]["p50_us"] / 1000 for r in ok]),
            "p99": med([r["wrk"]["p99_us"] / 1000 for r in ok]),
            "ngx_cpu": med([r["nginx_cpu_s"] * 1e6 / r["wrk"]["requests"] for r in ok if r["wrk"]["requests"]]),
            "zk_cpu": med([r["zk_cpu_s"] * 1e6 / r["wrk"]["requests"] for r in ok if r["wrk"]["requests"]]),
            "sess": med([r["sessions_made"] / r["wrk"]["requests"] for r in ok
                         if "sessions_made" in r and r["wrk"]["requests"]]),
            "bad": errors > 0 or failed > 0 or died > 0 or left > 0,
        }
        summary[v] = s
        flags = []
        if errors:
            flags.append(f"{errors} errors")
        if failed:
            flags.append(f"{failed} runs failed")
        if died:
            flags.append(f"worker died in {died} runs")
        if left > 0:
            flags.append(f"{left} sessions left")
        rows.append([
            v, WHAT.get(v, ""), str(s["runs"]), fmt(s["req_s"], ",.0f"), fmt(s["p50"], ".2f"),
            fmt(s["p99"], ".2f"), fmt(s["ngx_cpu"], ".0f"), fmt(s["zk_cpu"], ".0f"),
            fmt(s["sess"], ".3f"), "ERRORS: " + ", ".join(flags) if flags else "ok",
        ])
        for r in rs:
            for msg, count in sorted(r["handler_errors"].items()):
                problems.append(f"  round {r['round']} /{v}: {count} x {msg}")
            if r["wrk"] and r["errors"]:
                w = r["wrk"]
                problems.append(f"  round {r['round']} /{v}: wrk: " + ", ".join(f"{k}={w[k]}" for k in ERROR_KEYS if w[k]))
            if r["worker_died"]:
                problems.append(f"  round {r['round']} /{v}: workers {r['workers_before']} -> {r['workers_after']}")
            if not r["wrk"]:
                problems.append(f"  round {r['round']} /{v}: wrk failed (status {r['wrk_status']})")
    print()
    print(table(["variant", "what", "runs", "req/s", "p50 ms", "p99 ms", "nginx CPU us/req",
                 "ZK CPU us/req", "sessions/req", "status"], rows, "llrrrrrrrl"))
    print("req/s = 200 answers per second; medians over rounds; CPU = user+sys of the nginx worker(s) / of the ZooKeeper JVM, per request;")
    print("sessions/req = sessions ZooKeeper made during the run / requests wrk completed (in-flight ones at the end add a little)")

    def ratio(a, b):
        sa, sb = summary.get(a), summary.get(b)
        if not sa or not sb or not sa["req_s"] or not sb["req_s"]:
            return None
        mark = "  (!: errors in " + " and ".join(x for x in (a, b) if summary[x]["bad"]) + ")" \
            if sa["bad"] or sb["bad"] else ""
        p99 = f"   p99 {sa['p99'] / sb['p99']:.2f}x" if sa["p99"] and sb["p99"] else ""
        return f"{a}/{b}: req/s {sa['req_s'] / sb['req_s']:.2f}x{p99}{mark}"

    lines = [x for x in (ratio("shared", "ours"), ratio("shared", "original"), ratio("ours", "original"),
                         ratio("dict", "shared"), ratio("shared", "plain"), ratio("dict", "plain")) if x]
    if lines:
        print("\nratios (of the medians):")
        for line in lines:
            print("  " + line)
    if problems:
        print("\nerrors (measured runs):")
        print("\n".join(problems[:40]))
        if len(problems) > 40:
            print(f"  ... {len(problems) - 40} more lines (see results.jsonl)")
    warm = [r for r in runs if r["phase"] == "warmup" and ((r.get("errors") or 0) > 0 or r["handler_errors"] or not r["wrk"])]
    if warm:
        print("\nwarm-up runs with errors: " + ", ".join(r["variant"] for r in warm))


if __name__ == "__main__":
    main()
