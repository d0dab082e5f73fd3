/// Tokens that are never drawn, e.g. the end tokens under `ignore_eos` (as llama.cpp reads it: each
/// of the max_tokens tokens is then text, since a drawn and ignored end-of-turn renders as nothing).
public struct BannedTokens: LogitsProcessor {
    public let ids: Set<Int32>

    public init(_ ids: Set<Int32>) { self.ids = ids }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>) {
        for id in ids where id >= 0 && Int(id) < logits.count { logits[Int(id)] = -.infinity }
    }
}
