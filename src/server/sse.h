// server/sse.h — Server-Sent Events framing (text/event-stream), both directions.
//
// The service writes one `data:` event per JSON chunk and ends a stream with `data: [DONE]`, as
// OpenAI's API does. SseParser is the client side (used by tests and the bench client): it takes
// bytes as they arrive, in any split, and returns complete events. Not thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace odlm::server {

// One event carrying `data`. A newline inside data becomes several `data:` lines (the receiver
// joins them with '\n'), so any string round-trips.
std::string SseEvent(std::string_view data);

// A comment line (ignored by receivers; keeps idle connections alive).
std::string SseComment(std::string_view text);

// The terminal event of an OpenAI-style stream.
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

class SseParser {
 public:
  // Feeds received bytes; returns the data of every event completed by them.
  std::vector<std::string> Feed(std::string_view bytes);

 private:
  void Line(std::string_view line, std::vector<std::string>* out);
  std::string pending_;  // bytes of an incomplete line
  std::string data_;     // data lines of the current event
  bool has_data_ = false;
};

}  // namespace odlm::server
