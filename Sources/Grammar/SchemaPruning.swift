/// Removes from a compiled schema every choice that can never finish a value, so generation cannot
/// walk into a dead end: a `$ref` cycle with no base case, an empty numeric range, a pattern longer
/// than its maxLength allows. Also flattens unions of unions left by references.
enum SchemaPruning {
    static func prune(_ input: [SchemaNode], patterns: [PatternAutomaton]) throws(SchemaError) -> [SchemaNode] {
        var nodes = flattenUnions(input)
        var productive = [Bool](repeating: false, count: nodes.count)
        var changed = true
        while changed { // least fixed point: a node is productive once some finite value of it exists
            changed = false
            for (i, node) in nodes.enumerated() where !productive[i] {
                if isProductive(node, productive, patterns) {
                    productive[i] = true
                    changed = true
                }
            }
        }
        guard productive[0] else {
            throw SchemaError(path: "#", reason: "the schema admits no finite value (a $ref cycle with no base case, "
                                  + "an empty range or an impossible length)")
        }
        for i in nodes.indices where productive[i] {
            switch nodes[i] {
            case .union(let members): nodes[i] = .union(members.filter { productive[Int($0)] })
            case .object(var shape):
                shape.properties.removeAll { !productive[Int($0.node)] }
                if let extra = shape.additional, !productive[Int(extra)] { shape.additional = nil }
                nodes[i] = .object(shape)
            case .array(var shape):
                if let items = shape.items, !productive[Int(items)] {
                    shape.items = nil
                    shape.maxItems = min(shape.maxItems, shape.prefix.count)
                }
                if shape.maxItems < shape.prefix.count { shape.prefix.removeLast(shape.prefix.count - shape.maxItems) }
                nodes[i] = .array(shape)
            default: break
            }
        }
        return nodes
    }

    private static func isProductive(_ node: SchemaNode, _ productive: [Bool], _ patterns: [PatternAutomaton])
        -> Bool {
        switch node {
        case .union(let members): return members.contains { productive[Int($0)] }
        case .object(let shape): return shape.properties.allSatisfy { !$0.isRequired || productive[Int($0.node)] }
        case .array(let shape):
            guard shape.minItems <= shape.maxItems else { return false }
            let needed = min(shape.minItems, shape.prefix.count)
            guard shape.prefix[..<needed].allSatisfy({ productive[Int($0)] }) else { return false }
            return shape.minItems <= shape.prefix.count || shape.items.map { productive[Int($0)] } ?? false
        case .string(let shape):
            guard shape.minLength <= shape.maxLength else { return false }
            guard let p = shape.pattern else { return true }
            let automaton = patterns[Int(p)]
            return automaton.minimumRemaining(automaton.start) <= shape.maxLength
        case .number(let shape):
            guard shape.intersects(low: shape.minimum ?? -.infinity, high: shape.maximum ?? .infinity) else {
                return false
            }
            if shape.isInteger, let lo = shape.minimum, let hi = shape.maximum { return lo <= hi }
            return true
        case .literals(let trie): return trie.isEnd.contains(true)
        }
    }

    /// Replaces each union member that is itself a union by its members, transitively.
    private static func flattenUnions(_ nodes: [SchemaNode]) -> [SchemaNode] {
        var out = nodes
        for (i, node) in nodes.enumerated() {
            guard case .union = node else { continue }
            var seen: Set<Int32> = [Int32(i)], flat: [Int32] = [], pending = [Int32(i)]
            while let next = pending.popLast() {
                guard case .union(let members) = nodes[Int(next)] else { continue }
                for m in members.reversed() where seen.insert(m).inserted {
                    if case .union = nodes[Int(m)] { pending.append(m) } else { flat.append(m) }
                }
            }
            out[i] = .union(flat.sorted())
        }
        return out
    }
}
