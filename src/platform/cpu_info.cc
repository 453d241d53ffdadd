// platform/cpu_info.cc — CPU model and cache sizes from /proc and /sys.
#include "platform/cpu_info.h"

#include <fstream>
#include <sstream>
#include <thread>

namespace odlm {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string ReadSmallFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) return "";
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string Bytes(int64_t b) {
  if (b >= (1 << 20) && b % (1 << 20) == 0) return std::to_string(b >> 20) + " MiB";
  return std::to_string(b >> 10) + " KiB";
}

CpuInfo ReadCpuInfo() {
  CpuInfo info;
  ParseProcCpuinfo(ReadSmallFile("/proc/cpuinfo"), &info);
  if (info.logical_cpus == 0)
    info.logical_cpus = static_cast<int32_t>(std::thread::hardware_concurrency());
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    const std::string level(Trim(ReadSmallFile(dir + "/level")));
    if (level.empty()) break;
    const std::string type(Trim(ReadSmallFile(dir + "/type")));
    const int64_t size = ParseCacheSize(Trim(ReadSmallFile(dir + "/size")));
    if (level == "1" && type == "Data") info.l1d_bytes = size;
    if (level == "2") info.l2_bytes = size;
    if (level == "3") info.l3_bytes = size;
  }
  return info;
}

}  // namespace

void ParseProcCpuinfo(std::string_view text, CpuInfo* info) {
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = Trim(line.substr(0, colon)), value = Trim(line.substr(colon + 1));
    if (key == "processor") ++info->logical_cpus;
    if (info->model.empty() && !value.empty() &&
        (key == "model name" || key == "Model" || key == "Hardware")) {
      info->model = std::string(value);
    }
  }
}

int64_t ParseCacheSize(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return 0;
  int64_t unit = 1;
  if (text.back() == 'K') unit = 1 << 10;
  if (text.back() == 'M') unit = 1 << 20;
  if (unit != 1) text.remove_suffix(1);
  if (text.empty() || text.size() > 12) return 0;
  int64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return n * unit;
}

std::string CpuInfo::ToString() const {
  std::string s = model.empty() ? "unknown CPU" : model;
  s += " (" + std::to_string(logical_cpus) + " CPUs";
  std::string caches;
  for (const auto& [name, bytes] :
       {std::pair{"L1d", l1d_bytes}, std::pair{"L2", l2_bytes}, std::pair{"L3", l3_bytes}}) {
    if (bytes > 0) caches += std::string(caches.empty() ? "" : ", ") + name + " " + Bytes(bytes);
  }
  if (!caches.empty()) s += "; " + caches;
  return s + ")";
}

const CpuInfo& GetCpuInfo() {
  static const CpuInfo info = ReadCpuInfo();
  return info;
}

}  // namespace odlm
