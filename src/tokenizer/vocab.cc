// tokenizer/vocab.cc — LoadVocab: the `tokenizer.*` GGUF keys into a Vocab.
#include "tokenizer/vocab.h"

#include "base/logging.h"
#include "gguf/gguf_reader.h"

namespace odlm {
namespace {

// An optional token id: absent, negative or past the vocabulary (e.g. the 0xFFFFFFFF "none"
// some converters write) all mean "none".
StatusOr<int32_t> OptionalId(const GgufFile& file, const char* key, int32_t n_vocab) {
  if (file.FindValue(key) == nullptr) return -1;
  ASSIGN_OR_RETURN(int64_t v, file.GetInt(key));
  if (v < 0 || v >= n_vocab) {
    if (v != 0xFFFFFFFFll && v != -1) {
      LOG(WARNING) << key << " = " << v << " is outside the vocabulary (" << n_vocab
                   << " tokens); ignoring it";
    }
    return -1;
  }
  return static_cast<int32_t>(v);
}

StatusOr<bool> OptionalBool(const GgufFile& file, const char* key, bool fallback) {
  if (file.FindValue(key) == nullptr) return fallback;
  return file.GetBool(key);
}

int32_t FindToken(const Vocab& v, std::initializer_list<const char*> texts) {
  for (const char* t : texts) {
    for (int32_t i = 0; i < v.size(); ++i) {
      if (v.tokens[i] == t) return i;
    }
  }
  return -1;
}

}  // namespace

StatusOr<Vocab> LoadVocab(const GgufFile& file) {
  Vocab v;
  ASSIGN_OR_RETURN(std::string model, file.GetString("tokenizer.ggml.model"));
  if (model == "llama") {
    v.model = VocabModel::kSpm;
  } else if (model == "gpt2") {
    v.model = VocabModel::kBpe;
  } else {
    return UnimplementedError("tokenizer.ggml.model: unsupported tokenizer model '" + model +
                              "' (supported: 'llama' = SentencePiece, 'gpt2' = byte-level BPE)");
  }
  ASSIGN_OR_RETURN(v.tokens, file.GetStringArray("tokenizer.ggml.tokens"));
  if (v.tokens.empty())
    return InvalidArgumentError("tokenizer.ggml.tokens: the token list is empty");
  if (v.tokens.size() > 0x7FFFFFFF) return InvalidArgumentError("tokenizer.ggml.tokens: too many");
  const int32_t n = v.size();
  if (file.FindValue("tokenizer.ggml.scores") != nullptr) {
    ASSIGN_OR_RETURN(v.scores, file.GetFloatArray("tokenizer.ggml.scores"));
    if (v.scores.size() != v.tokens.size()) {
      return InvalidArgumentError("tokenizer.ggml.scores: " + std::to_string(v.scores.size()) +
                                  " scores for " + std::to_string(n) + " tokens");
    }
  }
  if (file.FindValue("tokenizer.ggml.token_type") != nullptr) {
    ASSIGN_OR_RETURN(std::vector<int64_t> types, file.GetIntArray("tokenizer.ggml.token_type"));
    if (types.size() != v.tokens.size()) {
      return InvalidArgumentError("tokenizer.ggml.token_type: " + std::to_string(types.size()) +
                                  " types for " + std::to_string(n) + " tokens");
    }
    v.types.reserve(types.size());
    for (size_t i = 0; i < types.size(); ++i) {
      if (types[i] < 0 || types[i] > 6) {
        return InvalidArgumentError("tokenizer.ggml.token_type[" + std::to_string(i) +
                                    "] = " + std::to_string(types[i]) + " (expected 0..6)");
      }
      v.types.push_back(static_cast<TokenType>(types[i]));
    }
  }
  if (v.model == VocabModel::kBpe) {
    if (file.FindValue("tokenizer.ggml.merges") == nullptr) {
      return InvalidArgumentError("tokenizer.ggml.merges: a 'gpt2' (BPE) vocabulary needs merges");
    }
    ASSIGN_OR_RETURN(v.merges, file.GetStringArray("tokenizer.ggml.merges"));
    if (file.FindValue("tokenizer.ggml.pre") != nullptr) {
      ASSIGN_OR_RETURN(v.pre_name, file.GetString("tokenizer.ggml.pre"));
    }
    if (v.pre_name.empty() || v.pre_name == "default") {
      LOG(WARNING) << "tokenizer.ggml.pre is " << (v.pre_name.empty() ? "absent" : "'default'")
                   << ": using the gpt-2 pre-tokenizer; tokens may differ from the original "
                      "model's (re-convert the model with a current converter)";
      v.pre = PreTokenizerKind::kGpt2;
    } else {
      ASSIGN_OR_RETURN(v.pre, PreTokenizerFromName(v.pre_name));
    }
    v.ignore_merges = v.pre == PreTokenizerKind::kLlama3;
  }
  ASSIGN_OR_RETURN(v.bos_id, OptionalId(file, "tokenizer.ggml.bos_token_id", n));
  ASSIGN_OR_RETURN(v.eos_id, OptionalId(file, "tokenizer.ggml.eos_token_id", n));
  ASSIGN_OR_RETURN(v.eot_id, OptionalId(file, "tokenizer.ggml.eot_token_id", n));
  ASSIGN_OR_RETURN(v.eom_id, OptionalId(file, "tokenizer.ggml.eom_token_id", n));
  ASSIGN_OR_RETURN(v.pad_id, OptionalId(file, "tokenizer.ggml.padding_token_id", n));
  ASSIGN_OR_RETURN(v.unk_id, OptionalId(file, "tokenizer.ggml.unknown_token_id", n));
  if (v.bos_id < 0 && file.FindValue("tokenizer.ggml.bos_token_id") == nullptr) {
    v.bos_id = FindToken(v, {"<s>", "<|begin_of_text|>"});
  }
  if (v.eos_id < 0 && file.FindValue("tokenizer.ggml.eos_token_id") == nullptr) {
    v.eos_id = FindToken(v, {"</s>", "<|end_of_text|>", "<|endoftext|>"});
  }
  if (v.unk_id < 0 && v.model == VocabModel::kSpm &&
      file.FindValue("tokenizer.ggml.unknown_token_id") == nullptr) {
    v.unk_id = FindToken(v, {"<unk>"});
  }
  ASSIGN_OR_RETURN(v.add_bos,
                   OptionalBool(file, "tokenizer.ggml.add_bos_token", v.model == VocabModel::kSpm));
  ASSIGN_OR_RETURN(v.add_eos, OptionalBool(file, "tokenizer.ggml.add_eos_token", false));
  ASSIGN_OR_RETURN(v.add_space_prefix, OptionalBool(file, "tokenizer.ggml.add_space_prefix",
                                                    v.model == VocabModel::kSpm));
  if (file.FindValue("tokenizer.chat_template") != nullptr) {
    ASSIGN_OR_RETURN(v.chat_template, file.GetString("tokenizer.chat_template"));
  }
  return v;
}

}  // namespace odlm
