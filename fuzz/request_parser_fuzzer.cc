// fuzz/request_parser_fuzzer.cc — the service's request parsing on arbitrary bytes: the framing of
// a request head (server/request_head.h) and every route's body parser (server/requests.h).
//
// The first byte picks the body parser; the rest is the body (and, whole, the head). Each parser
// must return a request or a 400 ApiError — never crash, never throw, never loop — and an error
// message must stay small (it quotes at most 40 bytes of what was sent).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fuzz_check.h"
#include "server/request_head.h"
#include "server/requests.h"

namespace {

template <typename T>
void Check(const odlm::server::ParseResult<T>& r) {
  if (const auto* e = std::get_if<odlm::server::ApiError>(&r)) {
    FUZZ_CHECK(e->http_status == 400);
    FUZZ_CHECK(!e->code.empty());
    FUZZ_CHECK(e->message.size() < 1024);
    (void)e->ToJson();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace odlm::server;
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const RequestHead head = ScanRequestHead(all, 4096);
  if (head.state == RequestHead::State::kComplete) FUZZ_CHECK(head.head_bytes <= all.size());
  if (size == 0) return 0;
  const std::string_view body = all.substr(1);
  const RequestLimits limits;
  switch (data[0] % 6) {
    case 0:
      Check(ParseChatCompletion(body, limits));
      break;
    case 1:
      Check(ParseCompletion(body, limits));
      break;
    case 2:
      Check(ParseContextMessage(body, limits));
      break;
    case 3:
      Check(ParseCreateContext(body));
      break;
    case 4:
      Check(ParseRegisterAdapter(body));
      break;
    default:
      Check(ParseReplaceAdapter(body, "name"));
      break;
  }
  return 0;
}
