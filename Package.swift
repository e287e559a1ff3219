// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-zookeeper",
    products: [
        .library(name: "ZooKeeperProtocol", targets: ["ZooKeeperProtocol"]),
        .library(name: "ZooKeeperSession", targets: ["ZooKeeperSession"]),
        .library(name: "ZooKeeper", targets: ["ZooKeeper"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    ],
    targets: [
        // Layer 1: the wire protocol. Values in, bytes out and back; no I/O, no threads, no Lua.
        .target(name: "ZooKeeperProtocol"),

        // Layer 2: the session as a state machine. Events in, actions out; no sockets, no clock.
        .target(
            name: "ZooKeeperSession",
            dependencies: ["ZooKeeperProtocol", .product(name: "DequeModule", package: "swift-collections")]
        ),

        // Layer 3+4: the SwiftNIO driver and the Swift async API.
        .target(
            name: "ZooKeeper",
            dependencies: [
                "ZooKeeperSession",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Starts real ZooKeeper servers (single and ensemble) for integration tests.
        .target(name: "ZooKeeperTestSupport", dependencies: ["ZooKeeperProtocol"], path: "Tests/ZooKeeperTestSupport"),

        .testTarget(name: "ZooKeeperProtocolTests", dependencies: ["ZooKeeperProtocol"]),
        .testTarget(name: "ZooKeeperSessionTests", dependencies: ["ZooKeeperSession"]),
        .testTarget(
            name: "ZooKeeperClientTests",
            dependencies: ["ZooKeeper", "ZooKeeperTestSupport", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]
        ),
        .testTarget(
            name: "ZooKeeperIntegrationTests",
            dependencies: ["ZooKeeperProtocol", "ZooKeeperTestSupport"]
        ),
    ]
)
