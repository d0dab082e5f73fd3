import Foundation
import GGUF
import Testing

/// Builds small GGUF files in memory for the reader's tests.
struct GGUFBuilder {
    var bytes: [UInt8] = []

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes += Array(s.utf8)
    }

    /// A complete v3 file with the given metadata writers and one F32 tensor "t" of `elements` values.
    static func file(metadata: [(String, (inout GGUFBuilder) -> Void)], tensorType: UInt32 = 0, elements: Int = 8) -> [UInt8] {
        var b = GGUFBuilder()
        b.u32(0x4655_4747)
        b.u32(3)
        b.u64(1)
        b.u64(UInt64(metadata.count))
        for (key, write) in metadata {
            b.string(key)
            write(&b)
        }
        b.string("t")
        b.u32(1)
        b.u64(UInt64(elements))
        b.u32(tensorType)
        b.u64(0)
        while b.bytes.count % 32 != 0 { b.bytes.append(0) }
        for i in 0..<elements { withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { b.bytes += $0 } }
        return b.bytes
    }
}

struct GGUFReaderTests {
    func parse(_ bytes: [UInt8]) throws -> GGUFFile {
        try GGUFFile(storage: ByteStorage(copying: Data(bytes)), path: "test.gguf")
    }

    @Test func everyMetadataTypeParses() throws {
        let bytes = GGUFBuilder.file(metadata: [
            ("u8", { $0.u32(0); $0.bytes.append(200) }),
            ("i8", { $0.u32(1); $0.bytes.append(0xFF) }),
            ("u16", { $0.u32(2); $0.bytes += [0x34, 0x12] }),
            ("i16", { $0.u32(3); $0.bytes += [0xFE, 0xFF] }),
            ("u32", { $0.u32(4); $0.u32(70_000) }),
            ("i32", { $0.u32(5); $0.u32(UInt32(bitPattern: -5)) }),
            ("f32", { $0.u32(6); $0.u32(Float(1.5).bitPattern) }),
            ("bool", { $0.u32(7); $0.bytes.append(1) }),
            ("str", { $0.u32(8); $0.string("héllo") }),
            ("arr", { $0.u32(9); $0.u32(8); $0.u64(2); $0.string("a"); $0.string("bc") }),
            ("u64", { $0.u32(10); $0.u64(1 << 40) }),
            ("i64", { $0.u32(11); $0.u64(UInt64(bitPattern: -7)) }),
            ("f64", { $0.u32(12); $0.u64(Double(2.25).bitPattern) }),
            ("ints", { $0.u32(9); $0.u32(5); $0.u64(3); $0.u32(1); $0.u32(2); $0.u32(UInt32(bitPattern: -3)) }),
        ])
        let f = try parse(bytes)
        #expect(f.metadata["u8"] == .uint8(200))
        #expect(f.metadata["i8"] == .int8(-1))
        #expect(f.metadata["u16"] == .uint16(0x1234))
        #expect(f.metadata["i16"] == .int16(-2))
        #expect(f.metadata["u32"]?.int == 70_000)
        #expect(f.metadata["i32"]?.int == -5)
        #expect(f.metadata["f32"] == .float32(1.5))
        #expect(f.metadata["bool"] == .bool(true))
        #expect(f.metadata["str"]?.string == "héllo")
        #expect(f.metadata["arr"] == .array(.strings(["a", "bc"])))
        #expect(f.metadata["u64"]?.int == 1 << 40)
        #expect(f.metadata["i64"]?.int == -7)
        #expect(f.metadata["f64"]?.double == 2.25)
        #expect(f.metadata["ints"] == .array(.integers([1, 2, -3])))
        let t = try f.tensor("t")
        #expect(t.shape == [8])
        #expect(f.dequantized(t) == (0..<8).map(Float.init))
    }

    @Test func badMagicIsNamed() {
        var bytes = GGUFBuilder.file(metadata: [])
        bytes[0] = 0x00
        #expect(throws: GGUFError.badMagic(file: "test.gguf")) { try parse(bytes) }
    }

    @Test func unsupportedVersion() {
        var bytes = GGUFBuilder.file(metadata: [])
        bytes[4] = 9
        #expect(throws: GGUFError.unsupportedVersion(file: "test.gguf", version: 9)) { try parse(bytes) }
    }

    @Test func unsupportedTensorTypeNamesTheTensor() {
        let bytes = GGUFBuilder.file(metadata: [], tensorType: 10) // Q2_K
        do {
            _ = try parse(bytes)
            Issue.record("expected an error")
        } catch let error as GGUFError {
            #expect(error == .unsupportedTensorType(file: "test.gguf", tensor: "t", type: 10))
            #expect(error.description.contains("'t'") && error.description.contains("Q2_K"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("every truncation of a valid file is an error, never a crash")
    func truncations() {
        let bytes = GGUFBuilder.file(metadata: [("k", { $0.u32(8); $0.string("value") }),
                                               ("a", { $0.u32(9); $0.u32(4); $0.u64(3); $0.u32(1); $0.u32(2); $0.u32(3) })])
        for length in 0..<bytes.count {
            #expect(throws: GGUFError.self, "length \(length)") { try parse(Array(bytes.prefix(length))) }
        }
        #expect((try? parse(bytes)) != nil)
    }

    @Test("huge counts are refused before allocating")
    func hugeCounts() {
        // A string array claiming 2^60 elements.
        let bytes = GGUFBuilder.file(metadata: [("a", { $0.u32(9); $0.u32(8); $0.u64(1 << 60) })])
        #expect(throws: GGUFError.self) { try parse(bytes) }
        var b = GGUFBuilder()
        b.u32(0x4655_4747); b.u32(3); b.u64(1 << 62); b.u64(0)
        #expect(throws: GGUFError.self) { try parse(b.bytes) }
    }

    @Test("a tensor whose data runs past the end is refused with its name")
    func tensorPastEnd() {
        let bytes = GGUFBuilder.file(metadata: [], elements: 8)
        do {
            _ = try parse(Array(bytes.dropLast(4)))
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("'t'"))
        }
    }

    @Test func missingFileIsAnIOError() {
        #expect(throws: GGUFError.self) { try GGUFFile(path: "/nonexistent/model.gguf") }
    }

    @Test func defaultModelHeader() throws {
        let f = try GGUFFile(path: DequantizationTests.modelPath)
        #expect(f.version == 3)
        #expect(try f.string("general.architecture") == "gemma3")
        #expect(f.tensors.count == 236)
        #expect(try f.int("gemma3.block_count") == 18)
        #expect(try f.array("tokenizer.ggml.tokens").count == 262_144)
        #expect(try f.tensor("token_embd.weight").shape == [640, 262_144])
        #expect(try f.tensor("token_embd.weight").type == .q8_0)
    }
}
