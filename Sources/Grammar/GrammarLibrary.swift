import Foundation

/// Everything grammars need for one vocabulary, built on first use (a server that never sees
/// `response_format` never pays for it): the token trie, the masks of JSON mode, and compiled
/// schemas, cached by schema (least recently used first out).
public final class GrammarLibrary: @unchecked Sendable {
    public let limits: SchemaLimits
    public let maxSchemas: Int
    private let lock = NSLock()
    private let tokenBytes: @Sendable () -> [[UInt8]]
    private let encode: ForcedTokenCache<SchemaRecognizer>.Encoder?
    private var builtTrie: TokenTrie?
    private var builtJSON: TokenMaskCache<JSONRecognizer>?
    private var builtStrings: StringTokenTable?
    private var schemas: [JSONTree: CompiledSchema] = [:]
    /// Schemas from least to most recently used.
    private var recency: [JSONTree] = []

    /// `encode` writes forced text as tokens (`ForcedTokenCache`); without it nothing is forced and
    /// every token is sampled under the mask.
    public init(limits: SchemaLimits = SchemaLimits(), maxSchemas: Int = 32,
                tokenBytes: @escaping @Sendable () -> [[UInt8]],
                encode: ForcedTokenCache<SchemaRecognizer>.Encoder? = nil) {
        self.limits = limits
        self.maxSchemas = maxSchemas
        self.tokenBytes = tokenBytes
        self.encode = encode
    }

    public var trie: TokenTrie {
        lock.withLock {
            if let builtTrie { return builtTrie }
            let made = TokenTrie(tokenBytes: tokenBytes())
            builtTrie = made
            return made
        }
    }

    /// Which tokens stay inside a schema string: masks in strings without a walk over the trie.
    public var strings: StringTokenTable {
        let trie = self.trie
        return lock.withLock {
            if let builtStrings { return builtStrings }
            let made = StringTokenTable(tokenBytes: trie.tokenBytes)
            builtStrings = made
            return made
        }
    }

    /// Masks for `response_format: {"type": "json_object"}`.
    public var jsonObject: TokenMaskCache<JSONRecognizer> {
        let trie = self.trie
        return lock.withLock {
            if let builtJSON { return builtJSON }
            let made = TokenMaskCache<JSONRecognizer>(trie: trie)
            builtJSON = made
            return made
        }
    }

    /// The compiled form of `schema`, compiled now or found in the cache.
    public func schema(_ schema: JSONTree) throws(SchemaError) -> CompiledSchema {
        if let known = lock.withLock({ () -> CompiledSchema? in
            guard let found = schemas[schema] else { return nil }
            recency.removeAll { $0 == schema }
            recency.append(schema)
            return found
        }) { return known }
        let size = schema.compactText.utf8.count
        guard size <= limits.maxSchemaBytes else {
            throw SchemaError(path: "#",
                              reason: "the schema has \(size) bytes; at most \(limits.maxSchemaBytes) are allowed")
        }
        let grammar = try SchemaCompiler.compile(schema, limits: limits)
        let compiled = CompiledSchema(grammar: grammar, trie: trie, strings: strings, encode: encode)
        lock.withLock {
            if schemas[schema] == nil {
                if schemas.count >= maxSchemas, let oldest = recency.first {
                    schemas[oldest] = nil
                    recency.removeFirst()
                }
                schemas[schema] = compiled
                recency.append(schema)
            }
        }
        return compiled
    }

    public var cachedSchemas: Int { lock.withLock { schemas.count } }
}
