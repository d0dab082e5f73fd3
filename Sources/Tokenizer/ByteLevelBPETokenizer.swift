import Foundation
import GGUF

/// Text ↔ token ids for byte-level BPE vocabularies, GGUF `tokenizer.ggml.model = "gpt2"` (GPT-2,
/// Llama 3, Qwen 2 and the many models that copied them).
///
/// Encoding: control and user-defined tokens written in the text are split out first (longest
/// match); the rest is cut into words by the regex that `tokenizer.ggml.pre` names; each word's
/// UTF-8 bytes start as one symbol per byte (GPT-2's byte → printable character table) and the
/// adjacent pair with the lowest `tokenizer.ggml.merges` rank merges until none is left.
/// Decoding maps every token back to the raw bytes it stands for, so a character cut across tokens
/// is only put together by `StreamingDetokenizer` or `decode`.
///
/// `@unchecked Sendable`: everything is immutable after `init` except `wordCache`, which locks;
/// `NSRegularExpression` is documented as safe to use from several threads.
public final class ByteLevelBPETokenizer: @unchecked Sendable {
    /// Token strings as the GGUF spells them (normal tokens in the byte alphabet: "Ġthe").
    public let tokens: [String]
    public let types: [PieceType]
    public let bosID: Int32
    public let eosID: Int32
    public let addsBOS: Bool
    /// The `tokenizer.ggml.pre` value this tokenizer was built for.
    public let preTokenizerName: String

    private let preTokenizer: PreTokenizer
    /// The raw bytes each id stands for (control and user-defined tokens: their written form).
    private let tokenBytes: [[UInt8]]
    /// Byte-alphabet spelling of a normal token → id: what merging looks up.
    private let idOfSpelling: [String: Int32]
    /// (left id << 32 | right id) → rank and merged id.
    private let merges: [UInt64: Merge]
    /// Id of the one-byte token for each byte value, -1 where the vocabulary lacks it.
    private let byteIDs: [Int32]
    private let specials: SpecialTokenTable
    private let wordCache = WordCache(limit: 16_384)

    struct Merge {
        var rank: Int32
        var id: Int32
    }

    /// Builds the tokenizer from a GGUF file's `tokenizer.ggml.*` metadata.
    public convenience init(gguf: GGUFFile) throws {
        let model = gguf.metadata["tokenizer.ggml.model"]?.string ?? "missing"
        guard model == "gpt2" else { throw TokenizerError.unsupportedModel(file: gguf.path, model: model) }
        guard case let .strings(tokens) = try gguf.array("tokenizer.ggml.tokens") else {
            throw TokenizerError.missingVocabulary(file: gguf.path,
                                                   reason: "tokenizer.ggml.tokens is not a string array")
        }
        guard case let .array(.strings(merges))? = gguf.metadata["tokenizer.ggml.merges"] else {
            throw TokenizerError.missingVocabulary(file: gguf.path, reason: "tokenizer.ggml.merges is missing")
        }
        var types = [PieceType](repeating: .normal, count: tokens.count)
        if case let .array(.integers(values))? = gguf.metadata["tokenizer.ggml.token_type"],
           values.count == tokens.count {
            types = values.map { PieceType(rawValue: $0) ?? .normal }
        }
        func id(_ key: String) -> Int32? { gguf.metadata[key]?.int.flatMap { Int32(exactly: $0) } }
        guard let eos = id("tokenizer.ggml.eos_token_id") else {
            throw TokenizerError.missingVocabulary(file: gguf.path, reason: "tokenizer.ggml.eos_token_id is missing")
        }
        try self.init(tokens: tokens, types: types, merges: merges,
                      preTokenizer: gguf.metadata["tokenizer.ggml.pre"]?.string ?? "default",
                      bosID: id("tokenizer.ggml.bos_token_id") ?? eos, eosID: eos,
                      addBOS: gguf.metadata["tokenizer.ggml.add_bos_token"]?.bool, file: gguf.path)
    }

    /// Builds the tokenizer from a vocabulary in memory. `merges` are "left right" strings, best
    /// first; `addBOS` nil takes the pre-tokenizer's default (llama.cpp's: on for Llama 3 only).
    public init(tokens: [String], types: [PieceType], merges: [String], preTokenizer: String,
                bosID: Int32, eosID: Int32, addBOS: Bool?, file: String = "<memory>") throws {
        guard types.count == tokens.count else {
            throw TokenizerError.missingVocabulary(file: file, reason: "\(types.count) token types for "
                                                   + "\(tokens.count) tokens")
        }
        for special in [bosID, eosID] where !(0..<Int32(tokens.count)).contains(special) {
            throw TokenizerError.missingVocabulary(file: file, reason: "special id \(special) is outside the "
                                                   + "vocabulary of \(tokens.count)")
        }
        guard let pre = try PreTokenizer(name: preTokenizer) else {
            throw TokenizerError.unsupportedPreTokenizer(file: file, name: preTokenizer)
        }
        self.tokens = tokens
        self.types = types
        self.bosID = bosID
        self.eosID = eosID
        self.addsBOS = addBOS ?? pre.addsBOSByDefault
        self.preTokenizerName = preTokenizer
        self.preTokenizer = pre
        tokenBytes = zip(tokens, types).map { ByteAlphabet.decodedBytes(of: $0, type: $1) }
        var spellings: [String: Int32] = [:]
        spellings.reserveCapacity(tokens.count)
        for (i, type) in types.enumerated() where type == .normal || type == .byte {
            let spelling = ByteAlphabet.spelling(of: tokenBytes[i])
            if spellings[spelling] == nil { spellings[spelling] = Int32(i) }
        }
        idOfSpelling = spellings
        byteIDs = (0..<256).map { spellings[ByteAlphabet.spelling(of: [UInt8($0)])] ?? -1 }
        self.merges = Self.mergeTable(merges, ids: spellings)
        specials = SpecialTokenTable(tokens: tokens, types: types)
    }

    /// Encodes `text`. With `parseSpecial`, control tokens written in the text become their ids;
    /// user-defined tokens (such as `<think>`) always do, as in llama.cpp.
    public func encode(_ text: String, addBOS: Bool = false, parseSpecial: Bool = true) throws -> [Int32] {
        var ids: [Int32] = addBOS ? [bosID] : []
        let bytes = Array(text.utf8)
        var start = 0, i = 0
        while i < bytes.count {
            if let (id, length) = specials.match(bytes, at: i, includeControl: parseSpecial) {
                encodePlain(bytes[start..<i], into: &ids)
                ids.append(id)
                i += length
                start = i
            } else {
                i += 1
            }
        }
        encodePlain(bytes[start..<bytes.count], into: &ids)
        return ids
    }

    /// The raw bytes `id` stands for; control tokens have none unless `includeSpecial`.
    public func bytes(of id: Int32, includeSpecial: Bool = false) throws -> [UInt8] {
        guard id >= 0, Int(id) < tokenBytes.count else {
            throw TokenizerError.tokenOutOfRange(id, vocabularySize: tokenBytes.count)
        }
        switch types[Int(id)] {
        case .control, .unknown, .unused: return includeSpecial ? tokenBytes[Int(id)] : []
        default: return tokenBytes[Int(id)]
        }
    }

    /// Decodes ids to text; invalid UTF-8 (a character cut at the end) becomes U+FFFD.
    public func decode(_ ids: [Int32], includeSpecial: Bool = false) throws -> String {
        var out: [UInt8] = []
        for id in ids { out += try bytes(of: id, includeSpecial: includeSpecial) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The id of a token written as the GGUF spells it (`<|eot_id|>`), else of the token whose bytes
    /// are exactly `piece` ("\n" → "Ċ"). The first is a linear search: for start-up look-ups only.
    public func id(ofPiece piece: String) -> Int32? {
        if let i = tokens.firstIndex(of: piece) { return Int32(i) }
        return idOfSpelling[ByteAlphabet.spelling(of: Array(piece.utf8))]
    }

    /// Whether an id is a control token (never part of visible text).
    public func isControl(_ id: Int32) -> Bool {
        id >= 0 && Int(id) < types.count && types[Int(id)] == .control
    }

    // MARK: internals

    /// "Ġ t" → (id of "Ġ", id of "t") ↦ (rank, id of "Ġt"). Like llama.cpp, the split is at the first
    /// space after the first character, the first of duplicate pairs wins, and a merge naming a
    /// token the vocabulary lacks is dropped.
    private static func mergeTable(_ merges: [String], ids: [String: Int32]) -> [UInt64: Merge] {
        var table: [UInt64: Merge] = [:]
        table.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            let utf8 = Array(merge.utf8)
            guard utf8.count >= 3, let space = utf8[1...].firstIndex(of: 0x20) else { continue }
            let left = String(decoding: utf8[..<space], as: UTF8.self)
            let right = String(decoding: utf8[(space + 1)...], as: UTF8.self)
            guard let l = ids[left], let r = ids[right], let merged = ids[left + right] else { continue }
            let key = pairKey(l, r)
            if table[key] == nil { table[key] = Merge(rank: Int32(rank), id: merged) }
        }
        return table
    }

    static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Text with no special token in it: words by the pre-tokenizer, then BPE on each word.
    private func encodePlain(_ bytes: ArraySlice<UInt8>, into ids: inout [Int32]) {
        guard !bytes.isEmpty else { return }
        let text = String(decoding: bytes, as: UTF8.self)
        let utf8 = Array(text.utf8)
        for word in preTokenizer.words(in: text) {
            encodeWord(utf8[word], into: &ids)
        }
    }

    private func encodeWord(_ word: ArraySlice<UInt8>, into ids: inout [Int32]) {
        let cacheable = word.count <= WordCache.maxWordLength
        if cacheable, let cached = wordCache[word] {
            ids += cached
            return
        }
        let result: [Int32]
        if preTokenizer.ignoresMerges, let whole = idOfSpelling[ByteAlphabet.spelling(of: word)] {
            result = [whole]
        } else {
            result = mergeBytes(word)
        }
        if cacheable { wordCache[word] = result }
        ids += result
    }

    /// BPE on one word: start from one symbol per byte and repeatedly merge the adjacent pair with
    /// the lowest rank (leftmost on ties) through a heap of candidate pairs. A candidate is stale when
    /// either side has changed since it was pushed; ids only ever grow into longer tokens, so
    /// comparing the two ids is enough to tell. A byte the vocabulary lacks is dropped (llama.cpp).
    func mergeBytes(_ word: ArraySlice<UInt8>) -> [Int32] {
        var symbols = word.map { byteIDs[Int($0)] }   // [n] token id per position, gone = -2
        let n = symbols.count
        guard n > 1 else { return symbols.filter { $0 >= 0 } }
        var next = Array(1...n)                        // [n] following live position, -1 at the end
        next[n - 1] = -1
        var previous = Array(-1..<(n - 1))             // [n] preceding live position, -1 at the start
        var queue = MergeQueue()
        queue.reserve(n)

        func consider(_ left: Int) {
            let right = next[left]
            guard right >= 0, let merge = merges[Self.pairKey(symbols[left], symbols[right])] else { return }
            queue.push(MergeQueue.Candidate(rank: merge.rank, left: Int32(left), right: Int32(right),
                                            leftID: symbols[left], rightID: symbols[right], merged: merge.id))
        }

        for i in 0..<(n - 1) { consider(i) }
        while let c = queue.pop() {
            let left = Int(c.left), right = Int(c.right)
            guard next[left] == right, symbols[left] == c.leftID, symbols[right] == c.rightID else { continue }
            symbols[left] = c.merged
            symbols[right] = -2
            next[left] = next[right]
            if next[right] >= 0 { previous[next[right]] = left }
            if previous[left] >= 0 { consider(previous[left]) }
            consider(left)
        }
        var out: [Int32] = []
        var i = 0
        while i >= 0 {
            if symbols[i] >= 0 { out.append(symbols[i]) }
            i = next[i]
        }
        return out
    }
}

extension ByteLevelBPETokenizer: TextTokenizer {
    public var vocabularySize: Int { tokens.count }
}

// MARK: - pre-tokenizers

/// The regex that cuts text into words before BPE, chosen by `tokenizer.ggml.pre`.
///
/// Written for ICU (`NSRegularExpression`) to split exactly where Hugging Face `tokenizers`
/// (Oniguruma) does: ICU's `\s` is `[\t\n\f\r\p{Z}]`, which lacks U+000B and U+0085 that
/// Oniguruma's `\s` (Unicode White_Space) has, so whitespace is spelled out. The contractions stay
/// `(?i:…)` as in tokenizer.json: Oniguruma folds `'ſ` (long s) into `'s`, and so does ICU's case
/// folding; llama.cpp's `'[sS]` spelling does not.
struct PreTokenizer {
    let regex: NSRegularExpression
    /// A word that is itself a token is emitted whole, without merging (Llama 3's `ignore_merges`).
    let ignoresMerges: Bool
    /// What llama.cpp assumes when the GGUF has no `tokenizer.ggml.add_bos_token`.
    let addsBOSByDefault: Bool

    /// Unicode White_Space, the contents of a character class.
    static let space = #"\t\n\x{0B}\f\r\x{85}\p{Z}"#
    static let s = "[\(space)]"
    static let notS = "[^\(space)]"
    static let contractionsAnyCase = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)"#

    /// Llama 3's tokenizer.json: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
    static let llama3 = contractionsAnyCase + #"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"#
        + "| ?[^\(space)\\p{L}\\p{N}]+[\\r\\n]*|\(s)*[\\r\\n]+|\(s)+(?!\(notS))|\(s)+"
    /// Qwen 2: Llama 3's with single digits.
    static let qwen2 = contractionsAnyCase + #"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"#
        + "| ?[^\(space)\\p{L}\\p{N}]+[\\r\\n]*|\(s)*[\\r\\n]+|\(s)+(?!\(notS))|\(s)+"
    /// GPT-2 (the `ByteLevel` pre-tokenizer's regex): lower-case contractions only.
    static let gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+"#
        + "| ?[^\(space)\\p{L}\\p{N}]+|\(s)+(?!\(notS))|\(s)+"

    /// nil for a name this tokenizer does not know. "default" (and a missing key) is GPT-2's regex, as
    /// transformers reads such files; llama.cpp's own "default" differs (a chain of four regexes).
    init?(name: String) throws {
        let choice: (pattern: String, ignoresMerges: Bool, addsBOS: Bool)
        switch name {
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral": choice = (Self.llama3, true, true)
        case "dbrx", "smaug-bpe": choice = (Self.llama3, false, false)
        case "qwen2", "deepseek-r1-qwen", "megrez", "stablelm2": choice = (Self.qwen2, false, false)
        case "gpt-2", "gpt2", "phi-2", "default": choice = (Self.gpt2, false, false)
        default: return nil
        }
        regex = try NSRegularExpression(pattern: choice.pattern, options: [])
        ignoresMerges = choice.ignoresMerges
        addsBOSByDefault = choice.addsBOS
    }

    /// The UTF-8 byte ranges of the words of `text`, in order, covering all of it (text between two
    /// matches, which these regexes never leave, would be a word of its own).
    func words(in text: String) -> [Range<Int>] {
        // UTF-16 offset (what NSRegularExpression reports) → UTF-8 offset, at every scalar boundary.
        let utf16Count = text.utf16.count
        var byteOffset = [Int](repeating: 0, count: utf16Count + 1)
        var u16 = 0, u8 = 0
        for scalar in text.unicodeScalars {
            byteOffset[u16] = u8
            let v = scalar.value
            if v >= 0x10000 { byteOffset[u16 + 1] = u8 }
            u16 += v >= 0x10000 ? 2 : 1
            u8 += v < 0x80 ? 1 : v < 0x800 ? 2 : v < 0x10000 ? 3 : 4
        }
        byteOffset[u16] = u8

        var words: [Range<Int>] = []
        var last = 0
        for match in regex.matches(in: text, options: [], range: NSRange(location: 0, length: utf16Count)) {
            let r = match.range
            guard r.location != NSNotFound, r.length > 0 else { continue }
            if r.location > last { words.append(byteOffset[last]..<byteOffset[r.location]) }
            words.append(byteOffset[r.location]..<byteOffset[r.location + r.length])
            last = r.location + r.length
        }
        if last < utf16Count { words.append(byteOffset[last]..<byteOffset[utf16Count]) }
        return words
    }
}

// MARK: - GPT-2's byte alphabet

/// GPT-2's `bytes_to_unicode`: bytes that are printable Latin-1 (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) stand
/// for themselves; the other 68 (controls, space, DEL, NBSP, soft hyphen) become U+0100 onwards in
/// byte order, so a space is "Ġ" (U+0120) and a newline "Ċ" (U+010A).
enum ByteAlphabet {
    static let scalars: [Unicode.Scalar] = {
        var table: [Unicode.Scalar] = []
        var shifted: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table.append(Unicode.Scalar(UInt8(b)))
            } else {
                table.append(Unicode.Scalar(shifted)!)
                shifted += 1
            }
        }
        return table
    }()

    /// Scalar value (below U+0144) → the byte it spells, -1 for characters outside the alphabet.
    static let byteOfScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, scalar) in scalars.enumerated() { table[Int(scalar.value)] = Int16(b) }
        return table
    }()

    static func spelling(of bytes: some Sequence<UInt8>) -> String {
        var view = String.UnicodeScalarView()
        for b in bytes { view.append(scalars[Int(b)]) }
        return String(view)
    }

    /// The raw bytes of a token: control and user-defined tokens are written as plain text; a normal
    /// token is spelled in the byte alphabet, and a character outside it (a file that stored raw
    /// UTF-8) stands for its own UTF-8 bytes, as transformers reads it.
    static func decodedBytes(of token: String, type: PieceType) -> [UInt8] {
        switch type {
        case .control, .userDefined, .unknown, .unused:
            return Array(token.utf8)
        case .byte:
            if token.hasPrefix("<0x"), token.hasSuffix(">"), token.utf8.count == 6,
               let value = UInt8(token.dropFirst(3).dropLast(), radix: 16) {
                return [value]
            }
            fallthrough
        case .normal:
            var out: [UInt8] = []
            for scalar in token.unicodeScalars {
                let v = Int(scalar.value)
                if v < byteOfScalar.count, byteOfScalar[v] >= 0 {
                    out.append(UInt8(byteOfScalar[v]))
                } else {
                    out += Array(String(scalar).utf8)
                }
            }
            return out
        }
    }
}

// MARK: - special tokens, merge queue, word cache

/// Control and user-defined tokens by their written form, matched longest first.
struct SpecialTokenTable {
    private var ids: [[UInt8]: Int32] = [:]
    private var isControl: [Int32: Bool] = [:]
    private var lengths: [Int] = []
    private var firstBytes = Set<UInt8>()

    init(tokens: [String], types: [PieceType]) {
        for (i, token) in tokens.enumerated() where !token.isEmpty {
            guard types[i] == .control || types[i] == .userDefined else { continue }
            let bytes = Array(token.utf8)
            if ids[bytes] == nil {
                ids[bytes] = Int32(i)
                isControl[Int32(i)] = types[i] == .control
            }
        }
        lengths = Set(ids.keys.map(\.count)).sorted(by: >)
        firstBytes = Set(ids.keys.compactMap(\.first))
    }

    /// The longest special token starting at `i`, and its length in bytes.
    func match(_ bytes: [UInt8], at i: Int, includeControl: Bool) -> (Int32, Int)? {
        guard firstBytes.contains(bytes[i]) else { return nil }
        for length in lengths where i + length <= bytes.count {
            if let id = ids[Array(bytes[i..<i + length])], includeControl || isControl[id] != true {
                return (id, length)
            }
        }
        return nil
    }
}

/// A binary min-heap of merge candidates ordered by (rank, left position).
struct MergeQueue {
    struct Candidate {
        var rank: Int32
        var left: Int32
        var right: Int32
        var leftID: Int32
        var rightID: Int32
        var merged: Int32

        func precedes(_ other: Candidate) -> Bool {
            rank != other.rank ? rank < other.rank : left < other.left
        }
    }

    private var heap: [Candidate] = []

    mutating func reserve(_ n: Int) { heap.reserveCapacity(n) }

    mutating func push(_ c: Candidate) {
        heap.append(c)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].precedes(heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Candidate? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return top }
        heap[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < heap.count, heap[l].precedes(heap[best]) { best = l }
            if r < heap.count, heap[r].precedes(heap[best]) { best = r }
            if best == i { break }
            heap.swapAt(i, best)
            i = best
        }
        return top
    }
}

/// Ids of recently seen words. Bounded: when full it is emptied (words repeat within a text, so a
/// cold start costs little and no bookkeeping is paid per look-up).
final class WordCache: @unchecked Sendable {
    static let maxWordLength = 64
    private let limit: Int
    private var entries: [[UInt8]: [Int32]] = [:]
    private let lock = NSLock()

    init(limit: Int) { self.limit = limit }

    subscript(word: ArraySlice<UInt8>) -> [Int32]? {
        get {
            lock.lock()
            defer { lock.unlock() }
            return entries[Array(word)]
        }
        set {
            lock.lock()
            defer { lock.unlock() }
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[Array(word)] = newValue
        }
    }
}
