// tokenizer/bpe_trainer.cc — BpeTrainer: options, word counting and the merge loop.
//
// The merge loop follows the usual incremental scheme (as Hugging Face's BpeTrainer): pair counts
// in a hash map, an index from each pair to the words that hold it, and a max-heap of (count,
// pair) with lazy invalidation. Invariant: every pair with a positive count has a heap entry with
// at least that count; an entry whose count is stale is re-pushed with the current count when it
// surfaces. A merge only lowers the counts of existing pairs and creates pairs with the new token
// (pushed once, with their final count, after the merge).
#include "tokenizer/bpe_trainer.h"

#include <algorithm>
#include <unordered_set>

#include "base/check.h"
#include "base/thread_pool.h"
#include "base/utf8.h"
#include "tokenizer/tokenizer.h"

namespace odlm {
namespace {

constexpr size_t kChunkBytes = size_t{1} << 20;
constexpr int32_t kMaxVocab = int32_t{1} << 24;

bool PrintableAscii(char c) { return c > ' ' && c < 0x7F; }

uint64_t PairKey(int32_t l, int32_t r) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
}
int32_t PairLeft(uint64_t key) { return static_cast<int32_t>(key >> 32); }
int32_t PairRight(uint64_t key) { return static_cast<int32_t>(key & 0xFFFFFFFFu); }

struct Word {
  std::vector<int32_t> symbols;  // [current tokens of the word]
  int64_t count;
};

struct HeapEntry {
  int64_t count;
  uint64_t pair;
};

// The merge loop's state.
class MergeLearner {
 public:
  MergeLearner(const BpeTrainerOptions& options, std::vector<std::string> tokens,
               std::vector<Word> words)
      : options_(options), tokens_(std::move(tokens)), words_(std::move(words)) {
    text_to_id_.reserve(tokens_.size() * 2);
    for (size_t i = 0; i < tokens_.size(); ++i) {
      text_to_id_.emplace(tokens_[i], static_cast<int32_t>(i));
    }
  }

  // Runs merges until the vocabulary is full or a stop condition; appends "left right" merges.
  void Run(std::vector<std::string>* merges, BpeTrainStats* stats) {
    CountInitialPairs();
    BpeTrainProgress progress;
    progress.target = options_.vocab_size;
    const auto report = [&](bool done) {
      if (!options_.progress) return;
      progress.n_tokens = static_cast<int32_t>(tokens_.size());
      progress.n_merges = static_cast<int32_t>(merges->size());
      progress.last_token = merges->empty() ? std::string_view() : tokens_.back();
      progress.done = done;
      options_.progress(progress);
    };
    stats->stop = BpeStop::kNoPairs;
    while (static_cast<int32_t>(tokens_.size()) < options_.vocab_size) {
      if (heap_.empty()) {
        stats->stop = BpeStop::kNoPairs;
        break;
      }
      std::pop_heap(heap_.begin(), heap_.end(), Order());
      const HeapEntry top = heap_.back();
      heap_.pop_back();
      if (blocked_.count(top.pair) != 0) continue;  // never merged: drop the entry
      const auto it = pair_count_.find(top.pair);
      const int64_t count = it == pair_count_.end() ? 0 : it->second;
      if (count != top.count) {
        if (count > 0) Push(top.pair, count);
        continue;
      }
      if (count < options_.min_frequency) {
        stats->stop = BpeStop::kMinFrequency;
        break;
      }
      const int32_t l = PairLeft(top.pair), r = PairRight(top.pair);
      std::string merged = tokens_[l] + tokens_[r];
      if (text_to_id_.count(merged) != 0) {
        // Another pair (or a special token) already has this text: never merge this pair, so
        // that each token stays the result of one merge (see the header).
        blocked_.insert(top.pair);
        ++stats->blocked_pairs;
        continue;
      }
      const auto new_id = static_cast<int32_t>(tokens_.size());
      merges->push_back(tokens_[l] + " " + tokens_[r]);
      tokens_.push_back(std::move(merged));
      text_to_id_.emplace(tokens_.back(), new_id);
      Apply(top.pair, new_id);
      progress.last_count = count;
      if (options_.progress_every > 0 &&
          static_cast<int32_t>(merges->size()) % options_.progress_every == 0) {
        report(false);
      }
    }
    if (static_cast<int32_t>(tokens_.size()) >= options_.vocab_size) {
      stats->stop = BpeStop::kVocabFull;
    }
    stats->n_merges = static_cast<int32_t>(merges->size());
    report(true);
  }

  std::vector<std::string> TakeTokens() { return std::move(tokens_); }

 private:
  // Heap order: higher count first, then the smaller (left text, right text).
  struct Lower {
    const std::vector<std::string>* tokens;
    bool operator()(const HeapEntry& a, const HeapEntry& b) const {
      if (a.count != b.count) return a.count < b.count;
      const std::string& al = (*tokens)[PairLeft(a.pair)];
      const std::string& bl = (*tokens)[PairLeft(b.pair)];
      if (int c = al.compare(bl); c != 0) return c > 0;
      return (*tokens)[PairRight(a.pair)] > (*tokens)[PairRight(b.pair)];
    }
  };
  Lower Order() const { return {&tokens_}; }

  void Push(uint64_t pair, int64_t count) {
    heap_.push_back({count, pair});
    std::push_heap(heap_.begin(), heap_.end(), Order());
  }

  void NoteWord(uint64_t pair, uint32_t w) {
    std::vector<uint32_t>& list = pair_words_[pair];
    if (list.empty() || list.back() != w) list.push_back(w);
  }

  void CountInitialPairs() {
    for (size_t w = 0; w < words_.size(); ++w) {
      const Word& word = words_[w];
      for (size_t i = 0; i + 1 < word.symbols.size(); ++i) {
        const uint64_t p = PairKey(word.symbols[i], word.symbols[i + 1]);
        pair_count_[p] += word.count;
        NoteWord(p, static_cast<uint32_t>(w));
      }
    }
    heap_.reserve(pair_count_.size());
    for (const auto& [pair, count] : pair_count_) heap_.push_back({count, pair});
    std::make_heap(heap_.begin(), heap_.end(), Order());
  }

  void Change(uint64_t pair, int64_t delta, uint32_t w) {
    auto it = pair_count_.find(pair);
    if (it == pair_count_.end()) it = pair_count_.emplace(pair, 0).first;
    it->second += delta;
    if (delta > 0) {
      NoteWord(pair, w);
      grown_.push_back(pair);
    } else if (it->second == 0) {
      pair_count_.erase(it);
    }
  }

  // Replaces every occurrence of `pair` in the words that hold it by `new_id`, left to right,
  // updating the counts of the neighbouring pairs.
  void Apply(uint64_t pair, int32_t new_id) {
    const int32_t l = PairLeft(pair), r = PairRight(pair);
    std::vector<uint32_t> list;
    if (auto it = pair_words_.find(pair); it != pair_words_.end()) {
      list = std::move(it->second);
      pair_words_.erase(it);
    }
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    grown_.clear();
    for (uint32_t w : list) {
      std::vector<int32_t>& s = words_[w].symbols;
      const int64_t c = words_[w].count;
      const size_t n = s.size();
      size_t j = 0;  // write position (in-place compaction)
      for (size_t i = 0; i < n;) {
        if (i + 1 < n && s[i] == l && s[i + 1] == r) {
          if (j > 0) {
            Change(PairKey(s[j - 1], l), -c, w);
            Change(PairKey(s[j - 1], new_id), c, w);
          }
          if (i + 2 < n) {
            Change(PairKey(r, s[i + 2]), -c, w);
            Change(PairKey(new_id, s[i + 2]), c, w);
          }
          s[j++] = new_id;
          i += 2;
        } else {
          s[j++] = s[i++];
        }
      }
      s.resize(j);
    }
    pair_count_.erase(pair);  // every occurrence is merged (the changes above may touch it)
    std::sort(grown_.begin(), grown_.end());
    grown_.erase(std::unique(grown_.begin(), grown_.end()), grown_.end());
    for (uint64_t p : grown_) {
      auto it = pair_count_.find(p);
      if (it != pair_count_.end() && it->second > 0) Push(p, it->second);
    }
  }

  const BpeTrainerOptions& options_;
  std::vector<std::string> tokens_;
  std::vector<Word> words_;
  std::unordered_map<std::string, int32_t> text_to_id_;
  std::unordered_map<uint64_t, int64_t> pair_count_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> pair_words_;  // may list stale words
  std::unordered_set<uint64_t> blocked_;
  std::vector<HeapEntry> heap_;
  std::vector<uint64_t> grown_;  // pairs whose count rose during the current merge
};

Status CheckSpecialId(const std::string& what, const std::string& text,
                      const std::vector<std::string>& specials) {
  if (text.empty()) return Status::Ok();
  if (std::find(specials.begin(), specials.end(), text) == specials.end()) {
    return InvalidArgumentError(what + " token '" + text + "' is not one of the special tokens");
  }
  return Status::Ok();
}

}  // namespace

const std::vector<uint8_t>& Gpt2ByteOrder() {
  static const std::vector<uint8_t> order = [] {
    std::vector<uint8_t> o(256);
    for (int b = 0; b < 256; ++b) o[b] = static_cast<uint8_t>(b);
    std::sort(o.begin(), o.end(),
              [](uint8_t a, uint8_t b) { return ByteToUnicode(a) < ByteToUnicode(b); });
    return o;
  }();
  return order;
}

size_t FindSafeTextCut(std::string_view text, size_t from) {
  for (size_t p = std::max<size_t>(from, 2); p < text.size(); ++p) {
    if (text[p - 1] == '\n' && PrintableAscii(text[p - 2]) && PrintableAscii(text[p])) return p;
  }
  return std::string_view::npos;
}

StatusOr<std::unique_ptr<BpeTrainer>> BpeTrainer::Create(BpeTrainerOptions options) {
  const auto& specials = options.special_tokens;
  const int64_t base = 256 + static_cast<int64_t>(specials.size());
  if (options.vocab_size < base || options.vocab_size > kMaxVocab) {
    return InvalidArgumentError("vocab size " + std::to_string(options.vocab_size) + ": expected " +
                                std::to_string(base) + " (256 bytes + " +
                                std::to_string(specials.size()) + " special tokens) to " +
                                std::to_string(kMaxVocab));
  }
  std::unordered_set<std::string> seen;
  for (const std::string& s : specials) {
    if (s.empty()) return InvalidArgumentError("special token: empty text");
    if (!seen.insert(s).second) {
      return InvalidArgumentError("special token '" + s + "' is given twice");
    }
    uint32_t cp;
    const size_t len = DecodeUtf8(s, 0, &cp);
    if (len == s.size() && cp != kInvalidUtf8 && UnicodeToByte(cp) >= 0) {
      return InvalidArgumentError("special token '" + s +
                                  "' is the text of a byte token; choose a longer text");
    }
  }
  if (options.special_type != TokenType::kControl &&
      options.special_type != TokenType::kUserDefined) {
    return InvalidArgumentError("special token type: expected control or user-defined");
  }
  RETURN_IF_ERROR(CheckSpecialId("BOS", options.bos_token, specials));
  RETURN_IF_ERROR(CheckSpecialId("EOS", options.eos_token, specials));
  RETURN_IF_ERROR(CheckSpecialId("padding", options.pad_token, specials));
  if (options.min_frequency < 1) {
    return InvalidArgumentError("min frequency " + std::to_string(options.min_frequency) +
                                ": expected at least 1");
  }
  return std::unique_ptr<BpeTrainer>(new BpeTrainer(std::move(options)));
}

void BpeTrainer::SplitAtSpecials(std::string_view text, std::vector<std::string_view>* out) const {
  const auto& specials = options_.special_tokens;
  bool first[256] = {};
  for (const std::string& s : specials) first[static_cast<unsigned char>(s[0])] = true;
  size_t start = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t best = 0;
    if (first[static_cast<unsigned char>(text[pos])]) {
      for (const std::string& s : specials) {
        if (s.size() > best && text.compare(pos, s.size(), s) == 0) best = s.size();
      }
    }
    if (best == 0) {
      ++pos;
      continue;
    }
    if (pos > start) out->push_back(text.substr(start, pos - start));
    pos += best;
    start = pos;
  }
  if (start < text.size()) out->push_back(text.substr(start));
}

void BpeTrainer::AddTexts(const std::vector<std::string_view>& texts, int threads) {
  // Work items: special-free stretches, long ones cut into chunks at safe points.
  std::vector<std::string_view> stretches, chunks;
  for (std::string_view t : texts) {
    n_bytes_ += static_cast<int64_t>(t.size());
    SplitAtSpecials(t, &stretches);
  }
  for (std::string_view s : stretches) {
    while (s.size() > kChunkBytes) {
      const size_t cut = FindSafeTextCut(s, kChunkBytes);
      if (cut == std::string_view::npos) break;
      chunks.push_back(s.substr(0, cut));
      s.remove_prefix(cut);
    }
    chunks.push_back(s);
  }
  threads = std::max(1, std::min<int>(threads, static_cast<int>(chunks.size())));
  std::vector<std::unordered_map<std::string_view, int64_t>> local(threads);
  std::vector<int64_t> local_words(threads, 0);
  auto count = [&](int t, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      for (std::string_view piece : PreTokenize(options_.pre, chunks[i])) {
        ++local[t][piece];
        ++local_words[t];
      }
    }
  };
  if (threads == 1) {
    count(0, 0, static_cast<int64_t>(chunks.size()));
  } else {
    ThreadPool pool(threads);
    pool.ParallelFor(static_cast<int64_t>(chunks.size()), count);
  }
  // The views above point into `texts`: copy new words into word_store_.
  for (int t = 0; t < threads; ++t) {
    n_words_ += local_words[t];
    for (const auto& [word, c] : local[t]) {
      auto it = counts_.find(word);
      if (it == counts_.end()) {
        it = counts_.emplace(word_store_.emplace_back(word), 0).first;
      }
      it->second += c;
    }
    local[t] = {};
  }
}

Vocab BpeTrainer::Train(BpeTrainStats* stats) const {
  BpeTrainStats local_stats;
  if (stats == nullptr) stats = &local_stats;
  *stats = BpeTrainStats();
  Vocab v;
  v.model = VocabModel::kBpe;
  v.pre = options_.pre;
  v.pre_name = PreTokenizerName(options_.pre);
  v.ignore_merges = options_.pre == PreTokenizerKind::kLlama3;
  int32_t byte_id[256];
  for (uint8_t b : Gpt2ByteOrder()) {
    byte_id[b] = v.size();
    v.tokens.push_back(ByteToUnicodeText(b));
  }
  for (const std::string& s : options_.special_tokens) v.tokens.push_back(s);

  // Words in a fixed order (the result does not depend on it; the run time barely does).
  std::vector<std::pair<std::string_view, int64_t>> sorted(counts_.begin(), counts_.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<Word> words;
  words.reserve(sorted.size());
  for (const auto& [text, count] : sorted) {
    if (text.size() < 2) continue;  // no pairs
    Word w{{}, count};
    w.symbols.reserve(text.size());
    for (unsigned char c : text) w.symbols.push_back(byte_id[c]);
    words.push_back(std::move(w));
  }
  sorted = {};

  MergeLearner learner(options_, std::move(v.tokens), std::move(words));
  learner.Run(&v.merges, stats);
  v.tokens = learner.TakeTokens();

  const int32_t n_special = static_cast<int32_t>(options_.special_tokens.size());
  v.types.assign(v.tokens.size(), TokenType::kNormal);
  for (int32_t i = 0; i < n_special; ++i) v.types[256 + i] = options_.special_type;
  auto special_id = [&](const std::string& text) -> int32_t {
    if (text.empty()) return -1;
    for (int32_t i = 0; i < n_special; ++i) {
      if (options_.special_tokens[i] == text) return 256 + i;
    }
    return -1;
  };
  v.bos_id = special_id(options_.bos_token);
  v.eos_id = special_id(options_.eos_token);
  v.pad_id = special_id(options_.pad_token);
  v.add_bos = options_.add_bos && v.bos_id >= 0;
  v.add_eos = false;
  v.add_space_prefix = false;
  v.chat_template = options_.chat_template;
  return v;
}

}  // namespace odlm
