// libFuzzer's program for scripts/fuzz.sh (built only with ZK_FUZZ=1 and -sanitize=fuzzer).
// ZK_FUZZ_TARGET picks the target (frame, records, session); ZK_FUZZ_WRITE_SEEDS=DIR writes
// that target's seed corpus into DIR and exits; otherwise libFuzzer runs with the arguments.
import CLibFuzzer
#if canImport(Glibc)
import Glibc
#endif
import ZooKeeperFuzzTargets

/// The chosen target, set once before libFuzzer starts calling `testOneInput`.
nonisolated(unsafe) private var target: ([UInt8]) -> Void = { _ in }

@main struct FuzzEntry {
    static func main() {
        let name = environment("ZK_FUZZ_TARGET") ?? ""
        guard let chosen = chosenTarget(name) else { fail("ZK_FUZZ_TARGET must be frame, records or session, not \"\(name)\"") }
        if let directory = environment("ZK_FUZZ_WRITE_SEEDS") {
            for (index, seed) in chosen.corpus.enumerated() {
                let path = "\(directory)/seed-\(index)"
                guard let file = fopen(path, "wb") else { fail("cannot write \(path)") }
                _ = seed.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
                fclose(file)
            }
            exit(0)
        }
        target = chosen.run
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            target(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
            return 0
        })
    }

    static func chosenTarget(_ name: String) -> (run: ([UInt8]) -> Void, corpus: [[UInt8]])? {
        switch name {
        case "frame": (FrameFuzzing.run, FrameFuzzing.corpus)
        case "records": (RecordFuzzing.run, RecordFuzzing.corpus)
        case "session": (SessionFuzzing.run, SessionFuzzing.corpus)
        default: nil
        }
    }

    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    static func fail(_ message: String) -> Never {
        let line = Array((message + "\n").utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(2)
    }
}
