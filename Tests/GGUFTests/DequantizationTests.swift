import Foundation
import GGUF
import Testing

/// Dequantization against the `gguf` Python package (fixtures by Fixtures/make_dequant_fixtures.py).
struct DequantizationTests {
    struct BlockCase: Decodable, CustomTestStringConvertible {
        let type: String
        let ggml_type: UInt32
        let elements: Int
        let data_hex: String
        let values: [Float]
        var testDescription: String { type }
    }

    struct ModelTensorCase: Decodable, CustomTestStringConvertible {
        let name: String
        let type: String
        let shape: [Int]
        let first_rows: [[Float]]
        let sum: Double
        var testDescription: String { "\(name) (\(type))" }
    }

    struct Fixture: Decodable {
        let cases: [BlockCase]
        let model_tensors: [ModelTensorCase]
    }

    static let fixture: Fixture = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/dequant_blocks.json")
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    static let modelPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../models/gemma-3-270m-q4_k_m.gguf").standardized.path

    @Test("every block type matches the reference dequantizer bit for bit", arguments: fixture.cases)
    func blocks(_ c: BlockCase) throws {
        let type = try #require(GGMLType(rawValue: c.ggml_type))
        #expect(type.name == c.type)
        let bytes = hexBytes(c.data_hex)
        #expect(bytes.count == type.byteCount(elements: c.elements))
        var out = [Float](repeating: .nan, count: c.elements)
        bytes.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { Dequantizer.dequantize(raw, type: type, count: c.elements, into: $0.baseAddress!) }
        }
        let mismatches = (0..<c.elements).filter { out[$0].bitPattern != c.values[$0].bitPattern }
        #expect(mismatches.isEmpty, "first mismatch at \(mismatches.first ?? -1): \(mismatches.first.map { "\(out[$0]) vs \(c.values[$0])" } ?? "")")
    }

    @Test("tensors of the default model match the reference", arguments: fixture.model_tensors)
    func modelTensor(_ c: ModelTensorCase) throws {
        let file = try GGUFFile(path: Self.modelPath)
        let info = try file.tensor(c.name)
        #expect(info.shape == c.shape)
        #expect(info.type.name == c.type)
        let values = file.dequantized(info)
        for (r, row) in c.first_rows.enumerated() {
            let ours = Array(values[r * info.rowLength..<(r + 1) * info.rowLength])
            #expect(ours == row, "row \(r) of \(c.name)")
        }
        let sum = values.reduce(0.0) { $0 + Double($1) }
        #expect(abs(sum - c.sum) <= 1e-9 * max(1, abs(c.sum)) + 1e-6, "sum \(sum) vs \(c.sum)")
    }

    func hexBytes(_ hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}
