/// Compiles the JSON Schema subset that OpenAI's strict mode and Pydantic v2 emit into a
/// `SchemaGrammar`. Every keyword is either understood, an annotation that says nothing about
/// validity, or an error naming the keyword and its place: a keyword is never silently dropped.
public struct SchemaCompiler {
    static let annotations: Set<String> = [
        "title", "description", "default", "examples", "$schema", "$id", "$comment", "readOnly", "writeOnly",
        "deprecated", "discriminator", "$anchor",
    ]
    static let structural: Set<String> = [
        "type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "$defs", "definitions",
        "properties", "required", "additionalProperties", "items", "prefixItems", "minItems", "maxItems",
        "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    ]
    public static var supportedKeywords: Set<String> { annotations.union(structural) }
    static let objectKeywords: Set<String> = ["properties", "required", "additionalProperties"]
    static let arrayKeywords: Set<String> = ["items", "prefixItems", "minItems", "maxItems"]
    static let stringKeywords: Set<String> = ["minLength", "maxLength", "pattern", "format"]
    static let numberKeywords: Set<String> = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]
    static let types = ["object", "array", "string", "number", "integer", "boolean", "null"]

    let root: JSONTree
    let limits: SchemaLimits
    private var nodes: [SchemaNode] = []
    private var patterns: [PatternAutomaton] = []
    private var patternIndex: [String: Int32] = [:]
    private var refNodes: [String: Int32] = [:]
    private var literalBytes = 0
    /// The node that accepts any JSON value, made on first use.
    private var anyNode: Int32?

    public static func compile(_ schema: JSONTree, limits: SchemaLimits = SchemaLimits()) throws(SchemaError)
        -> SchemaGrammar {
        var compiler = SchemaCompiler(root: schema, limits: limits)
        let rootNode = compiler.reserve()
        let compiled = try compiler.node(for: schema, path: "#", depth: 0)
        compiler.nodes[Int(rootNode)] = compiler.nodes[Int(compiled)]
        let nodes = try SchemaPruning.prune(compiler.nodes, patterns: compiler.patterns)
        try Self.checkRoot(nodes)
        return SchemaGrammar(nodes: nodes, patterns: compiler.patterns)
    }

    private init(root: JSONTree, limits: SchemaLimits) {
        self.root = root
        self.limits = limits
    }

    /// A number at the top level never tells when it is complete (another digit may follow), so the
    /// root must be a value that closes: an object, array, string or literal.
    private static func checkRoot(_ nodes: [SchemaNode]) throws(SchemaError) {
        let members: [Int32] = if case .union(let m) = nodes[0] { m } else { [0] }
        for m in members {
            switch nodes[Int(m)] {
            case .number:
                throw SchemaError(path: "#", reason: "a number cannot be the whole reply (its end is ambiguous): "
                                      + "wrap it in an object")
            case .literals(let trie) where (0..<Int32(trie.nodeCount)).contains { trie.isEnd[Int($0)]
                && trie.hasChildren($0) }:
                throw SchemaError(path: "#", reason: "an enum whose values are prefixes of each other cannot be "
                                      + "the whole reply: wrap it in an object")
            default: continue
            }
        }
    }

    private mutating func reserve() -> Int32 {
        nodes.append(.union([]))
        return Int32(nodes.count - 1)
    }

    private mutating func add(_ node: SchemaNode, path: String) throws(SchemaError) -> Int32 {
        guard nodes.count < limits.maxNodes else {
            throw SchemaError(path: path, reason: "the schema is too large: more than \(limits.maxNodes) grammar nodes")
        }
        nodes.append(node)
        return Int32(nodes.count - 1)
    }

    private mutating func node(for schema: JSONTree, path: String, depth: Int) throws(SchemaError) -> Int32 {
        guard depth <= limits.maxDepth else {
            throw SchemaError(path: path, reason: "the schema is nested deeper than \(limits.maxDepth) levels")
        }
        switch schema {
        case .bool(true): return try any(path: path)
        case .bool(false): throw SchemaError(path: path, reason: "schema 'false' matches nothing")
        case .object(let members):
            for (key, _) in members where !Self.supportedKeywords.contains(key) {
                throw SchemaError.unsupported(key, at: path)
            }
            return try objectSchema(schema, keys: Set(members.map(\.key)), path: path, depth: depth)
        default:
            throw SchemaError(path: path, reason: "a schema must be an object or a boolean")
        }
    }

    private mutating func objectSchema(_ schema: JSONTree, keys: Set<String>, path: String, depth: Int)
        throws(SchemaError) -> Int32 {
        let constraining = keys.subtracting(Self.annotations).subtracting(["$defs", "definitions"])
        if let ref = schema["$ref"] {
            if let other = constraining.subtracting(["$ref"]).sorted().first {
                throw SchemaError(path: path + "/" + other,
                                  reason: "'\(other)' beside '$ref' is not supported (move it into the definition)")
            }
            guard case .string(let target) = ref else {
                throw SchemaError(path: path + "/$ref", reason: "$ref must be a string")
            }
            return try reference(target, path: path + "/$ref", depth: depth)
        }
        if let all = schema["allOf"] {
            guard case .array(let members) = all, members.count == 1 else {
                throw SchemaError(path: path + "/allOf", reason: "allOf is supported with exactly one member")
            }
            if let other = constraining.subtracting(["allOf"]).sorted().first {
                throw SchemaError(path: path + "/" + other, reason: "'\(other)' beside 'allOf' is not supported")
            }
            return try node(for: members[0], path: path + "/allOf/0", depth: depth + 1)
        }
        for keyword in ["anyOf", "oneOf"] {
            guard let alternatives = schema[keyword] else { continue }
            if let other = constraining.subtracting([keyword]).sorted().first {
                throw SchemaError(path: path + "/" + other, reason: "'\(other)' beside '\(keyword)' is not supported")
            }
            guard case .array(let members) = alternatives, !members.isEmpty else {
                throw SchemaError(path: path + "/" + keyword, reason: "\(keyword) must be a non-empty array")
            }
            var ids: [Int32] = []
            for (i, member) in members.enumerated() {
                ids.append(try node(for: member, path: path + "/\(keyword)/\(i)", depth: depth + 1))
            }
            return try union(ids, path: path)
        }
        if let value = schema["const"] { return try literals([value], path: path + "/const") }
        if let values = schema["enum"] {
            guard case .array(let list) = values, !list.isEmpty else {
                throw SchemaError(path: path + "/enum", reason: "enum must be a non-empty array")
            }
            guard list.count <= limits.maxEnumValues else {
                throw SchemaError(path: path + "/enum",
                                  reason: "enum has \(list.count) values; at most \(limits.maxEnumValues) are allowed")
            }
            let typed = try declaredTypes(schema, path: path)
            let kept = typed.map { types in list.filter { types.contains(Self.typeName(of: $0)) } } ?? list
            guard !kept.isEmpty else {
                throw SchemaError(path: path + "/enum", reason: "no enum value has the declared type")
            }
            return try literals(kept, path: path + "/enum")
        }
        let types = try declaredTypes(schema, path: path) ?? inferredTypes(keys)
        var ids: [Int32] = []
        for type in types {
            ids.append(try typed(type, schema, path: path, depth: depth))
        }
        return ids.count == 1 ? ids[0] : try union(ids, path: path)
    }

    /// Types named by `type` (a string or a list), or nil when absent.
    private func declaredTypes(_ schema: JSONTree, path: String) throws(SchemaError) -> [String]? {
        guard let type = schema["type"] else { return nil }
        var names: [String] = []
        switch type {
        case .string(let one): names = [one]
        case .array(let list):
            for case .string(let name) in list { names.append(name) }
            guard names.count == list.count, !names.isEmpty else {
                throw SchemaError(path: path + "/type", reason: "type must be a string or a list of strings")
            }
        default: throw SchemaError(path: path + "/type", reason: "type must be a string or a list of strings")
        }
        for name in names where !Self.types.contains(name) {
            throw SchemaError(path: path + "/type", reason: "unknown type '\(name)'")
        }
        // "integer" is part of "number": keeping both would make one value match two members.
        return names.contains("number") ? names.filter { $0 != "integer" } : names
    }

    /// Without `type`, the keywords present say which types are meant; none means any value.
    private func inferredTypes(_ keys: Set<String>) -> [String] {
        var types: [String] = []
        if !keys.isDisjoint(with: Self.objectKeywords) { types.append("object") }
        if !keys.isDisjoint(with: Self.arrayKeywords) { types.append("array") }
        if !keys.isDisjoint(with: Self.stringKeywords) { types.append("string") }
        if !keys.isDisjoint(with: Self.numberKeywords) { types.append("number") }
        return types.isEmpty ? ["object", "array", "string", "number", "boolean", "null"] : types
    }

    static func typeName(of value: JSONTree) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(let n): return n == n.rounded() ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    private mutating func typed(_ type: String, _ schema: JSONTree, path: String, depth: Int) throws(SchemaError)
        -> Int32 {
        switch type {
        case "object": return try object(schema, path: path, depth: depth)
        case "array": return try array(schema, path: path, depth: depth)
        case "string": return try string(schema, path: path)
        case "number", "integer": return try number(schema, integer: type == "integer", path: path)
        case "boolean": return try literals([.bool(true), .bool(false)], path: path)
        default: return try literals([.null], path: path)
        }
    }

    private mutating func object(_ schema: JSONTree, path: String, depth: Int) throws(SchemaError) -> Int32 {
        var required: Set<String> = []
        if let list = schema["required"] {
            guard case .array(let names) = list else {
                throw SchemaError(path: path + "/required", reason: "required must be an array of strings")
            }
            for case .string(let name) in names { required.insert(name) }
        }
        var properties: [ObjectShape.Property] = []
        if let declared = schema["properties"] {
            guard case .object(let members) = declared else {
                throw SchemaError(path: path + "/properties", reason: "properties must be an object")
            }
            guard members.count <= ObjectShape.maxProperties else {
                throw SchemaError(path: path + "/properties",
                                  reason: "at most \(ObjectShape.maxProperties) properties per object are supported")
            }
            for (name, sub) in members where !properties.contains(where: { $0.name == name }) {
                let node = try node(for: sub, path: path + "/properties/" + Self.escapePointer(name), depth: depth + 1)
                properties.append(.init(name: name, keyBytes: Array(JSONTree.quoted(name).utf8), node: node,
                                        isRequired: required.contains(name)))
            }
        }
        if let missing = required.subtracting(properties.map(\.name)).sorted().first {
            throw SchemaError(path: path + "/required",
                              reason: "required property '\(missing)' is not in properties")
        }
        // Absent additionalProperties allows any key by the standard; generating keys the schema
        // never named is never what a client means, and leaving them out keeps every reply valid.
        var additional: Int32?
        switch schema["additionalProperties"] {
        case .bool(true)?: additional = try any(path: path)
        case nil, .bool(false)?: additional = nil
        case let sub?: additional = try node(for: sub, path: path + "/additionalProperties", depth: depth + 1)
        }
        return try add(.object(ObjectShape(properties: properties, additional: additional)), path: path)
    }

    private mutating func array(_ schema: JSONTree, path: String, depth: Int) throws(SchemaError) -> Int32 {
        var prefix: [Int32] = []
        if let declared = schema["prefixItems"] {
            guard case .array(let list) = declared else {
                throw SchemaError(path: path + "/prefixItems", reason: "prefixItems must be an array of schemas")
            }
            for (i, sub) in list.enumerated() {
                prefix.append(try node(for: sub, path: path + "/prefixItems/\(i)", depth: depth + 1))
            }
        }
        var items: Int32?
        switch schema["items"] {
        case nil, .bool(true)?: items = try any(path: path)
        case .bool(false)?: items = nil
        case .array?:
            throw SchemaError(path: path + "/items", reason: "items as a list is not supported: use prefixItems")
        case let sub?: items = try node(for: sub, path: path + "/items", depth: depth + 1)
        }
        let minItems = try count(schema, "minItems", path: path) ?? 0
        var maxItems = try count(schema, "maxItems", path: path) ?? Int.max
        if items == nil { maxItems = min(maxItems, prefix.count) }
        return try add(.array(ArrayShape(prefix: prefix, items: items, minItems: minItems, maxItems: maxItems)),
                       path: path)
    }

    private mutating func string(_ schema: JSONTree, path: String) throws(SchemaError) -> Int32 {
        let minLength = try count(schema, "minLength", path: path) ?? 0
        let maxLength = try count(schema, "maxLength", path: path) ?? Int.max
        var patternSource: String?
        var patternPath = path
        if let p = schema["pattern"] {
            guard case .string(let source) = p else {
                throw SchemaError(path: path + "/pattern", reason: "pattern must be a string")
            }
            (patternSource, patternPath) = (source, path + "/pattern")
        }
        if let f = schema["format"] {
            guard case .string(let name) = f, let source = PatternAutomaton.formatPatterns[name] else {
                let known = PatternAutomaton.formatPatterns.keys.sorted().joined(separator: ", ")
                throw SchemaError(path: path + "/format", reason: "format \(f.compactText) is not supported "
                                      + "(supported: \(known))")
            }
            guard patternSource == nil else {
                throw SchemaError(path: path + "/format", reason: "format beside pattern is not supported")
            }
            (patternSource, patternPath) = (source, path + "/format")
        }
        var pattern: Int32?
        if let source = patternSource { pattern = try compilePattern(source, path: patternPath) }
        return try add(.string(StringShape(minLength: minLength, maxLength: maxLength, pattern: pattern)), path: path)
    }

    private mutating func compilePattern(_ source: String, path: String) throws(SchemaError) -> Int32 {
        if let known = patternIndex[source] { return known }
        guard patterns.count < limits.maxPatterns else {
            throw SchemaError(path: path, reason: "at most \(limits.maxPatterns) distinct patterns are supported")
        }
        do {
            patterns.append(try PatternAutomaton.compile(source, maxStates: limits.maxPatternStates))
        } catch {
            throw SchemaError(path: path, reason: "pattern \(JSONTree.quoted(source)): \(error.message)")
        }
        patternIndex[source] = Int32(patterns.count - 1)
        return Int32(patterns.count - 1)
    }

    private mutating func number(_ schema: JSONTree, integer: Bool, path: String) throws(SchemaError) -> Int32 {
        var shape = NumberShape(isInteger: integer)
        func bound(_ keyword: String) throws(SchemaError) -> Double? {
            switch schema[keyword] {
            case nil: return nil
            case .number(let v)?: return v
            default: throw SchemaError(path: path + "/" + keyword, reason: "\(keyword) must be a number")
            }
        }
        shape.minimum = try bound("minimum")
        shape.maximum = try bound("maximum")
        if let lo = try bound("exclusiveMinimum"), shape.minimum.map({ lo >= $0 }) ?? true {
            (shape.minimum, shape.minimumIsExclusive) = (lo, true)
        }
        if let hi = try bound("exclusiveMaximum"), shape.maximum.map({ hi <= $0 }) ?? true {
            (shape.maximum, shape.maximumIsExclusive) = (hi, true)
        }
        if integer { // integer bounds become inclusive integers, exactly what the digits can meet
            if let lo = shape.minimum {
                shape.minimum = shape.minimumIsExclusive ? (lo + 1).rounded(.down) : lo.rounded(.up)
            }
            if let hi = shape.maximum {
                shape.maximum = shape.maximumIsExclusive ? (hi - 1).rounded(.up) : hi.rounded(.down)
            }
            (shape.minimumIsExclusive, shape.maximumIsExclusive) = (false, false)
        }
        return try add(.number(shape), path: path)
    }

    private func count(_ schema: JSONTree, _ keyword: String, path: String) throws(SchemaError) -> Int? {
        switch schema[keyword] {
        case nil: return nil
        case .number(let v)? where v >= 0 && v == v.rounded() && v < 1e9: return Int(v)
        default: throw SchemaError(path: path + "/" + keyword, reason: "\(keyword) must be a non-negative integer")
        }
    }

    private mutating func literals(_ values: [JSONTree], path: String) throws(SchemaError) -> Int32 {
        let texts = values.map { Array($0.compactText.utf8) }
        literalBytes += texts.reduce(0) { $0 + $1.count }
        guard literalBytes <= limits.maxLiteralBytes else {
            throw SchemaError(path: path, reason: "enum and const values exceed \(limits.maxLiteralBytes) bytes")
        }
        return try add(.literals(LiteralTrie(texts: texts)), path: path)
    }

    /// A union of `members`, nested unions flattened.
    private mutating func union(_ members: [Int32], path: String) throws(SchemaError) -> Int32 {
        var flat: [Int32] = []
        for m in members {
            if case .union(let inner) = nodes[Int(m)], !inner.isEmpty { flat += inner } else { flat.append(m) }
        }
        return try add(.union(flat), path: path)
    }

    /// Any JSON value: an object or array of any values, a string, a number, true, false or null.
    private mutating func any(path: String) throws(SchemaError) -> Int32 {
        if let known = anyNode { return known }
        let id = reserve()
        anyNode = id
        let object = try add(.object(ObjectShape(properties: [], additional: id)), path: path)
        let array = try add(.array(ArrayShape(prefix: [], items: id, minItems: 0, maxItems: .max)), path: path)
        let string = try add(.string(StringShape(minLength: 0, maxLength: .max, pattern: nil)), path: path)
        let number = try add(.number(NumberShape(isInteger: false)), path: path)
        let words = try literals([.bool(true), .bool(false), .null], path: path)
        nodes[Int(id)] = .union([object, array, string, number, words])
        return id
    }

    /// `#`, `#/$defs/Name` or `#/definitions/Name` (JSON pointer escapes allowed); a node per
    /// target, so recursion closes into a cycle.
    private mutating func reference(_ target: String, path: String, depth: Int) throws(SchemaError) -> Int32 {
        if let known = refNodes[target] { return known }
        guard target == "#" || target.hasPrefix("#/") else {
            throw SchemaError(path: path, reason: "only local references ('#/$defs/…') are supported, not '\(target)'")
        }
        var value = root
        for part in target.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) where target != "#" {
            let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = value[key] else {
                throw SchemaError(path: path, reason: "reference '\(target)' points to nothing")
            }
            value = next
        }
        let id = reserve()
        refNodes[target] = id
        let compiled = try node(for: value, path: target, depth: depth + 1)
        if compiled != id { nodes[Int(id)] = nodes[Int(compiled)] }
        return id
    }

    static func escapePointer(_ name: String) -> String {
        name.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
