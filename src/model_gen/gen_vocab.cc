// model_gen/gen_vocab.cc — a small deterministic byte-level BPE training for the built-in
// vocabulary.
#include "model_gen/gen_vocab.h"

#include <map>
#include <set>
#include <utility>

#include "tokenizer/bpe_trainer.h"
#include "tokenizer/tokenizer.h"

namespace odlm {
namespace {

// Training text, written for odlm. Plain ASCII English with the everyday words and endings that a
// tiny vocabulary should merge first.
constexpr const char* kTrainingText =
    "Once upon a time there was a small town by the sea. The people of the town woke early every "
    "morning, and the first thing they did was look at the water. If the sea was calm, the boats "
    "went out; if the wind was strong, they stayed in the harbor and the children played on the "
    "stones. One day a girl named Mira found a little box between two rocks. It was made of wood "
    "and had a brass lock that shone in the light. She carried it home and showed it to her "
    "grandfather, who had been a sailor for many years. He turned the box over in his hands and "
    "said that he had seen one like it before, a long time ago, on a ship that was going to the "
    "north. They tried to open it together, but the lock would not move. So they waited. In the "
    "evening the wind changed, and the sound of the waves became soft and slow. Mira sat by the "
    "window and thought about where the box had come from, who had made it, and why it had been "
    "left on the shore. Her grandfather told her stories about the places he had visited: cities "
    "with towers of glass, markets full of spices and fruit, forests where the trees were older "
    "than any house. She listened until she was tired, and then she fell asleep with the box "
    "beside her.\n"
    "The next morning the lock opened by itself. Inside there was a letter, a map and a key. The "
    "letter said: \"To whoever finds this, the key opens the door at the end of the map. Be kind, "
    "be patient, and share what you learn.\" Mira and her grandfather followed the map along the "
    "coast, over the hills and through the fields. They walked for three days and talked about "
    "everything: the weather, the stars, the best way to cook fish, the reason why birds fly "
    "south in winter. On the fourth day they reached an old stone house with a green door. The "
    "key fit, and the door opened into a room filled with books. There were books about the sea, "
    "about numbers and machines, about music, languages and the history of the world. Mira "
    "understood that the treasure was not gold but knowledge, and that it was meant to be "
    "shared.\n"
    "Questions and answers help people learn. What is the capital of a country? How many days "
    "are in a year? Why does the moon change its shape? A good answer is short, clear and true. "
    "A good question is curious and honest. When we do not know something, we can say so, and "
    "then we can find out. Computers that read and write text work in a similar way: they look "
    "at the words that came before and choose the next word that fits best. They are useful "
    "when they are careful, when they explain their reasons, and when they respect the people "
    "who use them. Numbers like 1, 2, 3, 10, 42, 100 and 2024 appear in text too, together with "
    "signs such as +, -, =, %, $ and the dots, commas and question marks of every sentence.\n";

enum class CharClass { kSpace, kLetter, kDigit, kOther };

CharClass Classify(unsigned char c) {
  if (c == ' ' || c == '\n' || c == '\t' || c == '\r') return CharClass::kSpace;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return CharClass::kLetter;
  if (c >= '0' && c <= '9') return CharClass::kDigit;
  return CharClass::kOther;
}

// Splits text the way a GPT-2 pre-tokenizer roughly does (ASCII only, enough for training):
// runs of letters, digits or other symbols, each with at most one leading space; other
// whitespace on its own.
std::vector<std::string> PreTokenize(const std::string& text) {
  std::vector<std::string> chunks;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    CharClass cls = Classify(text[i]);
    if (text[i] == ' ' && i + 1 < text.size() && Classify(text[i + 1]) != CharClass::kSpace) {
      ++i;  // the space belongs to the run that follows
      cls = Classify(text[i]);
    }
    while (i < text.size() && Classify(text[i]) == cls &&
           (cls != CharClass::kSpace || text[i] == text[start]))
      ++i;
    chunks.push_back(text.substr(start, i - start));
  }
  return chunks;
}

constexpr const char* kChatMlTemplate =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}";

}  // namespace

StatusOr<ByteLevelVocab> BuildByteLevelVocab(int64_t n_vocab) {
  if (n_vocab < kByteLevelVocabMinSize || n_vocab > (int64_t{1} << 24)) {
    return InvalidArgumentError("vocabulary size " + std::to_string(n_vocab) +
                                ": the built-in byte-level vocabulary needs " +
                                std::to_string(kByteLevelVocabMinSize) + " to 16777216 tokens");
  }
  ByteLevelVocab v;
  for (uint8_t b : Gpt2ByteOrder()) {
    v.tokens.push_back(ByteToUnicodeText(b));
    v.token_types.push_back(1);
  }
  for (const char* special : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) {
    v.tokens.push_back(special);
    v.token_types.push_back(3);
  }
  v.bos_id = 256;
  v.pad_id = 256;
  v.eos_id = 258;
  v.chat_template = kChatMlTemplate;

  // Unique words with their counts; each word as a sequence of symbols.
  std::map<std::string, int64_t> word_counts;
  for (const std::string& chunk : PreTokenize(kTrainingText)) ++word_counts[chunk];
  std::vector<std::pair<std::vector<std::string>, int64_t>> words;
  for (const auto& [word, count] : word_counts) {
    std::vector<std::string> symbols;
    for (unsigned char c : word) symbols.push_back(ByteToUnicodeText(c));
    words.emplace_back(std::move(symbols), count);
  }
  std::set<std::string> known(v.tokens.begin(), v.tokens.end());
  while (static_cast<int64_t>(v.tokens.size()) < n_vocab) {
    std::map<std::pair<std::string, std::string>, int64_t> pairs;
    for (const auto& [symbols, count] : words)
      for (size_t i = 0; i + 1 < symbols.size(); ++i) pairs[{symbols[i], symbols[i + 1]}] += count;
    if (pairs.empty()) break;  // every word is a single token
    auto best = pairs.begin();
    for (auto it = pairs.begin(); it != pairs.end(); ++it)
      if (it->second > best->second) best = it;  // ties: the first in spelling order wins
    const auto [left, right] = best->first;
    const std::string merged = left + right;
    v.merges.push_back(left + " " + right);
    if (known.insert(merged).second) {
      v.tokens.push_back(merged);
      v.token_types.push_back(1);
    }
    for (auto& [symbols, count] : words) {
      std::vector<std::string> out;
      for (size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
          out.push_back(merged);
          ++i;
        } else {
          out.push_back(symbols[i]);
        }
      }
      symbols = std::move(out);
    }
  }
  for (int64_t i = 0; static_cast<int64_t>(v.tokens.size()) < n_vocab; ++i) {
    v.tokens.push_back("<|unused_" + std::to_string(i) + "|>");
    v.token_types.push_back(5);
  }
  return v;
}

}  // namespace odlm
