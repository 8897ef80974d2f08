// Few-shot image collections on disk, read into ClassImages (each class's images decoded,
// resized to size x size and stacked). Every error names the file or folder at fault.
#pragma once
#include <string>

#include "core/images/class_images.h"

namespace bilevel::core {

// root/<class>/<image>: one class per folder (sorted by name), its PNG / JPEG files (sorted);
// entries whose names start with '.' are skipped.
ClassImages readClassFolders(const std::string& root, int64_t size, int64_t channels);

// Omniglot's layout: root/<alphabet>/<character>/<image>, one class per character, named
// "<alphabet>/<character>".
ClassImages readAlphabets(const std::string& root, int64_t size, int64_t channels);

// A CSV split in Ravi and Larochelle's form: a header "filename,label", then one row per image
// naming a file in imagesDir and its class; classes in the order they first appear.
ClassImages readCsvSplit(const std::string& imagesDir, const std::string& csvPath, int64_t size, int64_t channels);

}  // namespace bilevel::core
