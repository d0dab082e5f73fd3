/// A JSON Schema compiled for generation: a graph of nodes, one per distinct value shape, that
/// `SchemaRecognizer` walks a byte at a time. Node 0 is the root. References (`$ref`) become edges,
/// so recursive schemas are finite graphs.
///
/// What the generated text looks like: compact JSON (no whitespace), object properties in the
/// schema's order (optional ones may be skipped), then additional properties only when the schema
/// says `additionalProperties: true` or gives their schema (an absent keyword adds none). Strings
/// constrained by `pattern` or `format` contain no escapes.
public final class SchemaGrammar: Sendable {
    public let nodes: [SchemaNode]
    /// The patterns that string nodes refer to by index.
    public let patterns: [PatternAutomaton]

    init(nodes: [SchemaNode], patterns: [PatternAutomaton]) {
        self.nodes = nodes
        self.patterns = patterns
    }
}

public enum SchemaNode: Sendable, Hashable {
    case object(ObjectShape)
    case array(ArrayShape)
    case string(StringShape)
    case number(NumberShape)
    /// `enum`, `const`, `boolean` and `null`: the value is one of these serialized texts.
    case literals(LiteralTrie)
    /// `anyOf` (and `oneOf`, and `type` lists): any member; members are never unions themselves.
    case union([Int32])
}

public struct ObjectShape: Sendable, Hashable {
    public struct Property: Sendable, Hashable {
        public var name: String
        /// The key as the grammar emits it: the name as a JSON string, quotes included.
        public var keyBytes: [UInt8]
        public var node: Int32
        public var isRequired: Bool
    }

    public static let maxProperties = 64

    public var properties: [Property]
    /// The node of values under keys not in `properties`, or nil when no other key is allowed.
    public var additional: Int32?
    public var minProperties = 0
    public var maxProperties = Int.max

    /// The first required property at or after `index`, or `properties.count` when none is left.
    func nextRequired(from index: Int) -> Int {
        properties[index...].firstIndex(where: \.isRequired) ?? properties.count
    }
}

public struct ArrayShape: Sendable, Hashable {
    /// Nodes of the first items, one each (`prefixItems`).
    public var prefix: [Int32]
    /// The node of items after the prefix; nil when no further item is allowed.
    public var items: Int32?
    public var minItems: Int
    public var maxItems: Int

    func node(at index: Int) -> Int32? { index < prefix.count ? prefix[index] : items }
}

public struct StringShape: Sendable, Hashable {
    /// Length bounds in Unicode scalars (JSON Schema counts code points).
    public var minLength: Int
    public var maxLength: Int
    /// Index into `SchemaGrammar.patterns`, for `pattern` and `format`.
    public var pattern: Int32?
}

public struct NumberShape: Sendable, Hashable {
    public var isInteger: Bool
    /// Inclusive bounds; exclusive ones are kept as flags so non-integers compare exactly.
    public var minimum: Double?
    public var maximum: Double?
    public var minimumIsExclusive = false
    public var maximumIsExclusive = false

    public var isBounded: Bool { minimum != nil || maximum != nil }

    func admits(_ v: Double) -> Bool {
        if let lo = minimum, minimumIsExclusive ? !(v > lo) : !(v >= lo) { return false }
        if let hi = maximum, maximumIsExclusive ? !(v < hi) : !(v <= hi) { return false }
        return true
    }

    /// True when some value between `low` and `high` passes the bounds (`high` may be infinite);
    /// an open end is itself out of reach.
    func intersects(low: Double, high: Double, lowOpen: Bool = false, highOpen: Bool = false) -> Bool {
        if let lo = minimum, high < lo || (high == lo && (minimumIsExclusive || highOpen)) { return false }
        if let hi = maximum, low > hi || (low == hi && (maximumIsExclusive || lowOpen)) { return false }
        return true
    }
}

/// Serialized values as a byte trie: node 0 is the root; each node lists its children by byte.
public struct LiteralTrie: Sendable, Hashable {
    var childStart: [Int32] = [0]
    var childBytes: [UInt8] = []
    var childNodes: [Int32] = []
    /// Whether a value ends at the node.
    var isEnd: [Bool] = [false]

    init(texts: [[UInt8]]) {
        var children: [[(UInt8, Int32)]] = [[]]
        var ends = [false]
        for text in texts {
            var node = 0
            for b in text {
                if let next = children[node].first(where: { $0.0 == b }) {
                    node = Int(next.1)
                } else {
                    children.append([])
                    ends.append(false)
                    children[node].append((b, Int32(children.count - 1)))
                    node = children.count - 1
                }
            }
            ends[node] = true
        }
        childStart = [0]
        for list in children {
            for (b, n) in list.sorted(by: { $0.0 < $1.0 }) {
                childBytes.append(b)
                childNodes.append(n)
            }
            childStart.append(Int32(childBytes.count))
        }
        isEnd = ends
    }

    func child(of node: Int32, _ byte: UInt8) -> Int32? {
        for i in Int(childStart[Int(node)])..<Int(childStart[Int(node) + 1]) where childBytes[i] == byte {
            return childNodes[i]
        }
        return nil
    }

    func hasChildren(_ node: Int32) -> Bool { childStart[Int(node)] < childStart[Int(node) + 1] }

    func childBytes(of node: Int32) -> [UInt8] {
        Array(childBytes[Int(childStart[Int(node)])..<Int(childStart[Int(node) + 1])])
    }

    public var nodeCount: Int { isEnd.count }
}
