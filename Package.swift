// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-zookeeper",
    products: [
        .library(name: "ZooKeeperProtocol", targets: ["ZooKeeperProtocol"]),
    ],
    targets: [
        // Layer 1: the wire protocol. Values in, bytes out and back; no I/O, no threads, no Lua.
        .target(name: "ZooKeeperProtocol"),

        // Starts real ZooKeeper servers (single and ensemble) for integration tests.
        .target(name: "ZooKeeperTestSupport", dependencies: ["ZooKeeperProtocol"], path: "Tests/ZooKeeperTestSupport"),

        .testTarget(name: "ZooKeeperProtocolTests", dependencies: ["ZooKeeperProtocol"]),
        .testTarget(
            name: "ZooKeeperIntegrationTests",
            dependencies: ["ZooKeeperProtocol", "ZooKeeperTestSupport"]
        ),
    ]
)
