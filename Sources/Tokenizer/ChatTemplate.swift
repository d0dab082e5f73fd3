import Foundation

/// A chat message as templates see it.
public struct ChatTurn: Sendable, Equatable {
    public enum Role: String, Sendable { case system, user, assistant }
    public var role: Role
    public var content: String
    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }
}

/// Turns chat messages into prompt ids for the model's chat format.
///
/// Markup (`<start_of_turn>`, `[INST]`, …) is tokenized with control tokens parsed; message text is
/// tokenized with them *not* parsed, so a user who types `<end_of_turn>` cannot forge a turn.
public enum ChatTemplate: String, Sendable, CaseIterable {
    /// `<bos><start_of_turn>user\n{system}\n\n{text}<end_of_turn>\n<start_of_turn>model\n`
    case gemma
    /// `<s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{text} [/INST]`
    case llama2
    /// `<|im_start|>{role}\n{text}<|im_end|>\n … <|im_start|>assistant\n` (Qwen)
    case chatml
    /// `<|begin_of_text|><|start_header_id|>{role}<|end_header_id|>\n\n{text, trimmed}<|eot_id|> …
    /// <|start_header_id|>assistant<|end_header_id|>\n\n`
    case llama3
    /// `<s>[INST] {system}\n\n{text}[/INST] {answer}</s>[INST] …[/INST]` (no system turn of its own:
    /// it opens the first user turn)
    case mistral
    /// `<|system|>\n{system}<|end|>\n<|user|>\n{text}<|end|>\n … <|assistant|>\n`
    case phi3

    /// The template a GGUF asks for: its `tokenizer.chat_template` when it matches a known format,
    /// otherwise `fallback` (the architecture's usual one).
    public static func detect(jinja: String?, fallback: ChatTemplate) -> ChatTemplate {
        jinja.flatMap(matching) ?? fallback
    }

    /// The known format a Jinja chat template writes, by the markup it contains; nil when none.
    public static func matching(_ jinja: String) -> ChatTemplate? {
        if jinja.contains("<start_of_turn>") { return .gemma }
        if jinja.contains("<|im_start|>") { return .chatml }
        if jinja.contains("<|start_header_id|>") { return .llama3 }
        if jinja.contains("<|user|>") && jinja.contains("<|end|>") { return .phi3 }
        if jinja.contains("[INST]") { return jinja.contains("<<SYS>>") ? .llama2 : .mistral }
        return nil
    }

    /// Pieces of the prompt: `(text, markup)`; markup pieces may contain control tokens.
    public func render(_ turns: [ChatTurn]) -> [(text: String, markup: Bool)] {
        let system = turns.filter { $0.role == .system }.map(\.content).joined(separator: "\n\n")
        let dialogue = turns.filter { $0.role != .system }
        var out: [(String, Bool)] = []
        switch self {
        case .gemma:
            out.append(("<bos>", true))
            var pendingSystem = system.isEmpty ? nil : system
            for turn in dialogue {
                out.append(("<start_of_turn>\(turn.role == .user ? "user" : "model")\n", true))
                if turn.role == .user, let s = pendingSystem {
                    out.append((s + "\n\n", false))
                    pendingSystem = nil
                }
                out.append((turn.content, false))
                out.append(("<end_of_turn>\n", true))
            }
            if let s = pendingSystem { // a system prompt with no user turn still reaches the model
                out.append(("<start_of_turn>user\n", true))
                out.append((s, false))
                out.append(("<end_of_turn>\n", true))
            }
            out.append(("<start_of_turn>model\n", true))
        case .llama2:
            var pendingSystem = system.isEmpty ? nil : system
            for turn in dialogue {
                if turn.role == .user {
                    out.append(("<s>[INST] ", true))
                    if let s = pendingSystem {
                        out.append(("<<SYS>>\n\(s)\n<</SYS>>\n\n", false))
                        pendingSystem = nil
                    }
                    out.append((turn.content, false))
                    out.append((" [/INST]", true))
                } else {
                    out.append((" " + turn.content + " ", false))
                    out.append(("</s>", true))
                }
            }
            if let s = pendingSystem {
                out.append(("<s>[INST] ", true))
                out.append(("<<SYS>>\n\(s)\n<</SYS>>\n\n", false))
                out.append((" [/INST]", true))
            }
        case .chatml:
            if !system.isEmpty {
                out.append(("<|im_start|>system\n", true))
                out.append((system, false))
                out.append(("<|im_end|>\n", true))
            }
            for turn in dialogue {
                out.append(("<|im_start|>\(turn.role.rawValue)\n", true))
                out.append((turn.content, false))
                out.append(("<|im_end|>\n", true))
            }
            out.append(("<|im_start|>assistant\n", true))
        case .llama3:
            out.append(("<|begin_of_text|>", true))
            let all = (system.isEmpty ? [] : [ChatTurn(role: .system, content: system)]) + dialogue
            for turn in all {
                out.append(("<|start_header_id|>\(turn.role.rawValue)<|end_header_id|>\n\n", true))
                out.append((turn.content.trimmingCharacters(in: .whitespacesAndNewlines), false))
                out.append(("<|eot_id|>", true))
            }
            out.append(("<|start_header_id|>assistant<|end_header_id|>\n\n", true))
        case .mistral:
            out.append(("<s>", true))
            var pendingSystem = system.isEmpty ? nil : system
            for turn in dialogue {
                if turn.role == .user {
                    out.append(("[INST] ", true))
                    if let s = pendingSystem {
                        out.append((s + "\n\n", false))
                        pendingSystem = nil
                    }
                    out.append((turn.content, false))
                    out.append(("[/INST]", true))
                } else {
                    out.append((" " + turn.content, false))
                    out.append(("</s>", true))
                }
            }
            if let s = pendingSystem {
                out.append(("[INST] ", true))
                out.append((s, false))
                out.append(("[/INST]", true))
            }
        case .phi3:
            let all = (system.isEmpty ? [] : [ChatTurn(role: .system, content: system)]) + dialogue
            for turn in all {
                out.append(("<|\(turn.role.rawValue)|>\n", true))
                out.append((turn.content, false))
                out.append(("<|end|>\n", true))
            }
            out.append(("<|assistant|>\n", true))
        }
        return out
    }

    /// The prompt as one string (markup and text together), e.g. for `tandem generate`.
    public func renderText(_ turns: [ChatTurn]) -> String {
        render(turns).map(\.text).joined()
    }

    /// Prompt ids for `turns`.
    public func encode(_ turns: [ChatTurn], tokenizer: any TextTokenizer) throws -> [Int32] {
        var ids: [Int32] = []
        for piece in render(turns) {
            ids += try tokenizer.encode(piece.text, parseSpecial: piece.markup)
        }
        return ids
    }

    /// The ids that end a generation in this format: EOS, the format's end-of-turn piece, and the
    /// architecture's `endOfTurnPieces`, those the vocabulary has. The one place they are derived.
    public func stopTokenIDs(in tokenizer: any TextTokenizer, endOfTurnPieces: [String] = []) -> Set<Int32> {
        var stops: Set<Int32> = [tokenizer.eosID]
        for piece in [endOfTurn].compactMap({ $0 }) + endOfTurnPieces {
            if let id = tokenizer.id(ofPiece: piece) { stops.insert(id) }
        }
        return stops
    }

    /// The piece that ends an assistant turn, when it is not EOS.
    public var endOfTurn: String? {
        switch self {
        case .gemma: return "<end_of_turn>"
        case .chatml: return "<|im_end|>"
        case .llama3: return "<|eot_id|>"
        case .phi3: return "<|end|>"
        case .llama2, .mistral: return nil
        }
    }
}
