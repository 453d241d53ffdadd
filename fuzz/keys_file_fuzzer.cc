// fuzz/keys_file_fuzzer.cc — the service's keys file reader (server/key_store.h) on arbitrary
// bytes: apps or a DataLoss error naming the file, never a crash; every app it accepts is valid.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string_view>

#include "fuzz_check.h"
#include "server/key_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace odlm::server;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto apps = ParseKeysFile(text, "fuzz.json");
  if (!apps.ok()) {
    FUZZ_CHECK(apps.status().message().find("fuzz.json") != std::string::npos);
    return 0;
  }
  std::set<std::string> names, ids;
  for (const AppRecord& a : *apps) {
    FUZZ_CHECK(IsValidAppName(a.name));
    FUZZ_CHECK(IsValidAppName(a.id));
    FUZZ_CHECK(a.key_sha256.size() == 64);
    FUZZ_CHECK(a.limits.max_in_flight >= 0 && a.limits.max_queued >= 0);
    FUZZ_CHECK(names.insert(a.name).second);
    FUZZ_CHECK(ids.insert(a.id).second);
  }
  return 0;
}
