import CBLAS

/// What OpenBLAS chose at load time, for start-up logs.
public enum BLASInfo {
    /// The kernel family OpenBLAS runs (e.g. "SkylakeX", "Haswell").
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    public static var threads: Int { Int(openblas_get_num_threads()) }
}
