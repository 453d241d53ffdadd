// server/request_head.cc — finding the end of a request's head and its body's framing.
#include "server/request_head.h"

#include <strings.h>

namespace odlm::server {
namespace {

bool IsSpaceOrTab(char c) { return c == ' ' || c == '\t'; }

bool NameIs(std::string_view name, std::string_view want) {
  return name.size() == want.size() && ::strncasecmp(name.data(), want.data(), want.size()) == 0;
}

// A header line (without its line end) as name and trimmed value; false when cpp-httplib would
// skip it (no colon, or an empty value).
bool SplitHeader(std::string_view line, std::string_view* name, std::string_view* value) {
  while (!line.empty() && IsSpaceOrTab(line.back())) line.remove_suffix(1);
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  *name = line.substr(0, colon);
  std::string_view v = line.substr(colon + 1);
  while (!v.empty() && IsSpaceOrTab(v.front())) v.remove_prefix(1);
  *value = v;
  return !v.empty();
}

}  // namespace

RequestHead ScanRequestHead(std::string_view bytes, size_t max_head_bytes) {
  RequestHead head;
  ScanRequestHeadMore(bytes, max_head_bytes, &head);
  return head;
}

void ScanRequestHeadMore(std::string_view bytes, size_t max_head_bytes, RequestHead* head) {
  if (head->state != RequestHead::State::kIncomplete) return;
  const std::string_view window = bytes.substr(0, max_head_bytes);
  // The request line, then header lines up to one that is exactly "\r\n".
  for (;;) {
    const size_t nl = window.find('\n', head->scanned);
    if (nl == std::string_view::npos) {
      if (bytes.size() >= max_head_bytes) head->state = RequestHead::State::kTooLarge;
      return;
    }
    const std::string_view line = window.substr(head->scanned, nl + 1 - head->scanned);
    head->scanned = nl + 1;
    if (!head->saw_request_line) {
      head->saw_request_line = true;
      continue;
    }
    if (line == "\r\n") break;
    if (line.size() < 2 || line[line.size() - 2] != '\r') continue;  // cpp-httplib skips it
    std::string_view name, value;
    if (!SplitHeader(line.substr(0, line.size() - 2), &name, &value)) continue;
    if (NameIs(name, "Content-Length")) {
      if (head->saw_length) continue;  // the first one counts
      head->saw_length = true;
      uint64_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9' || n > (UINT64_MAX - 9) / 10) {
          head->state = RequestHead::State::kMalformed;
          return;
        }
        n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      head->content_length = n;
    } else if (NameIs(name, "Transfer-Encoding")) {
      if (!NameIs(value, "chunked")) {  // cpp-httplib knows no other coding
        head->state = RequestHead::State::kMalformed;
        return;
      }
      head->chunked = true;
    } else if (NameIs(name, "Expect")) {
      head->expect_continue = NameIs(value, "100-continue");
    }
  }
  head->head_bytes = head->scanned;
  if (head->chunked) head->content_length = 0;
  head->state = RequestHead::State::kComplete;
}

}  // namespace odlm::server
