import ArgumentParser
import Model

extension KernelPrecision: ExpressibleByArgument {}

/// `--kernels`, shared by the commands that run the model.
struct KernelOptions: ParsableArguments {
    @Option(name: .customLong("kernels"),
            help: """
                Activations of quantized matrix products: int16 (integer dot products, faster in batches; \
                needs AVX-512 VNNI at build time, else float32 is used) or float32.
                """)
    var precision = KernelPrecision.default
}
