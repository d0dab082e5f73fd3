import Parallel

/// The part of an integer matrix product every kernel path shares: round the input once, then hand
/// the output groups of all products, end to end, to the cores. Each path supplies the kernel that
/// fills output groups `groups` of one product for every row.
public enum IntegerProduct {
    /// `y_i = x · W_iᵀ` for products of the same input (q, k and v; gate and up): `x` is rounded once
    /// and the products share one hand-off to the cores. Every matrix takes `x`'s inputs.
    @inlinable
    public static func apply<K: TileKernel>(_ products: [(tiles: IntegerTiles, y: UnsafeMutablePointer<Float>)],
                                            x: UnsafePointer<Float>, rows: Int, kernel: K.Type) {
        let inputs = products[0].tiles.inputs
        precondition(products.allSatisfy { $0.tiles.inputs == inputs })
        let activations = Int16Activations(x, rows: rows, inputs: inputs,
                                           withSums: products.contains { $0.tiles.hasMinimum })
        defer { activations.deallocate() }
        // The size test counts weights, hence inputs × 16 per group.
        var starts = [0]
        for p in products { starts.append(starts.last! + p.tiles.groups) }
        let shared = UnsafeShared((products, activations, starts))
        forEachOutputRange(inputs: inputs * 16, outputs: starts.last!) { range in
            let (products, x, starts) = shared.value
            for (i, p) in products.enumerated() {
                let low = max(range.lowerBound, starts[i]), high = min(range.upperBound, starts[i + 1])
                guard low < high else { continue }
                K.run(p.tiles, groups: low - starts[i]..<high - starts[i], x: x, y: p.y)
            }
        }
    }
}

/// A kernel path's integer product: output groups `groups` of `tiles`, every row of `x`, into `y`.
public protocol TileKernel {
    static func run(_ tiles: IntegerTiles, groups: Range<Int>, x: Int16Activations, y: UnsafeMutablePointer<Float>)
}

/// Runs `body` over slices of `0..<outputs` on every core when the matrix is big enough to pay for
/// the dispatch (8 slices, so two cores finish close together), else over all outputs at once.
@inlinable @inline(__always)
public func forEachOutputRange(inputs: Int, outputs: Int, _ body: @Sendable (Range<Int>) -> Void) {
    let parts = inputs * outputs >= 1 << 19 ? 8 : 1
    let chunk = (outputs + parts - 1) / parts
    WorkerPool.shared.forEach(iterations: parts) { part in
        // Bounds clamped first: -Ounchecked would build a reversed range without complaint.
        let low = min(outputs, part * chunk), high = min(outputs, (part + 1) * chunk)
        if low < high { body(low..<high) }
    }
}

/// A number of rows fixed at compile time (generic specialisation makes it a constant).
public protocol RowCount { static var value: Int { get } }
public enum Rows1: RowCount { @inlinable public static var value: Int { 1 } }
public enum Rows2: RowCount { @inlinable public static var value: Int { 2 } }
public enum Rows4: RowCount { @inlinable public static var value: Int { 4 } }
public enum Rows8: RowCount { @inlinable public static var value: Int { 8 } }

/// The shape of an `IntegerTiles` tile, fixed at compile time.
public protocol TileLayout {
    /// Input pairs per tile: 16 (32 inputs) or 8 (16 inputs).
    static var pairs: Int { get }
    static var hasMinimum: Bool { get }
    /// Whether the tile's scales are Float16 (`IntegerTiles.halfScales`).
    static var halfScales: Bool { get }
}
public enum Pairs16: TileLayout {
    @inlinable public static var pairs: Int { 16 }
    @inlinable public static var hasMinimum: Bool { false }
    @inlinable public static var halfScales: Bool { true }
}
public enum Pairs16WithMinimum: TileLayout {
    @inlinable public static var pairs: Int { 16 }
    @inlinable public static var hasMinimum: Bool { true }
    @inlinable public static var halfScales: Bool { false }
}
public enum Pairs8: TileLayout {
    @inlinable public static var pairs: Int { 8 }
    @inlinable public static var hasMinimum: Bool { false }
    @inlinable public static var halfScales: Bool { false }
}
