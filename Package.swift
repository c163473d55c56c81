// swift-tools-version: 6.2
import PackageDescription

/// Swift settings every Swift target shares: a dangling `UnsafePointer(array)` is an error, not a warning.
let strictPointers: [SwiftSetting] = [.treatWarning("TemporaryPointers", as: .error)]

let package = Package(
    name: "registryd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "registryd", targets: ["registryd"]),
    ],
    targets: [
        // MARK: - C libraries
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // HTTP/1.1 parsing: picohttpparser, as libh2o-evloop exports it (the event loops are ours).
        .systemLibrary(
            name: "CPicoHTTPParser",
            pkgConfig: "libh2o-evloop",
            providers: [.apt(["libh2o-evloop-dev"])]
        ),
        .systemLibrary(name: "CLinuxEvents"),
        // Data plane: registry tokens are signed with libcrypto (RS256).
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),

        // MARK: - Swift layers, lowest first
        .target(name: "JSON", swiftSettings: strictPointers),
        .target(name: "Log", dependencies: ["JSON"], swiftSettings: strictPointers),
        .target(name: "Digest", dependencies: ["CLibCrypto"], swiftSettings: strictPointers),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(name: "CCurlShim", dependencies: ["CCurl"]),
        .target(name: "CThreads"),
        .target(name: "Threads", dependencies: ["CThreads"], swiftSettings: strictPointers),
        .target(name: "JWT", dependencies: ["CLibCrypto", "Digest", "JSON"], swiftSettings: strictPointers),
        // One epoll loop per core, shared by the HTTP connections and the PostgreSQL read connections.
        .target(name: "EventLoops", dependencies: ["CLinuxEvents", "Threads"], swiftSettings: strictPointers),
        .target(name: "Postgres", dependencies: ["CLibPQ", "Digest", "EventLoops", "JSON", "Log", "Threads"], swiftSettings: strictPointers),
        .target(name: "HTTP", dependencies: ["CPicoHTTPParser", "CLinuxEvents", "EventLoops", "JSON", "Log", "Threads"], swiftSettings: strictPointers),
        .target(name: "HTTPClient", dependencies: ["CCurl", "CCurlShim"], swiftSettings: strictPointers),
        .target(name: "Registry", dependencies: ["EventLoops", "Postgres", "HTTP", "HTTPClient", "JSON", "JWT", "Log", "Threads", "Digest"], swiftSettings: strictPointers),
        .executableTarget(name: "registryd", dependencies: ["EventLoops", "Registry", "Postgres", "HTTP", "JWT", "Log"], swiftSettings: strictPointers),

        // MARK: - Tests
        .target(name: "TestSupport", dependencies: ["EventLoops", "Threads", "Postgres", "HTTP", "Registry", "Log"], path: "Tests/TestSupport", swiftSettings: strictPointers),
        .testTarget(name: "JSONTests", dependencies: ["JSON"], swiftSettings: strictPointers),
        .testTarget(name: "LogTests", dependencies: ["Log"], swiftSettings: strictPointers),
        .testTarget(name: "DigestTests", dependencies: ["Digest"], swiftSettings: strictPointers),
        .testTarget(name: "JWTTests", dependencies: ["JWT"], swiftSettings: strictPointers),
        .testTarget(name: "ThreadsTests", dependencies: ["Threads"], swiftSettings: strictPointers),
        .testTarget(name: "PostgresTests", dependencies: ["EventLoops", "Postgres", "TestSupport"], swiftSettings: strictPointers),
        .testTarget(name: "HTTPTests", dependencies: ["EventLoops", "HTTP", "TestSupport"], swiftSettings: strictPointers),
        .testTarget(name: "RegistryTests", dependencies: ["EventLoops", "Registry", "Postgres", "HTTP", "TestSupport"], swiftSettings: strictPointers),
    ]
)
