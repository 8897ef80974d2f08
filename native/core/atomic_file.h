// Files written atomically: a reader (or a crash) sees the old file or the new one, never a part.
#pragma once
#include <string>

namespace bilevel::core {

// Writes bytes to path.partial, flushes it to the disk and renames it over path, then flushes the
// folder so the rename survives a crash. Throws IO naming the path, `what` the file is ("the
// checkpoint", "the image cache") and the system's reason; path is then left as it was.
void writeAtomically(const std::string& path, const std::string& bytes, const std::string& what);

}  // namespace bilevel::core
