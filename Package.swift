// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-zookeeper",
    products: [
        .library(name: "ZooKeeperProtocol", targets: ["ZooKeeperProtocol"]),
        .library(name: "ZooKeeperSession", targets: ["ZooKeeperSession"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        // Layer 1: the wire protocol. Values in, bytes out and back; no I/O, no threads, no Lua.
        .target(name: "ZooKeeperProtocol"),

        // Layer 2: the session as a state machine. Events in, actions out; no sockets, no clock.
        .target(
            name: "ZooKeeperSession",
            dependencies: ["ZooKeeperProtocol", .product(name: "DequeModule", package: "swift-collections")]
        ),

        // Starts real ZooKeeper servers (single and ensemble) for integration tests.
        .target(name: "ZooKeeperTestSupport", dependencies: ["ZooKeeperProtocol"], path: "Tests/ZooKeeperTestSupport"),

        .testTarget(name: "ZooKeeperProtocolTests", dependencies: ["ZooKeeperProtocol"]),
        .testTarget(name: "ZooKeeperSessionTests", dependencies: ["ZooKeeperSession"]),
        .testTarget(
            name: "ZooKeeperIntegrationTests",
            dependencies: ["ZooKeeperProtocol", "ZooKeeperTestSupport"]
        ),
    ]
)
