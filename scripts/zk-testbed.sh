#!/usr/bin/env bash
# The test bed (start, stop, kill, pause ZooKeeper servers and ensembles): the one
# implementation lives with the Swift library that bundles it, Sources/ZooKeeperTesting.
exec bash "$(dirname "${BASH_SOURCE[0]}")/../Sources/ZooKeeperTesting/zk-testbed.sh" "$@"
