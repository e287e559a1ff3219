"""An independent client for cross-checks: kazoo (Debian's python3-kazoo) run as a subprocess.

usage: kazoo_peer.py HOSTS COMMAND ARGS...
  read PATH                      print the node's data as hex
  write PATH HEX                 create (or set) the node with the data
  digest-node PATH USER PASSWORD create PATH readable only by digest USER:PASSWORD
  exists PATH                    print yes or no
  wait-exists PATH SECONDS       print yes once PATH exists, no on timeout
"""
import sys
import time

from kazoo.client import KazooClient
from kazoo.security import make_digest_acl


def main():
    hosts, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    zk = KazooClient(hosts=hosts, timeout=10)
    zk.start(timeout=10)
    try:
        if command == "read":
            data, _ = zk.get(args[0])
            print(data.hex())
        elif command == "write":
            data = bytes.fromhex(args[1])
            if zk.exists(args[0]):
                zk.set(args[0], data)
            else:
                zk.create(args[0], data, makepath=True)
        elif command == "digest-node":
            path, user, password = args
            zk.create(path, b"guarded", acl=[make_digest_acl(user, password, all=True)], makepath=True)
        elif command == "exists":
            print("yes" if zk.exists(args[0]) else "no")
        elif command == "wait-exists":
            deadline = time.time() + float(args[1])
            while time.time() < deadline and not zk.exists(args[0]):
                time.sleep(0.02)
            print("yes" if zk.exists(args[0]) else "no")
        else:
            sys.exit("unknown command " + command)
    finally:
        zk.stop()
        zk.close()


if __name__ == "__main__":
    main()
