// Named records (CPU tensors with dtype and shape, texts) in a file format of our own, used by
// checkpoints and the image cache: a header (magic, format, CRC-32 and length of the payload),
// then the records. A truncated or bit-flipped file is refused by the header before anything is
// parsed, and the parser checks every length against the bytes left, so even a re-sealed malicious
// file is an error, never a crash (LibTorch's archive reader runs a pickle parser that crashes on
// some edited files). Files are written atomically (core/atomic_file.h).
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <variant>

namespace bilevel::core {

using Records = std::map<std::string, std::variant<torch::Tensor, std::string>>;

// `what` names the file in errors: "checkpoint", "image cache".
void writeRecordFile(const std::string& path, const Records& records, const std::string& what);
// Throws INVALID_ARGUMENT "<path>: not a readable <what> (<why>)" for anything but an intact file.
Records readRecordFile(const std::string& path, const std::string& what);

// The records as bytes (a record file's payload) and back, for sending them to another process;
// decoding checks every length as reading a file does ("<source>: not a readable <what> (...)").
std::string encodeRecords(const Records& records, const std::string& what);
Records decodeRecords(const std::string& bytes, const std::string& source, const std::string& what);

}  // namespace bilevel::core
