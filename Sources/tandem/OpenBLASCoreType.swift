#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// OpenBLAS 0.3.21 (Debian) picks its Haswell kernels on AVX-512 CPUs; its SkylakeX kernels run
/// sgemm faster there. It reads `OPENBLAS_CORETYPE` once, when the library loads — before
/// `main` — so the only way to choose from inside the program is to set it and exec ourselves again.
enum OpenBLASCoreType {
    static func selectBeforeStart() {
        #if os(Linux) && arch(x86_64)
        guard getenv("OPENBLAS_CORETYPE") == nil,
              let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              cpuinfo.contains(" avx512f"), cpuinfo.contains(" avx512bw") else { return }
        setenv("OPENBLAS_CORETYPE", "SKYLAKEX", 1)
        var arguments = CommandLine.arguments.map { strdup($0) }
        arguments.append(nil)
        execv("/proc/self/exe", &arguments)
        // exec failed: carry on with OpenBLAS's own choice.
        #endif
    }
}
