// swift-tools-version:5.9
// uwsgi-sentry: one process per event, so start-up cost is the product's hot path.
// Hence: no Foundation, no argument-parser, and libcurl is dlopen'ed only when a
// transfer is about to happen (see Sources/CCurl/shim.h).
import PackageDescription

let lean: [SwiftSetting] = [
    .unsafeFlags([
        "-Xfrontend", "-disable-implicit-concurrency-module-import",
        "-Xfrontend", "-disable-implicit-string-processing-module-import",
        // Direct metadata accessors instead of runtime lookups by mangled name: the
        // demangler they wake is large, sparse code (RSS) and slow on first use.
        "-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors",
    ]),
]

let package = Package(
    name: "uwsgi-sentry",
    targets: [
        // Headers only: libcurl's types and constants plus typed wrappers over the
        // variadic calls. Nothing links -lcurl; the shim dlopen()s libcurl.so.4.
        .systemLibrary(name: "CCurl", path: "Sources/CCurl"),
        .target(name: "SentryCore", dependencies: ["CCurl"], swiftSettings: lean),
        .executableTarget(name: "uwsgi-sentry", dependencies: ["SentryCore"], swiftSettings: lean),
        .testTarget(name: "SentryCoreTests", dependencies: ["SentryCore"]),
    ]
)
