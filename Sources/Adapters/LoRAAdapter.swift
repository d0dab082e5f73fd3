import Foundation
import Model

/// One loaded LoRA adapter: for each (layer, projection) it targets, `A [rank × inputs]`,
/// `B [outputs × rank]` and the scale, so that the projection becomes `y + scale · (x·Aᵀ)·Bᵀ`.
/// Immutable once loaded: a reload builds a new one, and requests keep the version they started with.
public final class LoRAAdapter: @unchecked Sendable {
    public struct Site: Hashable, Sendable {
        public let layer: Int
        public let projection: ProjectionSite
        public init(layer: Int, projection: ProjectionSite) {
            self.layer = layer
            self.projection = projection
        }
    }

    public struct Weights: Sendable {
        public let rank: Int
        public let inputs: Int
        public let outputs: Int
        public let scale: Float
        let a: FloatBuffer // [rank × inputs]
        /// B transposed, `[rank × outputs]`: the delta adds `t_j · Bᵀ_j` to an output row 16 lanes at a time.
        /// B itself is not kept (it would double B's memory for every loaded adapter).
        let bTransposed: FloatBuffer

        init(rank: Int, inputs: Int, outputs: Int, scale: Float, a: FloatBuffer, b: FloatBuffer) {
            self.rank = rank
            self.inputs = inputs
            self.outputs = outputs
            self.scale = scale
            self.a = a
            bTransposed = FloatBuffer(count: rank * outputs)
            for o in 0..<outputs {
                for j in 0..<rank { bTransposed.pointer[j * outputs + o] = b.pointer[o * rank + j] }
            }
        }
    }

    public let name: String
    public let source: String
    /// Changes on every reload; part of any cache key derived from this adapter.
    public let version: Int
    public let weights: [Site: Weights]
    public let loadedAt = Date()
    public let loadSeconds: Double

    init(name: String, source: String, version: Int, weights: [Site: Weights], loadSeconds: Double) {
        self.name = name
        self.source = source
        self.version = version
        self.weights = weights
        self.loadSeconds = loadSeconds
    }

    public var rank: Int { weights.values.map(\.rank).max() ?? 0 }
    public var targets: [ProjectionSite] {
        ProjectionSite.allCases.filter { p in weights.keys.contains { $0.projection == p } }
    }
    public var byteCount: Int { weights.values.reduce(0) { $0 + 4 * ($1.a.count + $1.bTransposed.count) } }
}
