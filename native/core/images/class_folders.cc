#include "core/images/class_folders.h"

#include <ATen/Parallel.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"
#include "core/images/image_file.h"

namespace bilevel::core {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void invalid(const std::string& message) { throw Error("INVALID_ARGUMENT", message); }

// The entries of folder (sorted, '.'-names skipped) that are folders (wantFolders) or files.
std::vector<fs::path> entries(const fs::path& folder, bool wantFolders) {
  std::error_code error;
  if (!fs::is_directory(folder, error)) invalid(folder.string() + ": no such folder");
  std::vector<fs::path> out;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder, error)) {
    if (entry.path().filename().string().rfind('.', 0) == 0) continue;
    if (entry.is_directory(error) == wantFolders) out.push_back(entry.path());
  }
  if (error) invalid(folder.string() + ": cannot list it (" + error.message() + ")");
  std::sort(out.begin(), out.end());
  return out;
}

// The files decoded, resized and stacked: uint8 [files, channels, size, size]. Decoded in
// parallel: each file is independent, and JPEG decoding dominates loading.
torch::Tensor stackedImages(const std::vector<fs::path>& files, int64_t size, int64_t channels) {
  torch::Tensor out = torch::empty({static_cast<int64_t>(files.size()), channels, size, size}, torch::kUInt8);
  at::parallel_for(0, out.size(0), 8, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i].copy_(resizeImages(decodeImage(files[i].string(), channels).unsqueeze(0), size)[0]);
  });
  return out;
}

void addClass(ClassImages& out, std::string name, const std::vector<fs::path>& files, const fs::path& where, int64_t size,
              int64_t channels) {
  if (files.empty()) invalid(where.string() + ": class '" + name + "' has no images");
  out.names.push_back(std::move(name));
  out.images.push_back(stackedImages(files, size, channels));
}

std::vector<std::string> csvFields(const std::string& line) {
  std::vector<std::string> fields(1);
  for (const char c : line) {
    if (c == ',') fields.emplace_back();
    else if (c != '\r') fields.back().push_back(c);
  }
  return fields;
}

}  // namespace

ClassImages readClassFolders(const std::string& root, int64_t size, int64_t channels) {
  ClassImages out;
  for (const fs::path& folder : entries(root, true)) addClass(out, folder.filename().string(), entries(folder, false), folder, size, channels);
  if (out.names.empty()) invalid(root + ": no class folders in it");
  return out;
}

ClassImages readAlphabets(const std::string& root, int64_t size, int64_t channels) {
  ClassImages out;
  for (const fs::path& alphabet : entries(root, true)) {
    for (const fs::path& character : entries(alphabet, true)) {
      addClass(out, alphabet.filename().string() + "/" + character.filename().string(), entries(character, false), character, size,
               channels);
    }
  }
  if (out.names.empty()) invalid(root + ": no alphabet/character folders in it");
  return out;
}

ClassImages readCsvSplit(const std::string& imagesDir, const std::string& csvPath, int64_t size, int64_t channels) {
  std::ifstream in(csvPath);
  if (!in) invalid(csvPath + ": cannot open it");
  std::string line;
  if (!std::getline(in, line) || csvFields(line) != std::vector<std::string>{"filename", "label"}) {
    invalid(csvPath + ":1: the header must be 'filename,label'");
  }
  std::vector<std::string> labels;
  std::map<std::string, std::vector<fs::path>> files;
  for (int64_t number = 2; std::getline(in, line); ++number) {
    if (line.empty() || line == "\r") continue;
    const std::vector<std::string> fields = csvFields(line);
    const std::string where = csvPath + ":" + std::to_string(number) + ": ";
    if (fields.size() != 2 || fields[0].empty() || fields[1].empty()) invalid(where + "expected 'filename,label'; got '" + line + "'");
    const fs::path file = fs::path(imagesDir) / fields[0];
    std::error_code error;
    if (!fs::is_regular_file(file, error)) invalid(where + file.string() + ": no such file");
    auto [at, added] = files.try_emplace(fields[1]);
    if (added) labels.push_back(fields[1]);
    at->second.push_back(file);
  }
  if (labels.empty()) invalid(csvPath + ": no rows after the header");
  ClassImages out;
  for (const std::string& label : labels) addClass(out, label, files[label], csvPath, size, channels);
  return out;
}

}  // namespace bilevel::core
