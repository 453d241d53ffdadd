// train/dataset_chat.cc — the chat reader: Hugging Face chat JSONL rendered with a built-in
// template (contract in dataset.h).
//
// Tokens come from one EncodeSegments over the whole rendering, exactly as EncodeChat builds a
// prompt, so training sees the ids that inference will. Each token is then mapped back to its
// bytes in the rendered text, and takes the role and weight of the message that owns its last
// byte.
//
// Which template text belongs to which message: message k's text starts where the rendering of
// messages [0, k) (with the generation prompt when message k is the assistant's) stops agreeing
// with the rendering of the whole conversation. So an assistant turn owns its content and what the
// template writes after it (the end-of-turn token, llama2's " </s>"), while the role header before
// it ("<|im_start|>assistant\n", the end of a prompt at inference) belongs to the message before.
// Templates that move messages (system and context messages folded into one turn at the start)
// get approximate bounds there: the moved text goes to the message whose prefix first disagrees.
// Cost: one render of each prefix of the conversation, O(n²) in its number of messages.
#include <algorithm>

#include "tokenizer/chat_template.h"
#include "train/dataset_formats.h"

namespace odlm::train::internal {

namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // "▁"

size_t CommonPrefix(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

bool IsChatRole(const std::string& role) {
  return role == "system" || role == "user" || role == "assistant" || role == "context";
}

// How many bytes of `text` from `pos` the raw piece `piece` stands for, or npos when it does not
// match. A SentencePiece piece has a space where the text had " " or "▁" (both were "▁").
size_t MatchPiece(std::string_view text, size_t pos, std::string_view piece, bool spm) {
  size_t t = pos;
  for (char c : piece) {
    if (t < text.size() && text[t] == c) {
      ++t;
    } else if (spm && c == ' ' && text.substr(t, kSpmSpace.size()) == kSpmSpace) {
      t += kSpmSpace.size();
    } else {
      return std::string_view::npos;
    }
  }
  return t - pos;
}

struct ByteSpan {
  size_t begin = 0, end = 0;
};

// The bytes of `text` that each of ids[first..] stands for, ids being EncodeSegments of `text`
// (ids[0..first) were added: BOS). InvalidArgument when a token does not match the text (a
// vocabulary without byte fallback turns unknown characters into <unk>).
StatusOr<std::vector<ByteSpan>> TokenSpans(const Tokenizer& tokenizer, std::string_view text,
                                           const std::vector<int32_t>& ids, size_t first) {
  const bool spm = tokenizer.vocab().model == VocabModel::kSpm;
  const bool spm_prefix = spm && tokenizer.vocab().add_space_prefix;
  std::vector<ByteSpan> spans(ids.size());
  size_t pos = 0;
  bool after_special = true;  // EncodeSegments writes a space prefix at these points
  for (size_t i = first; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    const TokenType type = tokenizer.GetTokenType(id);
    const std::string& stored = tokenizer.TokenText(id);
    const bool special = type == TokenType::kControl || type == TokenType::kUnknown ||
                         type == TokenType::kUserDefined;
    if (special && !stored.empty() && text.substr(pos, stored.size()) == stored) {
      spans[i] = {pos, pos + stored.size()};
      pos += stored.size();
      after_special = true;
      continue;
    }
    std::string_view piece = tokenizer.TokenPiece(id);
    if (spm_prefix && after_special && !piece.empty() && piece.front() == ' ') {
      piece.remove_prefix(1);  // the prefix the encoder added: no byte of the text
    }
    after_special = false;
    const size_t n = MatchPiece(text, pos, piece, spm);
    if (n == std::string_view::npos) {
      return InvalidArgumentError("token " + std::to_string(i) + " (id " + std::to_string(id) +
                                  ", '" + stored + "') does not match the rendered text at byte " +
                                  std::to_string(pos) +
                                  "; this tokenizer cannot map chat tokens back to messages");
    }
    spans[i] = {pos, pos + n};
    pos += n;
  }
  if (pos != text.size()) {
    return InvalidArgumentError("the tokens cover " + std::to_string(pos) + " of the " +
                                std::to_string(text.size()) + " bytes of the rendered text");
  }
  return spans;
}

}  // namespace

Status ReadChat(const std::string& path, std::string_view data, const Tokenizer& tokenizer,
                const DataOptions& options, DataSetBuilder* builder) {
  const ChatSpecialTokens special = ChatSpecialTokensOf(tokenizer);
  const std::string& name = options.chat_template;
  // An unknown template is one error for the file, not one per line.
  RETURN_IF_ERROR(RenderChatSegments(name, {}, false, special).status());
  return ForEachJsonLine(path, data, [&](const JsonValue& record) -> Status {
    builder->AddRecord();
    ASSIGN_OR_RETURN(const JsonValue* messages,
                     Member(record, "messages", JsonValue::Kind::kArray, "messages"));
    const JsonValue* file_weights = record.Find("weights");
    if (file_weights != nullptr && file_weights->is_null()) file_weights = nullptr;
    if (file_weights != nullptr) {
      ASSIGN_OR_RETURN(file_weights, Member(record, "weights", JsonValue::Kind::kArray, "weights"));
      if (file_weights->items().size() != messages->items().size()) {
        return InvalidArgumentError("weights has " + std::to_string(file_weights->items().size()) +
                                    " entries for " + std::to_string(messages->items().size()) +
                                    " messages");
      }
    }
    const size_t n = messages->items().size();
    std::vector<ChatMessage> chat(n);
    std::vector<float> weights(n);
    std::vector<int32_t> roles(n);
    for (size_t i = 0; i < n; ++i) {
      const JsonValue& m = messages->items()[i];
      const std::string field = "messages[" + std::to_string(i) + "]";
      if (!m.is_object()) {
        return InvalidArgumentError(field + " must be an object, not " +
                                    std::string(JsonValue::KindName(m.kind())));
      }
      ASSIGN_OR_RETURN(const JsonValue* role,
                       Member(m, "role", JsonValue::Kind::kString, field + ".role"));
      ASSIGN_OR_RETURN(const JsonValue* content,
                       Member(m, "content", JsonValue::Kind::kString, field + ".content"));
      if (!IsChatRole(role->str())) {
        return InvalidArgumentError(field + ".role '" + role->str() +
                                    "' is not a chat role (expected system, user, assistant or "
                                    "context)");
      }
      chat[i] = {role->str(), content->str()};
      float w = role->str() == "assistant" ? 1.0f : 0.0f;
      if (file_weights != nullptr) {
        ASSIGN_OR_RETURN(
            w, ParseWeight(file_weights->items()[i], "weights[" + std::to_string(i) + "]"));
      }
      weights[i] = RoleWeight(options, role->str(), w);
      roles[i] = builder->Role(role->str());
    }
    if (n == 0) {
      builder->Add(TrainExample{});
      return Status::Ok();
    }

    ASSIGN_OR_RETURN(std::vector<ChatSegment> segments,
                     RenderChatSegments(name, chat, /*add_generation_prompt=*/false, special));
    std::string text;
    for (const ChatSegment& s : segments) text += s.text;
    std::vector<size_t> starts(n, 0);  // [n] where each message's own text starts in `text`
    for (size_t k = 1; k < n; ++k) {
      const std::vector<ChatMessage> before(chat.begin(), chat.begin() + static_cast<ptrdiff_t>(k));
      ASSIGN_OR_RETURN(std::string prefix,
                       RenderChat(name, before, chat[k].role == "assistant", special));
      starts[k] = std::max(starts[k - 1], CommonPrefix(prefix, text));
    }

    // As EncodeChat: a template that writes the BOS text itself gets no second BOS.
    std::vector<TextSegment> parts;
    parts.reserve(segments.size());
    for (const ChatSegment& s : segments) parts.push_back({s.text, /*parse_special=*/!s.content});
    const bool template_bos = !segments.front().content && !special.bos.empty() &&
                              segments.front().text.rfind(special.bos, 0) == 0;
    const bool add_bos = tokenizer.add_bos() && !template_bos;
    const std::vector<int32_t> ids = tokenizer.EncodeSegments(parts, add_bos);
    const size_t first = add_bos && tokenizer.bos_id() >= 0 ? 1 : 0;
    ASSIGN_OR_RETURN(std::vector<ByteSpan> spans, TokenSpans(tokenizer, text, ids, first));

    TrainExample e;
    e.tokens = ids;
    e.weights.resize(ids.size());
    e.roles.resize(ids.size());
    for (size_t t = 0; t < ids.size(); ++t) {
      // The byte that decides: the token's last, or for a token of no text (BOS) the next one.
      size_t byte = spans[t].end > spans[t].begin ? spans[t].end - 1 : spans[t].begin;
      if (!text.empty()) byte = std::min(byte, text.size() - 1);
      const size_t k = static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), byte) -
                                           starts.begin()) -
                       1;
      e.weights[t] = weights[k];
      e.roles[t] = roles[k];
    }
    builder->Add(std::move(e));
    return Status::Ok();
  });
}

}  // namespace odlm::train::internal
