// platform/file_util.h — whole-file reads and crash-safe writes.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace odlm {

// Reads the whole file into a string. NotFound / Unavailable with the path and OS reason.
StatusOr<std::string> ReadFileToString(const std::string& path);

// Writes `contents` to `path` crash-safely: a temporary file in the same directory, fsync, rename,
// fsync of the directory. Either the old or the new contents survive a crash, never a mix.
Status WriteFileAtomically(const std::string& path, std::string_view contents);

bool FileExists(const std::string& path);

}  // namespace odlm
