#!/usr/bin/python3
"""The fault campaign's checks (test/chaos/run.sh), against the server's truth read with kazoo.

usage: check.py writes WORK HOSTS CALL_MS WRITERS...
         every acknowledged write is on the server, none applied twice, every session kept (one
         id, never expired, its state changes in turn), no call longer than CALL_MS + 1000, the watchers' views equal to the
         server's tree. CHAOS_BREAK=drop first deletes one acknowledged create of the first
         writer from the server, CHAOS_BREAK=twice creates a second copy of one (the checks
         must then fail).
       check.py expiry WORK HOSTS SESSION_MS T_FREEZE_MS FROZEN_PORTS WRITERS...
         after a quorum loss longer than the session timeout: each client reported the expiry
         within SESSION_MS * 1.1 of losing its last server, and its ephemeral node is gone
         (the nginx client: its discovery registration is back, owned by a new session).
Prints one line per check ("ok ..." or "FAIL <check> <client>: expected ..., seen ...") and the
figures as "figure <name> <value>"; exits 1 on any failure.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from kazoo_peer import connect  # noqa: E402
from kazoo.exceptions import NoNodeError  # noqa: E402

failures = []


def fail(check, client, expected, seen):
    failures.append(check)
    print("FAIL %s %s: expected %s, seen %s" % (check, client, expected, seen))


def ok(check, client, what):
    print("ok %s %s: %s" % (check, client, what))


def figure(name, value):
    print("figure %s %s" % (name, value))


def sid(text):
    try:
        return int(text, 16)
    except (TypeError, ValueError):
        return 0


class Ledger:
    """A writer's ledger (format: test/chaos/writer.lua)."""

    def __init__(self, path):
        self.creates = {}    # seq -> (kind, path or code, ms)
        self.sets = []       # (seq, kind, version or code, ms) in order
        self.states = []     # (ms, state, sid, server)
        self.registered = []  # (ms, state, registered, sid): the nginx client after its writes
        self.marks = {}      # "ready", "quiesced", "viewed", "end": the line number
        self.anomalies = []  # what the Swift watcher logged: missed, duplicate-created, deleted-unknown
        self.errors = []
        self.resyncs = []
        self.ephemeral = None
        self.longest = (0, "")
        with open(path) as f:
            for number, line in enumerate(f):
                words = line.split()
                if not words:
                    continue
                kind = words[0]
                if kind in ("create", "set") and len(words) >= 5:
                    ms = int(words[4])
                    if ms > self.longest[0]:
                        self.longest = (ms, line.strip())
                    if kind == "create":
                        self.creates[int(words[1])] = (words[2], words[3], ms)
                    else:
                        self.sets.append((int(words[1]), words[2], words[3], ms))
                elif kind == "read" and len(words) >= 3:
                    ms = int(words[2])
                    if ms > self.longest[0]:
                        self.longest = (ms, line.strip())
                elif kind == "state":
                    self.states.append((int(words[1]), words[2], words[3], words[4] if len(words) > 4 else "nil", number))
                elif kind == "registered":
                    self.registered.append((int(words[1]), words[2], words[3], words[4]))
                elif kind in ("ready", "quiesced", "viewed", "end"):
                    self.marks[kind] = number
                elif kind in ("missed", "duplicate-created", "deleted-unknown"):
                    self.anomalies.append(line.strip())
                elif kind == "error":
                    self.errors.append(line.strip())
                elif kind == "resync":
                    self.resyncs.append(line.strip())
                elif kind == "ephemeral":
                    self.ephemeral = (words[1], words[2])


def host_stalls(work):
    """The host's stalls run.sh measured (a late wake-up of a 100 ms sleep), as a note."""
    try:
        with open(os.path.join(work, "stalls")) as f:
            stalls = [line.split() for line in f if line.startswith("stall ")]
    except OSError:
        return ""
    if not stalls:
        return " (the host never stalled over a second)"
    return " (the host stalled: %s)" % ", ".join("%s ms at %s" % (s[2], s[1]) for s in stalls[:5])


def read_children(zk, path):
    try:
        return sorted(zk.get_children(path))
    except NoNodeError:
        return []


def read_all(zk, parent, names):
    calls = [(name, zk.get_async(parent + "/" + name)) for name in names]
    return {name: call.get(timeout=30) for name, call in calls}


def break_truth(zk, writer, ledger):
    mode = os.environ.get("CHAOS_BREAK", "")
    acked = [v[1] for v in ledger.creates.values() if v[0] == "ack"]
    if not mode or not acked:
        return
    victim = acked[len(acked) // 2]
    if mode == "drop":
        zk.delete(victim)
        print("# CHAOS_BREAK=drop: deleted %s (acknowledged to %s) from the server" % (victim, writer))
    elif mode == "twice":
        data, _ = zk.get(victim)
        copy = zk.create("/chaos/%s/s-" % writer, data, sequence=True)
        print("# CHAOS_BREAK=twice: created %s with the data of %s" % (copy, victim))


def check_writer(zk, writer, work, call_ms):
    ledger = Ledger(os.path.join(work, writer + ".ledger"))
    for line in ledger.errors:
        fail("writer-error", writer, "no error", line)
    if "quiesced" not in ledger.marks:
        fail("writer-ran", writer, "a 'quiesced' line", "none")
        return
    base = "/chaos/" + writer
    names = [n for n in read_children(zk, base) if n.startswith("s-")]
    truth = {base + "/" + n: v[0].decode() for n, v in read_all(zk, base, names).items()}
    by_data = {}
    for path, data in truth.items():
        by_data.setdefault(data, []).append(path)

    # Creates: none acknowledged lost, none applied twice, none refused yet applied.
    acked = {seq: v for seq, v in ledger.creates.items() if v[0] == "ack"}
    unknown = {seq for seq, v in ledger.creates.items() if v[0] == "unknown"}
    lost = ["%s (seq %d)" % (v[1], seq) for seq, v in sorted(acked.items())
            if truth.get(v[1]) != "%s:%d" % (writer, seq)]
    if lost:
        fail("create-lost", writer, "every acknowledged create on the server", "%d missing: %s" % (len(lost), ", ".join(lost[:5])))
    twice = {d: p for d, p in by_data.items() if len(p) > 1}
    if twice:
        fail("create-twice", writer, "each create applied once", "; ".join("%s at %s" % (d, ",".join(p)) for d, p in list(twice.items())[:5]))
    stray = []
    for data in by_data:
        owner, _, seq = data.partition(":")
        if owner != writer or not seq.isdigit() or (int(seq) not in acked and int(seq) not in unknown):
            stray.append(data)
    if stray:
        fail("create-unasked", writer, "only acknowledged or uncertain creates on the server", ", ".join(stray[:5]))
    applied_unknown = sum(1 for seq in unknown if "%s:%d" % (writer, seq) in by_data)
    if not (lost or twice or stray):
        ok("creates", writer, "%d acknowledged all present once; %d of %d uncertain applied" % (len(acked), applied_unknown, len(unknown)))

    # Versioned sets: the server's version is the number of sets applied.
    data, stat = zk.get(base + "/counter")
    data = data.decode()
    acked_sets = [(seq, int(v)) for seq, kind, v, _ in ledger.sets if kind == "ack"]
    unknown_sets = [seq for seq, kind, _, _ in ledger.sets if kind == "unknown"]
    versions = [v for _, v in acked_sets]
    problems = []
    if versions != sorted(set(versions)):
        problems.append("acknowledged versions not strictly increasing")
    if not len(acked_sets) <= stat.version <= len(acked_sets) + len(unknown_sets):
        problems.append("server version %d outside [%d acknowledged, %d acknowledged + uncertain]" % (stat.version, len(acked_sets), len(acked_sets) + len(unknown_sets)))
    if acked_sets:
        last_seq, last_version = acked_sets[-1]
        later_unknown = [s for s in unknown_sets if s > last_seq]
        if stat.version < last_version:
            problems.append("server version %d below the last acknowledged %d" % (stat.version, last_version))
        if not later_unknown and (data, stat.version) != ("%s:%d" % (writer, last_seq), last_version):
            problems.append("server has %s v%d, the last acknowledged set was %s:%d v%d" % (data, stat.version, writer, last_seq, last_version))
    if problems:
        fail("set", writer, "the acknowledged sets on the server, each once", "; ".join(problems))
    else:
        ok("sets", writer, "%d acknowledged, %d uncertain, server version %d" % (len(acked_sets), len(unknown_sets), stat.version))

    # Sessions: one id from start to the end of the writes, never expired.
    writing = [s for s in ledger.states if s[4] < ledger.marks["quiesced"]]
    ids = {s[2] for s in writing if sid(s[2]) != 0}
    bad_states = [s[1] for s in writing if "expired" in s[1] or "closed" in s[1] or "auth" in s[1]]
    if len(ids) != 1 or bad_states:
        fail("session", writer, "one session id, never expired", "ids %s, states %s" % (sorted(ids), bad_states))
    else:
        reconnects = sum(1 for s in writing if s[1] == "reconnected")
        ok("session", writer, "kept %s over %d reconnects" % (ids.pop(), reconnects))
        figure("reconnects." + writer, reconnects)

    # State changes in the order they happen: each reconnect after a disconnect, never two alike.
    changes = [(s[0], s[1]) for s in writing if s[1] in ("connected", "disconnected", "reconnected")]
    twice_in_row = [(a, b) for a, b in zip(changes, changes[1:])
                    if a[1] == b[1] or (b[1] == "reconnected" and a[1] != "disconnected")]
    if twice_in_row:
        fail("state-order", writer, "disconnected and reconnected in turn", "; ".join(
            "%s@%d then %s@%d" % (a[1], a[0], b[1], b[0]) for a, b in twice_in_row[:3]))

    # Calls: none longer than the timeout plus a second.
    if ledger.longest[0] > call_ms + 1000:
        fail("call-time", writer, "every call within %d ms" % (call_ms + 1000), ledger.longest[1] + host_stalls(work))
    else:
        ok("call-time", writer, "longest call %d ms" % ledger.longest[0])

    # Longest reconnect: from "disconnected" to the next "reconnected".
    longest, since = 0, None
    for ms, state, _, _, _ in writing:
        if state == "disconnected" and since is None:
            since = ms
        elif state in ("reconnected", "connected") and since is not None:
            longest, since = max(longest, ms - since), None
    figure("longest-reconnect-ms." + writer, longest)
    figure("longest-call-ms." + writer, ledger.longest[0])
    figure("acknowledged." + writer, "creates=%d sets=%d uncertain=%d" % (len(acked), len(acked_sets), len(unknown) + len(unknown_sets)))
    for line in ledger.anomalies:
        fail("watch-event", writer, "every event heard once", line)
    if ledger.resyncs:
        added = sum(int(r.split("added=")[1].split()[0]) for r in ledger.resyncs[1:])
        figure("watch-resyncs." + writer, "%d (nodes only a re-read found: %d)" % (len(ledger.resyncs) - 1, added))


def check_views(zk, work, writers):
    for writer in writers:
        path = os.path.join(work, writer + ".view")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            lines = [line.rstrip("\n") for line in f]
        if lines and lines[0].startswith("children "):
            _, watched, rest = lines[0].split(" ", 2)
            view = [] if rest == "<none>" else rest.split()
            truth = read_children(zk, watched)
            if view != truth:
                fail("child-watch", writer, "children of %s as on the server (%d)" % (watched, len(truth)),
                     "%d; missing %s, extra %s" % (len(view), sorted(set(truth) - set(view))[:5], sorted(set(view) - set(truth))[:5]))
            else:
                ok("child-watch", writer, "view of %s equals the server (%d children)" % (watched, len(truth)))
        else:
            view = {line[5:] for line in lines if line.startswith("path ")}
            events = next((line.split()[1] for line in lines if line.startswith("events ")), "?")
            truth = set()
            for top in read_children(zk, "/chaos"):
                truth.add("/chaos/" + top)
                truth.update("/chaos/%s/%s" % (top, c) for c in read_children(zk, "/chaos/" + top))
            if view != truth:
                fail("persistent-watch", writer, "the tree under /chaos as on the server (%d nodes)" % len(truth),
                     "%d; missing %s, extra %s" % (len(view), sorted(truth - view)[:5], sorted(view - truth)[:5]))
            else:
                ok("persistent-watch", writer, "view equals the server (%d nodes, %d events)" % (len(truth), int(events)))


def check_expiry(zk, work, session_ms, t_freeze, frozen_ports, writers):
    limit = session_ms * 1.1
    for writer in writers:
        ledger = Ledger(os.path.join(work, writer + ".ledger"))
        after = [s for s in ledger.states if s[0] >= t_freeze]
        before = [s for s in ledger.states if s[0] < t_freeze]
        server = before[-1][3] if before else "nil"
        old = before[-1][2] if before else "?"
        expired = next((s[0] for s in after if "expired" in s[1]), None)
        if server.rsplit(":", 1)[-1] in frozen_ports:
            ref, why = t_freeze, "its server froze"
        else:
            ref = next((s[0] for s in after if s[1] == "disconnected"), None)
            why = "its server dropped it"
        if expired is None:
            fail("expiry-report", writer, "an expired state", "states after the freeze: %s" % [s[1] for s in after])
        elif ref is None:
            fail("expiry-report", writer, "a disconnect before the expiry", "states after the freeze: %s" % [s[1] for s in after])
        elif expired - ref > limit:
            fail("expiry-report", writer, "within %d ms of losing its server (%s)" % (limit, why), "%d ms" % (expired - ref))
        else:
            ok("expiry-report", writer, "expired %d ms after losing its server (%s; limit %d)" % (expired - ref, why, limit))
            figure("expiry-delay-ms." + writer, expired - ref)
        if ledger.ephemeral:
            path, owner = ledger.ephemeral
            stat = zk.exists(path)
            if writer == "nginx":
                new = [r for r in ledger.registered if r[1] == "connected" and r[2] == "true" and sid(r[3]) != sid(old)]
                if not new:
                    fail("re-registration", writer, "registered again by a new session", "last: %s" % (ledger.registered[-1:],))
                elif stat is None or stat.ephemeralOwner != sid(new[-1][3]):
                    fail("re-registration", writer, "%s owned by the new session %s" % (path, new[-1][3]),
                         "owner %s" % (hex(stat.ephemeralOwner) if stat else "none"))
                else:
                    ok("re-registration", writer, "%s back, owned by new session %s, %d ms after the freeze" % (path, new[-1][3], new[0][0] - t_freeze))
                    figure("re-registered-after-freeze-ms." + writer, new[0][0] - t_freeze)
            else:
                # The server expires the old session one session timeout after quorum is back
                # (a new leader gives every session a fresh timeout): wait that long for it.
                deadline = time.time() + session_ms * 2 / 1000.0 + 2
                while stat is not None and stat.ephemeralOwner == sid(owner) and time.time() < deadline:
                    time.sleep(0.2)
                    stat = zk.exists(path)
                if stat is not None and stat.ephemeralOwner == sid(owner):
                    fail("ephemeral-gone", writer, "%s gone with session %s within %d ms" % (path, owner, session_ms * 2 + 2000), "still there")
                else:
                    ok("ephemeral-gone", writer, "%s of session %s gone" % (path, owner))


def main(argv):
    if len(argv) < 5 or argv[1] not in ("writes", "expiry"):
        sys.exit(__doc__)
    work, hosts = argv[2], argv[3]
    zk = connect(hosts)
    try:
        if argv[1] == "writes":
            call_ms, writers = int(argv[4]), argv[5:]
            first = Ledger(os.path.join(work, writers[0] + ".ledger"))
            break_truth(zk, writers[0], first)
            for writer in writers:
                check_writer(zk, writer, work, call_ms)
            check_views(zk, work, writers)
        else:
            session_ms, t_freeze, frozen = int(argv[4]), int(argv[5]), argv[6].split(",")
            check_expiry(zk, work, session_ms, t_freeze, frozen, argv[7:])
    finally:
        zk.stop()
        zk.close()
    print("%d check(s) failed" % len(failures) if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
