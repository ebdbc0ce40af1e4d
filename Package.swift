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
        // A section per function: the linker can then lay out the ones start-up runs
        // together (Makefile, link/startup.order).
        "-Xfrontend", "-function-sections",
    ]),
]

let shim = Context.packageDirectory + "/Sources/CCurl"

let package = Package(
    name: "uwsgi-sentry",
    targets: [
        // The one door to libcurl. Its shim (Sources/CCurl: libcurl's types and typed
        // wrappers over the variadic calls; nothing links -lcurl, the shim dlopen()s
        // libcurl.so.4) is no package target: only this target's compiler is shown
        // its module map, so `import CCurl` anywhere else is "no such module", and the
        // `internal import` keeps every curl type out of this module's interface.
        .target(name: "CurlHTTP", swiftSettings: lean + [
            .unsafeFlags(["-Xcc", "-fmodule-map-file=\(shim)/module.modulemap", "-I", shim,
                          // Resilient: clients compile against its interface alone, without CCurl.
                          "-enable-library-evolution"]),
        ]),
        // The loader's log-lines ring (plugin/sentry/ring.h, its one definition), read by the daemon.
        .target(name: "SentryRing"),
        .target(name: "SentryCore", dependencies: ["CurlHTTP", "SentryRing"], swiftSettings: lean),
        // argv as glibc hands it over, not as the static runtime looks for it (a read
        // of /proc/self/maps at every start; Sources/StartupArguments/arguments.c).
        // DWARF 4: valgrind (3.19, `make startup-order`) cannot read clang's DWARF 5.
        .target(name: "StartupArguments", cSettings: [.unsafeFlags(["-gdwarf-4"])]),
        .executableTarget(name: "uwsgi-sentry", dependencies: ["SentryCore", "StartupArguments"], swiftSettings: lean),
        .testTarget(name: "SentryCoreTests", dependencies: ["SentryCore", "SentryRing"]),
    ]
)
