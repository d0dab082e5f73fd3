/// The vocabulary as a trie of token bytes, stored in preorder: node i's children follow it, and
/// `subtreeEnd[i]` is the index after its subtree, so a walk skips a rejected byte's whole subtree
/// in one step. Tokens without bytes (control tokens) are not in it.
public final class TokenTrie: Sendable {
    /// Per node: its byte (node 0 is the root, with no byte).
    let nodeBytes: [UInt8]
    /// Per node: the index after the node's subtree.
    let subtreeEnd: [Int32]
    /// Tokens ending at node i: `tokens[tokenStart[i] ..< tokenStart[i + 1]]`.
    let tokenStart: [Int32]
    let tokens: [Int32]
    /// Each token's bytes, by id.
    public let tokenBytes: [[UInt8]]

    public init(tokenBytes: [[UInt8]]) {
        self.tokenBytes = tokenBytes
        let order = tokenBytes.indices.filter { !tokenBytes[$0].isEmpty }
            .sorted { tokenBytes[$0].lexicographicallyPrecedes(tokenBytes[$1]) }
        var bytes: [UInt8] = [0], ends: [Int32] = [0], starts: [Int32] = [0], ids: [Int32] = []
        var path: [Int] = [0] // node indices from the root to the previous token's last node
        var previous: [UInt8] = []
        for id in order {
            let word = tokenBytes[id]
            var shared = 0
            while shared < min(word.count, previous.count) && word[shared] == previous[shared] { shared += 1 }
            while path.count > shared + 1 { ends[path.removeLast()] = Int32(bytes.count) }
            for b in word[shared...] {
                path.append(bytes.count)
                bytes.append(b)
                ends.append(0)
                starts.append(Int32(ids.count))
            }
            ids.append(Int32(id))
            previous = word
        }
        while let node = path.popLast() { ends[node] = Int32(bytes.count) }
        starts.append(Int32(ids.count))
        nodeBytes = bytes
        subtreeEnd = ends
        tokenStart = starts
        tokens = ids
    }

    public var nodeCount: Int { nodeBytes.count }

    /// True when some token's bytes start with `prefix` and go on past it.
    public func isProperPrefix(_ prefix: [UInt8]) -> Bool {
        var node = 0
        for b in prefix {
            var child = node + 1
            let end = Int(subtreeEnd[node])
            while child < end && nodeBytes[child] != b { child = Int(subtreeEnd[child]) }
            guard child < end else { return false }
            node = child
        }
        return Int(subtreeEnd[node]) > node + 1
    }

    /// Sets the bit of every token whose bytes `state` accepts in full (bit id % 64 of word id / 64).
    public func acceptedTokens<State: ByteRecognizer>(from state: State, into mask: inout [UInt64]) {
        mask.withUnsafeMutableBufferPointer { words in walk(0, state: state, words) }
    }

    /// Marks the tokens below `node` that `state` (having read the bytes down to `node`) accepts.
    /// At the root, where every byte has a child, only the bytes the state says it may accept are fed.
    func walk<State: ByteRecognizer>(_ node: Int, state: State, _ words: UnsafeMutableBufferPointer<UInt64>) {
        var child = node + 1
        let end = Int(subtreeEnd[node])
        var possible: [Bool]?
        if node == 0, let bytes = state.possibleNextBytes() {
            possible = [Bool](repeating: false, count: 256)
            for b in bytes { possible![Int(b)] = true }
        }
        while child < end {
            if possible?[Int(nodeBytes[child])] ?? true {
                var next = state
                if next.feed(nodeBytes[child]) {
                    markTokens(at: child, words)
                    walk(child, state: next, words)
                }
            }
            child = Int(subtreeEnd[child])
        }
    }

    /// Sets the bits of the tokens that end at `node`.
    @inline(__always)
    func markTokens(at node: Int, _ words: UnsafeMutableBufferPointer<UInt64>) {
        for t in Int(tokenStart[node])..<Int(tokenStart[node + 1]) {
            let id = Int(tokens[t])
            words[id >> 6] |= 1 << UInt64(id & 63)
        }
    }
}
