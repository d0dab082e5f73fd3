import ArgumentParser
import Model

extension KernelPrecision: ExpressibleByArgument {}
extension KVPrecision: ExpressibleByArgument {}

/// `--kernels`, shared by the commands that run the model.
struct KernelOptions: ParsableArguments {
    @Option(name: .customLong("kernels"),
            help: """
                Activations of quantized matrix products: int16 (integer dot products on every kernel \
                path, faster at every batch size) or float32.
                """)
    var precision = KernelPrecision.default

    @Option(name: .customLong("kernel-path"),
            help: """
                Build of the quantized kernels: avx2, avx-vnni, avx512 or avx512-vnni (default: the fastest this CPU \
                runs, or $TANDEM_KERNEL_PATH). A path the CPU cannot run is refused.
                """)
    var path: String?

    /// The kernel path asked for, checked against this CPU.
    func chosenPath() throws -> KernelPath {
        do {
            let chosen = try KernelPath.chosen(path)
            KernelPath.active = chosen
            return chosen
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
