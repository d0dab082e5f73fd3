import CBLAS
import Parallel

/// What OpenBLAS chose at load time, for start-up logs.
public enum BLASInfo {
    /// The kernel family OpenBLAS runs (e.g. "SkylakeX", "Haswell").
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Keeps OpenBLAS within the cores this process may use (`CPUBudget`): its threads spin too.
    public static func fitThreadsToCPUBudget() {
        if threads > CPUBudget.cores { openblas_set_num_threads(Int32(CPUBudget.cores)) }
    }
}
