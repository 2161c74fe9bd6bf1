// SPDX-License-Identifier: GPL-3.0-or-later
// GPU out of memory, at load and mid-generation (issue 9, faults): the engine must end with a clear
// error or carry on, and the process must stay usable afterwards.
//
// Plain C++ (no Qt): GPU tests run on the GPU machine, which has no Qt; exit 0 = pass, 1 = fail,
// 77 = skipped (no CUDA build or no GPU). Device memory is taken away for real: the test allocates
// everything cudaMalloc will give it (a "hog"), so the engine's own cudaMalloc calls fail exactly as
// they would with another process on the card.
//   1. Loading while the card is full: refused before allocating, naming what it needs and what is free.
//   2. A session (caches and state) while the card is full: OutOfMemory naming GPU memory; then, with
//      the memory back, the same model makes a session and generates.
//   3. Mid-generation: the card fills up between tokens, so recurrent-state checkpoints cannot be
//      allocated; generation goes on (checkpoints skipped), the tokens equal a run with memory to
//      spare. A rewind on the full card either works or ends with OutOfMemory; with the memory
//      back, the same session rewinds and regenerates the reference tokens.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "logitscope/errors.h"
#include "logitscope/model.h"
#include "logitscope/session.h"

using namespace logitscope;

namespace {

int failures = 0;
#define EXPECT(cond, what)                                                         \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond); \
      ++failures;                                                                  \
    }                                                                              \
  } while (0)

// Takes every byte cudaMalloc hands out, in shrinking pieces down to 256 bytes (small allocations
// are carved out of shared pages, so the leftovers of those pages must go too).
struct Hog {
  std::vector<void*> blocks;
  void fill() {
    for (std::size_t piece = std::size_t(1) << 30; piece >= 256; piece /= 2) {
      void* p = nullptr;
      while (cudaMalloc(&p, piece) == cudaSuccess) blocks.push_back(p);
      cudaGetLastError();
    }
  }
  void release() {
    for (void* p : blocks) cudaFree(p);
    blocks.clear();
  }
  ~Hog() { release(); }
};

std::size_t free_bytes() {
  std::size_t f = 0, t = 0;
  cudaMemGetInfo(&f, &t);
  return f;
}

std::vector<TokenId> generate(Session& s, int n) {
  GenerateOptions g;
  g.max_new_tokens = n;
  g.stop_ids = {-1};  // never stop early: the fixture's eos may come up
  SamplingParams greedy;
  greedy.greedy = true;
  ProbeOptions probe;
  const GenerateResult r = s.generate(g, greedy, probe);
  std::vector<TokenId> ids;
  for (const auto& e : r.events) ids.push_back(e.id);
  return ids;
}

}  // namespace

int run(int argc, char** argv);

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FAIL: unexpected exception: %s\n", e.what());
    return 1;
  }
}

int run(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FIXTURE_MODEL_DIR\n", argv[0]);
    return 2;
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::puts("SKIP: no CUDA device");
    return 77;
  }
  LoadOptions lo;
  lo.snapshot.model = argv[1];
  lo.backend = BackendKind::Cuda;
  lo.max_context = 512;
  lo.load_tokenizer = false;
  const std::vector<TokenId> prompt = {1, 5, 9, 14, 3, 7, 11, 2, 8, 6, 4, 10};
  constexpr int kNew = 40;

  // Reference tokens with memory to spare.
  std::vector<TokenId> reference;
  {
    auto model = Model::load(lo);
    SessionOptions so;
    so.checkpoint_interval = 4;
    Session s(*model, so);
    s.prefill(prompt);
    reference = generate(s, kNew);
    EXPECT(int(reference.size()) == kNew, "reference run generates every token");
  }

  // 1. Load with the card full.
  {
    Hog hog;
    hog.fill();
    std::printf("card filled: %zu MiB free\n", free_bytes() >> 20);
    try {
      auto model = Model::load(lo);
      EXPECT(false, "load on a full card must fail");
    } catch (const Error& e) {
      const std::string m = e.what();
      std::printf("load on a full card: %s\n", m.c_str());
      EXPECT(m.find("does not fit") != std::string::npos || m.find("out of GPU memory") != std::string::npos,
             "the load error says the model does not fit");
      EXPECT(m.find("free") != std::string::npos, "the load error says how much is free");
    }
  }

  // 2. A session on a full card; then with the memory back.
  {
    auto model = Model::load(lo);
    {
      Hog hog;
      hog.fill();
      try {
        SessionOptions so;
        so.max_context = 512;
        Session s(*model, so);
        EXPECT(false, "a session on a full card must fail");
      } catch (const OutOfMemory& e) {
        std::printf("session on a full card: %s\n", e.what());
        EXPECT(std::string(e.what()).find("out of GPU memory") != std::string::npos, "the error names GPU memory");
      } catch (const std::exception& e) {
        std::fprintf(stderr, "unexpected error type: %s\n", e.what());
        EXPECT(false, "a full card gives OutOfMemory");
      }
    }
    SessionOptions so;
    so.checkpoint_interval = 4;
    Session s(*model, so);
    s.prefill(prompt);
    EXPECT(generate(s, kNew) == reference, "with the memory back the same model generates the reference tokens");
  }

  // 3. The card fills up mid-generation: checkpoints cannot be taken, generation goes on.
  {
    auto model = Model::load(lo);
    SessionOptions so;
    so.checkpoint_interval = 4;
    Session s(*model, so);
    s.prefill(prompt);
    std::vector<TokenId> got = generate(s, 10);
    Hog hog;
    hog.fill();
    std::vector<TokenId> rest;
    try {
      rest = generate(s, kNew - 10);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "generation on a full card threw: %s\n", e.what());
      EXPECT(false, "generation goes on when checkpoints cannot be allocated");
    }
    got.insert(got.end(), rest.begin(), rest.end());
    std::printf("checkpoints given up on the full card: %lld\n", static_cast<long long>(s.checkpoints_lost_to_memory()));
    EXPECT(s.checkpoints_lost_to_memory() > 0, "the full card made checkpoints fail (else this test proves nothing)");
    EXPECT(got == reference, "tokens generated on a full card equal the reference");
    // Rewind into the stretch without checkpoints and regenerate, still on the full card: this
    // replays tokens through a prompt-sized forward, which may itself run out of memory. Either it
    // works and gives the same tokens, or it ends with OutOfMemory; then, with the memory back, the
    // same session rewinds and regenerates the reference.
    const std::int64_t back = std::int64_t(prompt.size()) + 20;
    const std::vector<TokenId> tail(reference.begin() + 20, reference.end());
    try {
      s.rewind_to(back);
      EXPECT(generate(s, kNew - 20) == tail, "a rewind on a full card regenerates the same tokens");
      std::puts("rewind on the full card: worked");
    } catch (const OutOfMemory& e) {
      std::printf("rewind on the full card: %s\n", e.what());
    }
    hog.release();
    s.rewind_to(back);
    EXPECT(generate(s, kNew - 20) == tail, "with the memory back the session rewinds and regenerates the reference");
  }
  if (failures) {
    std::fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  std::puts("PASS");
  return 0;
}
