/// OpenAI's `logit_bias`: a fixed value added to the logits of some ids.
public struct LogitBias: LogitsProcessor {
    public let bias: [Int32: Float]

    public init(_ bias: [Int32: Float]) { self.bias = bias }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>) {
        for (id, value) in bias where id >= 0 && Int(id) < logits.count { logits[Int(id)] += value }
    }
}
