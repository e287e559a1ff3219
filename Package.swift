// swift-tools-version:6.0
import PackageDescription

/// Release builds of the hot path drop the run-time exclusivity checks (the compiler still
/// checks statically); measured with bench/run.sh, they were a visible share of a call's CPU.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

/// scripts/fuzz.sh sets ZK_FUZZ to declare the libFuzzer program (see the end of this file).
let fuzzing = Context.environment["ZK_FUZZ"] != nil

let package = Package(
    name: "swift-zookeeper",
    products: [
        .library(name: "ZooKeeperProtocol", targets: ["ZooKeeperProtocol"]),
        .library(name: "ZooKeeperSession", targets: ["ZooKeeperSession"]),
        .library(name: "ZooKeeperRecipes", targets: ["ZooKeeperRecipes"]),
        .library(name: "ZooKeeper", targets: ["ZooKeeper"]),
        // The native Lua module (libzookeeper_lua.so), loaded by the shims in lua/.
        .library(name: "zookeeper_lua", type: .dynamic, targets: ["ZooKeeperLua"]),
        // A command line for looking at and changing a tree (docs/cli.md).
        .executable(name: "zk", targets: ["zk"]),
        // Starts real ZooKeeper servers and ensembles for tests (as Curator's TestingServer).
        .library(name: "ZooKeeperTesting", targets: ["ZooKeeperTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation --target ZooKeeper` (the DocC catalog in Sources/ZooKeeper).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Opt-in metrics and spans per request (Configuration.metrics, .tracing); never in the Lua module.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
    ],
    targets: [
        // Layer 1: the wire protocol. Values in, bytes out and back; no I/O, no threads, no Lua.
        .target(name: "ZooKeeperProtocol", swiftSettings: hotPath),

        // Layer 2: the session as a state machine. Events in, actions out; no sockets, no clock.
        .target(
            name: "ZooKeeperSession",
            dependencies: ["ZooKeeperProtocol", .product(name: "DequeModule", package: "swift-collections")],
            swiftSettings: hotPath
        ),

        // Recipes (locks, leader latch, counter) as state machines over any DrivenSession, so
        // the Swift API and the Lua module run the same code; no SwiftNIO.
        .target(name: "ZooKeeperRecipes", dependencies: ["ZooKeeperSession", "ZooKeeperProtocol"]),

        // Layer 3: a driver without an event loop, for the Lua module: the waiting caller does
        // the socket I/O itself; one shared poller thread covers idle sessions.
        .target(name: "CDirectSupport"),
        // TLS for the direct transport through memory BIOs, with Debian's OpenSSL (libssl-dev):
        // the same libssl nginx links, so the Lua module adds no second TLS stack to it.
        .target(name: "CTLSSupport", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        .target(name: "ZooKeeperDirect", dependencies: ["ZooKeeperSession", "CDirectSupport", "CTLSSupport"], swiftSettings: hotPath),

        // Layer 3+4: the SwiftNIO driver and the Swift async API.
        .target(
            name: "ZooKeeper",
            dependencies: [
                "ZooKeeperSession",
                "ZooKeeperRecipes",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                // ZooKeeperClient is a Service (ZooKeeperClient+Service.swift).
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // CoreMetrics, not Metrics: the latter pulls Foundation into the module.
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),

        // Layer 4 for Lua: the C glue (every lua_* call) and the Swift side of its C ABI. The
        // Lua headers come from Debian's liblua5.1-0-dev; liblua is not linked: the host (lua5.1,
        // luajit, nginx) provides the lua_* symbols.
        .target(
            name: "CZooKeeperLua",
            cSettings: [.unsafeFlags(["-I/usr/include/lua5.1"])]
        ),
        .target(
            name: "ZooKeeperLua",
            dependencies: ["ZooKeeperDirect", "ZooKeeperRecipes", "CZooKeeperLua"],
            swiftSettings: hotPath
        ),

        // The `zk` command line, on the Swift API only.
        .executableTarget(
            name: "zk",
            dependencies: ["ZooKeeper", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // Benchmarks the Swift API (bench/run.sh compares it with the peers); not part of the tests.
        .executableTarget(
            name: "zk-bench",
            dependencies: ["ZooKeeper", .product(name: "Histogram", package: "hdrhistogram-swift")]
        ),

        // The fault campaign's Swift client (test/chaos/run.sh); not part of the tests' build.
        .executableTarget(name: "zk-chaos", dependencies: ["ZooKeeper"], path: "test/chaos/swift"),

        // Real ZooKeeper servers (single and ensemble) for tests, ours and users' (docs/testing.md):
        // drives zk-testbed.sh, the one test bed, which the shell suites run as scripts/zk-testbed.sh.
        .target(name: "ZooKeeperTesting", dependencies: ["ZooKeeper"], resources: [.copy("zk-testbed.sh")]),

        // The test targets' helpers: ZooKeeperTesting plus a raw protocol connection.
        .target(name: "ZooKeeperTestSupport", dependencies: ["ZooKeeperProtocol", "ZooKeeperTesting"], path: "Tests/ZooKeeperTestSupport"),

        // FuzzTargets/ (frame decoder, record decoders, session machine) is compiled into these
        // tests (a seeded smoke loop), and for libFuzzer into its own module (below).
        .testTarget(
            name: "ZooKeeperProtocolTests", dependencies: ["ZooKeeperProtocol", "ZooKeeperSession"],
            exclude: fuzzing ? ["FuzzTargets"] : []
        ),
        .testTarget(name: "ZooKeeperSessionTests", dependencies: ["ZooKeeperSession", "ZooKeeperTestSupport"]),
        // The Lua edge without Lua or a server: the client driven through the hosted transport
        // against the fake server. The glue's lua_* symbols come from liblua here (the test
        // binary is its own host; the module itself never links liblua).
        .testTarget(
            name: "ZooKeeperLuaTests",
            dependencies: ["ZooKeeperLua", "ZooKeeperTestSupport"],
            linkerSettings: [.linkedLibrary("lua5.1")]
        ),
        .testTarget(name: "ZooKeeperRecipesTests", dependencies: ["ZooKeeperRecipes", "ZooKeeperSession"]),
        .testTarget(
            name: "ZooKeeperDirectTests",
            dependencies: ["ZooKeeperDirect", "ZooKeeperTestSupport", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]
        ),
        .testTarget(
            name: "ZooKeeperClientTests",
            dependencies: [
                "ZooKeeper", "ZooKeeperTestSupport", .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ]
        ),
        .testTarget(
            name: "ZooKeeperIntegrationTests",
            dependencies: ["ZooKeeperProtocol", "ZooKeeperTestSupport"]
        ),
    ]
)

// libFuzzer's program (scripts/fuzz.sh): declared only when ZK_FUZZ is set, so the normal build
// never compiles it; built apart (.build-fuzz) with -sanitize=fuzzer, which links libFuzzer.
if fuzzing {
    package.targets += [
        .target(name: "ZooKeeperFuzzTargets", dependencies: ["ZooKeeperProtocol", "ZooKeeperSession"], path: "Tests/ZooKeeperProtocolTests/FuzzTargets"),
        .target(name: "CLibFuzzer", path: "Tests/ZooKeeperFuzz/CLibFuzzer"),
        // lld: Debian's gold fails on this link with an internal error.
        .executableTarget(
            name: "zk-fuzz", dependencies: ["ZooKeeperFuzzTargets", "CLibFuzzer"], path: "Tests/ZooKeeperFuzz/Entry",
            linkerSettings: [.unsafeFlags(["-use-ld=lld"])]
        ),
    ]
    package.products.append(.executable(name: "zk-fuzz", targets: ["zk-fuzz"]))
}
