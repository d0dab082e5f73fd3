/// Why a schema cannot be compiled: the keyword at fault (when there is one) and where it is, as a
/// JSON pointer into the schema (`#/properties/tags/uniqueItems`).
public struct SchemaError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public static func unsupported(_ keyword: String, at path: String) -> SchemaError {
        SchemaError(path: path + "/" + keyword,
                    reason: "keyword '\(keyword)' is not supported (supported: "
                        + SchemaCompiler.supportedKeywords.sorted().joined(separator: ", ") + ")")
    }

    public var description: String { "\(reason) at \(path)" }
}

/// Bounds on what one schema may cost; each is a clear error when exceeded.
public struct SchemaLimits: Sendable, Equatable {
    /// Bytes of the schema, serialized compactly.
    public var maxSchemaBytes = 256 << 10
    /// Schema objects nested inside each other (references followed count too).
    public var maxDepth = 48
    /// Nodes of the compiled grammar.
    public var maxNodes = 20_000
    /// Values of one `enum`.
    public var maxEnumValues = 4096
    /// Bytes of all serialized `enum` and `const` values together.
    public var maxLiteralBytes = 1 << 20
    /// States of one pattern's automaton.
    public var maxPatternStates = PatternAutomaton.defaultMaxStates
    /// Distinct patterns (and formats) in one schema.
    public var maxPatterns = 64

    public init() {}
}
