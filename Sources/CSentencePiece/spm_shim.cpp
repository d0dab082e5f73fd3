#include "spm_shim.h"

#include <sentencepiece_processor.h>

#include <cstring>
#include <string>
#include <vector>

struct spm_processor {
    sentencepiece::SentencePieceProcessor processor;
};

static void write_error(const std::string &message, char *error, size_t capacity) {
    if (error == nullptr || capacity == 0) return;
    size_t n = message.size() < capacity - 1 ? message.size() : capacity - 1;
    std::memcpy(error, message.data(), n);
    error[n] = '\0';
}

static spm_processor *finish_load(spm_processor *p, const sentencepiece::util::Status &status, char *error, size_t capacity) {
    if (!status.ok()) {
        write_error(status.ToString(), error, capacity);
        delete p;
        return nullptr;
    }
    return p;
}

extern "C" spm_processor *spm_load_from_serialized(const void *bytes, size_t length, char *error, size_t error_capacity) {
    auto *p = new spm_processor();
    auto status = p->processor.LoadFromSerializedProto(
        std::string(static_cast<const char *>(bytes), length));
    return finish_load(p, status, error, error_capacity);
}

extern "C" spm_processor *spm_load_from_file(const char *path, char *error, size_t error_capacity) {
    auto *p = new spm_processor();
    auto status = p->processor.Load(path);
    return finish_load(p, status, error, error_capacity);
}

extern "C" void spm_free(spm_processor *processor) { delete processor; }

extern "C" int64_t spm_encode(const spm_processor *processor, const char *text, size_t length, int32_t *ids, size_t capacity) {
    std::vector<int> out;
    auto status = processor->processor.Encode(std::string(text, length), &out);
    if (!status.ok()) return -1;
    size_t n = out.size() < capacity ? out.size() : capacity;
    for (size_t i = 0; i < n; ++i) ids[i] = out[i];
    return static_cast<int64_t>(out.size());
}

extern "C" int64_t spm_decode(const spm_processor *processor, const int32_t *ids, size_t count, char *text, size_t capacity) {
    std::vector<int> in(ids, ids + count);
    std::string out;
    auto status = processor->processor.Decode(in, &out);
    if (!status.ok()) return -1;
    size_t n = out.size() < capacity ? out.size() : capacity;
    std::memcpy(text, out.data(), n);
    return static_cast<int64_t>(out.size());
}

extern "C" int32_t spm_vocab_size(const spm_processor *processor) {
    return processor->processor.GetPieceSize();
}

extern "C" int64_t spm_piece(const spm_processor *processor, int32_t id, char *text, size_t capacity) {
    const std::string &piece = processor->processor.IdToPiece(id);
    size_t n = piece.size() < capacity ? piece.size() : capacity;
    std::memcpy(text, piece.data(), n);
    return static_cast<int64_t>(piece.size());
}

extern "C" float spm_score(const spm_processor *processor, int32_t id) {
    return processor->processor.GetScore(id);
}

extern "C" int32_t spm_piece_type(const spm_processor *processor, int32_t id) {
    const auto &p = processor->processor;
    if (p.IsUnknown(id)) return 2;
    if (p.IsControl(id)) return 3;
    if (p.IsUnused(id)) return 5;
    if (p.IsByte(id)) return 6;
    return 1;
}
