// server/request_head.h — where an HTTP/1.1 request ends, read from the bytes received so far.
//
// The connection loop (connection_loop.h) holds a connection until the whole request has arrived,
// so that no handler thread ever waits on a slow client. This finds the end of the request line
// and headers the way cpp-httplib 0.11 reads them (the request line, then header lines up to the
// first line that is exactly "\r\n"; lines are split at '\n'), and the length of the body: the
// first Content-Length header (decimal digits only), none without one, unknown for
// "Transfer-Encoding: chunked". An "Expect: 100-continue" request is served once its head is in
// (the client waits for the 100 before it sends the body).
//
// Pure functions; thread-safe. The resumable form looks at each byte once over all its calls, so
// a client trickling its head a byte at a time costs O(head), not O(head^2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace odlm::server {

struct RequestHead {
  enum class State {
    kIncomplete,  // more bytes are needed (and there is room for them)
    kComplete,    // head_bytes and the body's framing are known
    kTooLarge,    // no end of the head within max_head_bytes: 431
    kMalformed,   // an unreadable Content-Length: 400
  };
  State state = State::kIncomplete;
  size_t head_bytes = 0;        // the request line and headers, with the blank line
  uint64_t content_length = 0;  // body bytes (0 without Content-Length)
  bool chunked = false;         // Transfer-Encoding: chunked (content_length unused)
  bool expect_continue = false;

  // Scan progress (ScanRequestHeadMore).
  size_t scanned = 0;  // bytes of whole lines already read
  bool saw_request_line = false;
  bool saw_length = false;
};

// Reads the request that starts at bytes[0]. A head longer than max_head_bytes is kTooLarge.
RequestHead ScanRequestHead(std::string_view bytes, size_t max_head_bytes);

// The same, resumed: `bytes` extends the bytes `*head` was last given (start with a fresh
// RequestHead). Does nothing once the state is not kIncomplete.
void ScanRequestHeadMore(std::string_view bytes, size_t max_head_bytes, RequestHead* head);

}  // namespace odlm::server
