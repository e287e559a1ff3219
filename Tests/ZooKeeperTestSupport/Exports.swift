// The test targets see the test bed (ZooKeeperServer) through this module.
@_exported import ZooKeeperTesting
