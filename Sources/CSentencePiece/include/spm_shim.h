// A plain C face over libsentencepiece's C++ SentencePieceProcessor, so Swift needs no C++ interop.
#ifndef TANDEM_SPM_SHIM_H
#define TANDEM_SPM_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct spm_processor spm_processor;

/// Loads a serialized ModelProto. On failure returns NULL and writes a message into `error` (NUL-terminated, truncated to `error_capacity`).
spm_processor *spm_load_from_serialized(const void *bytes, size_t length, char *error, size_t error_capacity);

/// Loads a `tokenizer.model` file. Same error contract as `spm_load_from_serialized`.
spm_processor *spm_load_from_file(const char *path, char *error, size_t error_capacity);

void spm_free(spm_processor *processor);

/// Encodes UTF-8 text to ids. Returns the number of ids; when it exceeds `capacity`, only `capacity`
/// ids were written and the caller retries with a larger buffer. Returns -1 on an encoder error.
int64_t spm_encode(const spm_processor *processor, const char *text, size_t length, int32_t *ids, size_t capacity);

/// Decodes ids to UTF-8. Returns the byte length; when it exceeds `capacity`, the caller retries with
/// a larger buffer. Returns -1 on a decoder error (e.g. an id out of range).
int64_t spm_decode(const spm_processor *processor, const int32_t *ids, size_t count, char *text, size_t capacity);

/// Number of pieces in the loaded model.
int32_t spm_vocab_size(const spm_processor *processor);

/// The piece text of `id` (U+2581 for spaces). Returns its byte length; retry when over `capacity`.
int64_t spm_piece(const spm_processor *processor, int32_t id, char *text, size_t capacity);

float spm_score(const spm_processor *processor, int32_t id);

/// SentencePiece piece type of `id`: 1 normal, 2 unknown, 3 control, 5 unused, 6 byte (0.1.97 cannot tell user-defined pieces: they read as normal).
int32_t spm_piece_type(const spm_processor *processor, int32_t id);

#ifdef __cplusplus
}
#endif

#endif
