// swift-tools-version: 6.1
import PackageDescription

/// Settings every Swift target shares: Swift 6 mode plus the upcoming features that keep
/// imports and existentials explicit.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
    // Release builds skip the dynamic exclusivity checks (about 3% of the server's time per message);
    // debug builds, which run the tests, keep them.
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Earpiece",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "earpiece", targets: ["earpiece"]),
        .executable(name: "bench-server", targets: ["bench-server"]),
        .executable(name: "conformance-server", targets: ["conformance-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // C bridges.
        .target(name: "CLinux"),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),

        // Socket server.
        .target(name: "IOCore", swiftSettings: strictSettings),
        .target(
            name: "IOPosix",
            dependencies: ["CLinux", "IOCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .target(name: "IOTLS", dependencies: ["COpenSSL", "IOCore"], swiftSettings: strictSettings),

        // HTTP/1.1 and WebSocket.
        .target(name: "HTTPCore", dependencies: ["IOCore"], swiftSettings: strictSettings),
        .target(name: "WebSocketCore", dependencies: ["IOCore"], swiftSettings: strictSettings),
        .target(
            name: "HTTP",
            dependencies: [
                "HTTPCore", "WebSocketCore", "IOCore", "IOPosix", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),

        // JSON (ordered, exact numbers) and the Engine.IO / Socket.IO protocol layers.
        .target(name: "JSON", dependencies: ["IOCore"], swiftSettings: strictSettings),
        .target(name: "EngineIOCore", dependencies: ["IOCore"], swiftSettings: strictSettings),
        .target(
            name: "EngineIO",
            dependencies: [
                "EngineIOCore", "HTTP", "HTTPCore", "WebSocketCore", "IOCore", "IOPosix",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(name: "SocketIOCore", dependencies: ["JSON", "IOCore"], swiftSettings: strictSettings),
        .target(
            name: "SocketIO",
            dependencies: [
                "SocketIOCore", "EngineIO", "EngineIOCore", "JSON", "IOCore", "IOPosix",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),

        // The OpenAI-compatible chat completions client.
        .target(
            name: "OpenAI",
            dependencies: [
                "HTTP", "HTTPCore", "IOCore", "IOPosix", "IOTLS", "JSON",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),

        // The live call copilot: conversations, coaches, stores, auth. Takes events as values; no network.
        .target(
            name: "Coaching",
            dependencies: ["JSON", "IOCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),

        // Counters, gauges and histograms for `GET /metrics` (Prometheus text format). No dependencies.
        .target(name: "Metrics", swiftSettings: strictSettings),

        // Coaching on the event loops: a loop as the place conversations run and keep their timers.
        .target(name: "CoachingLoop", dependencies: ["Coaching", "IOPosix"], swiftSettings: strictSettings),

        // The program.
        .executableTarget(
            name: "earpiece",
            dependencies: [
                "Coaching", "CoachingLoop", "Metrics", "SocketIO", "EngineIO", "HTTP", "HTTPCore", "IOCore", "IOPosix", "IOTLS",
                "OpenAI", "JSON",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "conformance-server",
            dependencies: ["EngineIO", "SocketIO", "JSON", "HTTP", "HTTPCore", "IOCore", "IOPosix"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "bench-server",
            dependencies: ["SocketIO", "JSON", "HTTP", "HTTPCore", "WebSocketCore", "IOCore", "IOPosix", "IOTLS"],
            swiftSettings: strictSettings
        ),

        // Test kits: fixtures shared by several test targets (generated certificates).
        .target(name: "TestKit", dependencies: ["IOTLS"], swiftSettings: strictSettings),

        .testTarget(name: "IOCoreTests", dependencies: ["IOCore"], swiftSettings: strictSettings),
        .testTarget(name: "IOPosixTests", dependencies: ["IOCore", "IOPosix", "IOTLS", "TestKit"], swiftSettings: strictSettings),
        .testTarget(name: "IOTLSTests", dependencies: ["IOCore", "IOTLS", "TestKit"], swiftSettings: strictSettings),
        .testTarget(name: "HTTPCoreTests", dependencies: ["HTTPCore", "IOCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "OpenAITests",
            dependencies: ["OpenAI", "HTTP", "HTTPCore", "IOCore", "IOPosix", "IOTLS", "JSON", "TestKit"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "CoachingTests", dependencies: ["Coaching", "CoachingLoop", "JSON", "IOPosix", "TestKit"], swiftSettings: strictSettings),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics"], swiftSettings: strictSettings),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "IOCore"], swiftSettings: strictSettings),
        .testTarget(name: "EngineIOCoreTests", dependencies: ["EngineIOCore", "IOCore", "TestKit"], swiftSettings: strictSettings),
        .testTarget(name: "SocketIOCoreTests", dependencies: ["SocketIOCore", "JSON", "IOCore", "TestKit"], swiftSettings: strictSettings),
        .testTarget(name: "WebSocketCoreTests", dependencies: ["WebSocketCore", "IOCore", "TestKit"], swiftSettings: strictSettings),
        .testTarget(
            name: "HTTPTests",
            dependencies: ["HTTP", "HTTPCore", "WebSocketCore", "IOCore", "IOPosix", "IOTLS", "TestKit"],
            swiftSettings: strictSettings
        ),
    ]
)
