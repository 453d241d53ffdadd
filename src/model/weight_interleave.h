// model/weight_interleave.h — gives a model's weight matrices their 8-row interleaved copies
// (kernels/interleave.h) at load, where this CPU's kernels read that layout faster.
//
// Every matrix the forward pass multiplies (the layers' projections and the output layer) whose
// type has an interleaved kernel on this CPU gets a copy in one huge-page region; the views'
// `interleaved` pointers point into it, `data` stays the file's bytes (embedding lookups,
// training and the tools read those). Views of one stored tensor (phi3's fused QKV, tied
// output = token_embd) are repacked once per distinct view. The copy costs its size in
// anonymous memory; with the memory-mapped default the file pages it was made from are read once
// and then dropped from the process's resident set (the page cache keeps them while the OS has
// room), so the resident total stays about the model's size. With --no-mmap the file's copy stays
// too: about twice the model's size.
#pragma once

#include <cstdint>
#include <memory>

#include "base/status.h"
#include "base/thread_pool.h"
#include "model/model_weights.h"
#include "platform/huge_page_memory.h"

namespace odlm {

// Repacks what pays into one region and points the views at it. Returns nullptr when nothing
// pays on this CPU (weights unchanged). Unavailable when the memory cannot be allocated. When
// `file` is given (the file the views point into), the repacked ranges' pages are dropped from
// the resident set afterwards (GgufFile::DropPages: memory-mapped files only).
StatusOr<std::unique_ptr<HugePageMemory>> InterleaveWeights(ModelWeights* weights, ThreadPool* pool,
                                                            const GgufFile* file = nullptr);

}  // namespace odlm
