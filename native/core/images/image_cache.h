// Decoded image collections kept on disk, so that a second load of a folder of JPEGs reads one
// binary file instead of decoding every image again. A cache file is a record file (checksummed);
// its name carries a fingerprint of what was read (paths, sizes, modification times, the resize),
// so a changed source gets a new file rather than stale images.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/images/class_images.h"

namespace bilevel::core {

// The cache file's name for images read by `kind` from the files under paths (folders are walked)
// at size x size with channels.
std::string imageCacheName(const std::string& kind, const std::vector<std::string>& paths, int64_t size, int64_t channels);

// The images kept in cacheDir/name, loaded and kept there first when that file is missing or
// unreadable (a damaged cache is rebuilt). Throws IO when the cache cannot be written.
ClassImages cachedClassImages(const std::string& cacheDir, const std::string& name, const std::function<ClassImages()>& load);

}  // namespace bilevel::core
