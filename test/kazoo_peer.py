#!/usr/bin/python3
"""The one kazoo helper of the test suites: kazoo (Debian's python3-kazoo), a client written
independently of ours, run as a subprocess to cross-check what our clients do.

usage: kazoo_peer.py [--tls CA CERT KEY] [--sasl USER PASSWORD] HOSTS COMMAND ARGS...
  --tls CA CERT KEY               connect over TLS, verifying the server with CA (PEM), presenting
                                  CERT and KEY (PEM)
  --sasl USER PASSWORD            authenticate with SASL DIGEST-MD5 (Debian's python3-pure-sasl)
  read PATH                       the node's data as hex
  write PATH HEX                  create (with parents) or set the node
  create PATH [DATA]              create (with parents); prints "created PATH"
  create-many PREFIX FIRST LAST   create PREFIX<i> for i in FIRST..LAST, pipelined
  set PATH DATA                   prints "set PATH"
  set-many PREFIX FIRST LAST DATA set PREFIX<i>, pipelined
  delete PATH                     recursively; prints "deleted PATH"
  digest-node PATH USER PASSWORD  create PATH readable only by digest USER:PASSWORD
  sasl-node PATH USER DATA        create PATH with DATA, readable only by sasl:USER
  read-text PATH                  the node's data as text, or "noauth" when the ACL refuses us
  exists PATH...                  "PATH yes" or "PATH no", a line each
  wait-exists PATH SECONDS        "yes" once PATH exists, "no" on timeout
  owner PATH...                   "PATH 0x<ephemeralOwner>" or "PATH none"
  children PATH                   the sorted names on one line (empty if no node)
  tree PATH                       every descendant: "PATH owner=0x<owner>", depth first
  stat PATH                       the Stat as JSON, fields by their ZooKeeper names
  acl PATH                        the ACL as a JSON array of {scheme, id, perms}
  signal-gone PID SIGNAL TIMEOUT_S PATH...
                                  checks every PATH exists, sends SIGNAL to PID, then polls
                                  until each is gone: "gone PATH MS" (after the signal) or "held PATH"
  exec CODE ARGS...               runs Python CODE with the started client as `zk`;
                                  sys.argv is [HOSTS, ARGS...]
kazoo's own log lines go to stderr.
"""
import json
import logging
import os
import signal
import sys
import time

from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError, NoNodeError
from kazoo.security import ACL, Id, Permissions, make_digest_acl

logging.basicConfig(level=logging.CRITICAL)

STAT_FIELDS = ["czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
               "ephemeralOwner", "dataLength", "numChildren", "pzxid"]


def connect(hosts, timeout=20, security=None):
    # Retries without end within a deadline: an ensemble that is electing a leader still answers.
    zk = KazooClient(hosts=hosts, timeout=10, connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1},
                     command_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1, "deadline": timeout},
                     **(security or {}))
    zk.start(timeout=timeout)
    return zk


def perms(mask):
    return "".join(letter for bit, letter in ((4, "c"), (8, "d"), (1, "r"), (2, "w"), (16, "a")) if mask & bit)


def walk(zk, path):
    try:
        children = zk.get_children(path)
    except NoNodeError:
        return
    for name in sorted(children):
        child = path.rstrip("/") + "/" + name
        stat = zk.exists(child)
        print("%s owner=0x%x" % (child, stat.ephemeralOwner if stat else 0))
        walk(zk, child)


def signal_gone(zk, pid, signame, timeout, paths):
    missing = [p for p in paths if not zk.exists(p)]
    if missing:
        print("missing-before " + " ".join(missing))
        sys.exit(1)
    t0 = time.monotonic()
    os.kill(pid, getattr(signal, "SIG" + signame))
    left = dict.fromkeys(paths)
    while left and time.monotonic() - t0 < timeout:
        for p in list(left):
            if not zk.exists(p):
                print("gone %s %.0f" % (p, (time.monotonic() - t0) * 1000))
                del left[p]
        time.sleep(0.01)
    for p in left:
        print("held " + p)


def pipelined(calls):
    for call in calls:
        call.get(timeout=20)
    return len(calls)


def run(zk, hosts, cmd, args):
    if cmd == "read":
        print(zk.get(args[0])[0].hex())
    elif cmd == "write":
        data = bytes.fromhex(args[1])
        if zk.exists(args[0]):
            zk.set(args[0], data)
        else:
            zk.create(args[0], data, makepath=True)
    elif cmd == "create":
        zk.create(args[0], (args[1] if len(args) > 1 else "").encode(), makepath=True)
        print("created " + args[0])
    elif cmd == "create-many":
        prefix, first, last = args[0], int(args[1]), int(args[2])
        zk.ensure_path(prefix.rsplit("/", 1)[0] or "/")
        print("created %d" % pipelined([zk.create_async("%s%d" % (prefix, i), b"x") for i in range(first, last + 1)]))
    elif cmd == "set":
        zk.set(args[0], args[1].encode())
        print("set " + args[0])
    elif cmd == "set-many":
        prefix, first, last, data = args[0], int(args[1]), int(args[2]), args[3].encode()
        print("set %d" % pipelined([zk.set_async("%s%d" % (prefix, i), data) for i in range(first, last + 1)]))
    elif cmd == "delete":
        zk.delete(args[0], recursive=True)
        print("deleted " + args[0])
    elif cmd == "digest-node":
        path, user, password = args
        zk.create(path, b"guarded", acl=[make_digest_acl(user, password, all=True)], makepath=True)
    elif cmd == "sasl-node":
        acl = [ACL(Permissions.ALL, Id("sasl", args[1]))]
        zk.create(args[0], args[2].encode(), acl=acl, makepath=True)
        print("created " + args[0])
    elif cmd == "read-text":
        try:
            print(zk.get(args[0])[0].decode())
        except NoAuthError:
            print("noauth")
    elif cmd == "exists":
        for path in args:
            print("%s %s" % (path, "yes" if zk.exists(path) else "no"))
    elif cmd == "wait-exists":
        deadline = time.time() + float(args[1])
        while time.time() < deadline and not zk.exists(args[0]):
            time.sleep(0.02)
        print("yes" if zk.exists(args[0]) else "no")
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
        walk(zk, args[0])
    elif cmd == "stat":
        stat = zk.exists(args[0])
        if stat is None:
            sys.exit("no node " + args[0])
        print(json.dumps({name: getattr(stat, name) for name in STAT_FIELDS}))
    elif cmd == "acl":
        acl, _ = zk.get_acls(args[0])
        print(json.dumps([{"scheme": a.id.scheme, "id": a.id.id, "perms": perms(a.perms)} for a in acl]))
    elif cmd == "signal-gone":
        signal_gone(zk, int(args[0]), args[1], float(args[2]), args[3:])
    elif cmd == "exec":
        sys.argv = [hosts] + args[1:]
        exec(compile(args[0], "<exec>", "exec"), {"zk": zk, "sys": sys, "__name__": "__kazoo_exec__"})
    else:
        sys.exit("unknown command %s\n%s" % (cmd, __doc__))


def security_options(argv):
    """The leading --tls/--sasl options as KazooClient arguments, and the rest of argv."""
    options, rest = {}, argv[1:]
    while rest and rest[0] in ("--tls", "--sasl"):
        if rest[0] == "--tls" and len(rest) >= 4:
            options.update(use_ssl=True, verify_certs=True, ca=rest[1], certfile=rest[2], keyfile=rest[3])
            rest = rest[4:]
        elif rest[0] == "--sasl" and len(rest) >= 3:
            options["sasl_options"] = {"mechanism": "DIGEST-MD5", "username": rest[1], "password": rest[2]}
            rest = rest[3:]
        else:
            sys.exit(__doc__)
    return options, rest


def main(argv):
    security, rest = security_options(argv)
    if len(rest) < 2:
        sys.exit(__doc__)
    hosts, cmd, args = rest[0], rest[1], rest[2:]
    zk = connect(hosts, security=security)
    try:
        run(zk, hosts, cmd, args)
    finally:
        zk.stop()
        zk.close()


if __name__ == "__main__":
    main(sys.argv)
