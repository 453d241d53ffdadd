// tokenizer/vocab_writer.cc — SetVocabMetadata and WriteVocabGguf.
#include "tokenizer/vocab_writer.h"

#include <cstdint>
#include <vector>

#include "gguf/gguf_writer.h"

namespace odlm {

void SetVocabMetadata(const Vocab& vocab, GgufWriter* w) {
  const bool bpe = vocab.model == VocabModel::kBpe;
  w->SetString("tokenizer.ggml.model", bpe ? "gpt2" : "llama");
  if (bpe) {
    w->SetString("tokenizer.ggml.pre",
                 vocab.pre_name.empty() ? PreTokenizerName(vocab.pre) : vocab.pre_name);
  }
  w->Set("tokenizer.ggml.tokens", GgufValue::StringArray(vocab.tokens));
  if (!vocab.scores.empty()) w->Set("tokenizer.ggml.scores", GgufValue::F32Array(vocab.scores));
  std::vector<int32_t> types(vocab.tokens.size(), static_cast<int32_t>(TokenType::kNormal));
  for (size_t i = 0; i < vocab.types.size() && i < types.size(); ++i) {
    types[i] = static_cast<int32_t>(vocab.types[i]);
  }
  w->Set("tokenizer.ggml.token_type", GgufValue::I32Array(types));
  if (bpe) w->Set("tokenizer.ggml.merges", GgufValue::StringArray(vocab.merges));
  const std::pair<const char*, int32_t> ids[] = {
      {"tokenizer.ggml.bos_token_id", vocab.bos_id},
      {"tokenizer.ggml.eos_token_id", vocab.eos_id},
      {"tokenizer.ggml.eot_token_id", vocab.eot_id},
      {"tokenizer.ggml.eom_token_id", vocab.eom_id},
      {"tokenizer.ggml.padding_token_id", vocab.pad_id},
      {"tokenizer.ggml.unknown_token_id", vocab.unk_id},
  };
  for (const auto& [key, id] : ids) {
    if (id >= 0) w->SetU32(key, static_cast<uint32_t>(id));
  }
  w->SetBool("tokenizer.ggml.add_bos_token", vocab.add_bos);
  w->SetBool("tokenizer.ggml.add_eos_token", vocab.add_eos);
  if (!bpe) w->SetBool("tokenizer.ggml.add_space_prefix", vocab.add_space_prefix);
  if (!vocab.chat_template.empty()) {
    w->SetString("tokenizer.chat_template", vocab.chat_template);
  }
}

Status WriteVocabGguf(const Vocab& vocab, const std::string& path) {
  GgufWriter w;
  SetVocabMetadata(vocab, &w);
  Status s = w.WriteFile(path);
  if (!s.ok() && s.message().find(path) == std::string::npos) {
    return Status(s.code(), path + ": " + s.message());
  }
  return s;
}

}  // namespace odlm
