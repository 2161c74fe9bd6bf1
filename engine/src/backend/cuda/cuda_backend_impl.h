// SPDX-License-Identifier: GPL-3.0-or-later
// The CUDA backend class, shared by its source files (forward, MoE layer, loading, choose).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <mutex>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/device_model.h"

namespace logitscope::cuda {

// Every cuBLAS call is checked (cuda_backend.cpp): out of memory or an engine error naming the call.
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call);
#define LS_CUBLAS(call)                                                                           \
  do {                                                                                            \
    cublasStatus_t s_ = (call);                                                                   \
    if (s_ != CUBLAS_STATUS_SUCCESS) ::logitscope::cuda::throw_cublas_error(s_, #call);           \
  } while (0)

// cuBLAS's workspace (NVIDIA's recommendation for Hopper is 32 MiB), allocated with the rest of the
// workspace so that a prompt on a nearly full card does not fail inside cuBLAS.
constexpr std::uint64_t kCublasWorkspaceBytes = 32ull << 20;

// Activations of one prompt chunk of up to `rows` tokens (decode uses row 0).
struct Workspace {
  int rows = 0;                 // prompt chunk
  int logit_rows = 0;           // rows of logits computed at once when all logits are kept
  int* ids = nullptr;           // [rows]
  int* step = nullptr;          // [2] decode step: {token id, position}, read by the decode graph
  float* resid = nullptr;       // [rows, hidden] fp32 residual stream
  bf16* normed = nullptr;       // [rows, hidden]
  float* proj = nullptr;        // [rows, max_proj] in_proj / qkv / ffn-up / latent outputs
  float* xbc = nullptr;         // [rows, conv_dim]
  float* y = nullptr;           // [rows, d_inner]
  bf16* act = nullptr;          // [rows, max_act] inputs of out_proj / o_proj / ffn-down
  bf16* lat = nullptr;          // [rows, latent] expert input in latent space
  float* routed = nullptr;      // [rows, latent] routed sum in latent space
  float* router = nullptr;      // [rows, E]
  int* topk_ids = nullptr;      // [rows, k]
  float* topk_w = nullptr;      // [rows, k]
  bf16* gathered = nullptr;     // [rows k, e_dim] tokens grouped by expert
  float* e_up = nullptr;        // [rows k, width]
  bf16* e_act = nullptr;        // [rows k, width]
  float* e_down = nullptr;      // [rows k, e_dim]
  int* perm = nullptr;          // [rows k] token of each grouped row
  int* slot = nullptr;          // [rows k] grouped row of assignment (t, j)
  int* row_expert = nullptr;    // [rows k] expert of each grouped row
  int* e_counts = nullptr;      // [E] assignments per expert (short prompt chunks, on the device)
  int* e_offsets = nullptr;     // [E] first grouped row of each expert
  void** gptrs = nullptr;       // [6 E] matrix pointers of cublasGemmGroupedBatchedEx
  int* e_tiles = nullptr;       // [E + 1] first row tile of each expert, total (grouped products)
  bf16* h_dec = nullptr;        // [k + 1, hstride] decode expert intermediates
  float* shared_h = nullptr;    // [shared width] decode shared expert, up products (side stream)
  bf16* shared_act = nullptr;   // [shared width] ... relu^2
  float* shared_out = nullptr;  // [hidden] ... down products, added by experts_down_decode
  float* part = nullptr;        // [rows, hidden] a MoE part computed apart to be scaled (intervention);
                                // e_down when that is large enough (free by then), else its own
  int hstride = 0;
  bf16* dequant = nullptr;      // [largest quantized dense matrix] its bf16 tile for a prompt chunk's cuBLAS product
  void* cublas_ws = nullptr;    // [kCublasWorkspaceBytes] cuBLAS's workspace, ours so it never allocates mid-run
  float* attn_part = nullptr;   // [H, kAttnMaxSplits, hd + 2] decode attention partials
  float* logits = nullptr;      // [logit_rows, vocab]
  int* cand_scratch_ids = nullptr;    // [summary_scratch_entries]
  float* cand_scratch_vals = nullptr;
  int* cand_ids = nullptr;      // [64]
  float* cand_vals = nullptr;   // [64]
  float* stats = nullptr;       // [4]
  void* base = nullptr;
  std::uint64_t bytes = 0;
  // Pinned host mirrors for the few values that cross per step.
  int* h_ids = nullptr;         // [rows] token ids in
  int* h_step = nullptr;        // [2] mirror of `step`
  int* h_topk = nullptr;        // [rows k] expert ids out (prompt grouping)
  int* h_group = nullptr;       // [3 rows k] perm | slot | row_expert in
  const void** h_gptrs = nullptr;  // [6 E] mirror of gptrs
  void* h_small = nullptr;      // candidates, stats, forced logit
};

class CudaState final : public BackendState {
 public:
  CudaState();
  ~CudaState() override;
  std::uint64_t uid = 0;        // unique per state: keys the captured decode graph
  std::vector<bf16*> conv;      // per Mamba layer [conv_dim, K-1]
  std::vector<float*> ssm;      // per Mamba layer [H, P, N]
  std::vector<bf16*> kcache, vcache;  // per attention layer [KV, max_ctx, hd]
  float* last_logits = nullptr; // [vocab]
  int* routing_ids = nullptr;   // [n_moe, k]
  float* routing_w = nullptr;   // [n_moe, k]
  void* block = nullptr;        // one allocation for all of the above
  std::uint64_t recurrent_bytes = 0;  // conv + ssm, contiguous at the start of block
  bool has_routing = false;
  std::vector<float> all_logits;      // [rows, vocab] of the last forward when all_logits was asked
  std::int64_t all_logit_rows = 0;
  // Routing of every row of the last prompt forward that asked for all logits (and routing).
  std::vector<int> all_routing_ids;   // [rows, n_moe, k]
  std::vector<float> all_routing_w;   // [rows, n_moe, k]
  std::int64_t all_routing_pos0 = 0;  // position of its first row
  // The interventions of the last forward (empty: none): which reported rows they touched
  // (positions >= from_position) and so which routing slots mean nothing (a skipped layer) or
  // hold padding (a forced set smaller than k).
  Interventions applied;
  std::vector<float> lens;            // [layers, vocab] logit lens of the last forward that asked (lens_last)
};

class CudaCheckpoint final : public RecurrentCheckpoint {
 public:
  ~CudaCheckpoint() override;
  void* data = nullptr;
  std::uint64_t size = 0;
  std::uint64_t bytes() const override { return size; }
};

class CudaBackend final : public Backend {
 public:
  CudaBackend(DeviceModel model, std::int64_t max_context);
  ~CudaBackend() override;

  std::string device_name() const override { return device_name_; }
  std::uint64_t device_bytes() const override { return model_.arena_bytes + ws_.bytes; }
  std::unique_ptr<BackendState> create_state(std::int64_t max_context) override;
  void forward(BackendState& state, std::span<const TokenId> tokens, const ForwardOptions& options,
               std::stop_token stop) override;
  std::vector<float> logits(BackendState& state) override;
  std::vector<RoutingSlice> routing(BackendState& state) override;
  std::vector<std::vector<RoutingSlice>> routing_all(BackendState& state) override;
  std::vector<float> lens_logits(BackendState& state) override;
  ChoiceResult choose(BackendState& state, const ChoiceRequest& request) override;
  std::unique_ptr<RecurrentCheckpoint> checkpoint(const BackendState& state) override;
  void restore(BackendState& state, const RecurrentCheckpoint& checkpoint) override;
  void reset(BackendState& state) override;

  CudaBackendStats stats() const;
  void set_memory_plan(std::string plan) { memory_plan_ = std::move(plan); }
  void set_graphs(bool on) {
    std::lock_guard lock(mutex_);
    use_graphs_ = on;
  }
  void set_profile(bool on);
  std::vector<KernelProfileRow> profile_rows();
  void set_timeline(bool on);
  std::vector<KernelProfileRow> timeline_rows();
  cudaStream_t stream() const { return stream_; }
  DeviceModel& model() { return model_; }
  // Bytes create_state(max_context) allocates.
  static std::uint64_t state_bytes(const ModelConfig& cfg, std::int64_t max_context);
  static std::uint64_t workspace_bytes(const ModelConfig& cfg, std::int64_t max_context, std::int64_t dequant_elems = 0);

 private:
  // ids_dev [T] token ids, pos_dev: the first token's position in device memory (decode) or null.
  void run_chunk(CudaState& st, int T, bool capture_routing, const int* ids_dev, const int* pos_dev);
  // One decoded token: the layers, the final norm + lm_head, and choose()'s summary kernels (so the
  // CUDA graph covers them too). Reads the token and its position from ws_.step.
  void decode_body(CudaState& st);
  void decode_step(CudaState& st, TokenId id);
  void capture_decode_graph(CudaState& st);
  void choose_kernels(CudaState& st);
  // Profiling: in profile mode each stage is bracketed by events (no graph); bytes = its byte count.
  void mark(const char* name, std::uint64_t bytes) {
    if (prof_active_ || tl_capturing_) mark_impl(name, bytes);
  }
  void mark_impl(const char* name, std::uint64_t bytes);
  void profile_collect();
  // Timeline mode (cuda_profile.cpp): replays the timeline graph (captured by decode_step), reads
  // its stamps back and adds the stages to tl_rows_.
  void timeline_replay();
  void mamba(const DLayer& L, CudaState& st, int T);
  void attention_layer(const DLayer& L, CudaState& st, int T, const int* pos_dev);
  void moe(const DLayer& L, CudaState& st, int T, bool capture_routing);
  // The shared expert of L into the residual, times `scale` (an intervention) when not 1.
  void shared_expert(const DLayer& L, int T, double scale);
  int layer_index(const DLayer& L) const { return int(&L - model_.layers.data()); }
  // The router edit of layer `layer` under active_iv_ (none when null).
  RouterEdit router_edit(int layer) const;
  // The slice of MoE layer `layer` at a row at position `pos` from k raw slots (ids, weights):
  // false when an intervention skipped the layer there; a forced set keeps its own experts only.
  bool routing_slice(const CudaState& st, int layer, std::int64_t pos, const int* ids, const float* w,
                     RoutingSlice& out) const;
  void ffn(const DFfn& f, const bf16* x, int T, float* out);
  void linear(const DLinear& L, const bf16* x, int T, float* y, bool accumulate);
  void final_logits(CudaState& st, int T, bool all_logits);
  // Logit lens: lens_rows_ [layers, hidden] (the last row's residual after each layer, kept by
  // run_chunk while lens_active_) through the final norm and lm_head into st.lens [layers, vocab].
  void lens_logits_from_rows(CudaState& st);
  // count/start [E + 1]: assignments per expert and first grouped row (host grouping).
  void cublas_grouped_experts(const ExpertsDecode& x, const std::vector<int>& count, const std::vector<int>& start,
                              int e_dim);

  DeviceModel model_;
  Workspace ws_;
  std::int64_t max_context_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  std::string device_name_;
  std::string memory_plan_;  // what the load needed against what was free (check_fits)
  std::mutex mutex_;
  bool use_graphs_ = true;
  // Decode: the shared expert of a MoE layer runs on a second stream (a parallel branch of the
  // graph) while the router, top-k and routed up products run (LOGITSCOPE_SHARED_STREAM=0: off).
  bool shared_side_ = true;
  cudaStream_t side_stream_ = nullptr;
  cudaEvent_t ev_fork_ = nullptr, ev_join_ = nullptr;
  // How prompt chunks of more than one token run their routed experts (LOGITSCOPE_PROMPT_EXPERTS):
  // Auto: grouped on the device, tensor-core grouped products (experts_grouped.cu; before compute
  // capability 8.0 the Cublas path); Cublas ("cublas"): the assignments grouped on the host after a
  // sync, one cuBLAS product per used expert (the v1-v3 path); CublasGrouped ("cublas_grouped"):
  // the host grouping with one cublasGemmGroupedBatchedEx per matrix. The last two are kept to be
  // measured against (bench, gpu_session.sh prefill) and checked (check).
  enum class PromptExperts { Auto, Cublas, CublasGrouped };
  PromptExperts prompt_experts_ = PromptExperts::Auto;
  cudaGraphExec_t graph_exec_ = nullptr;
  std::uint64_t graph_uid_ = 0;       // state the graph was captured for (0: none)
  Interventions graph_iv_;            // interventions baked into the graph (empty: none)
  // The interventions of the rows being run (null: none). A forward runs rows before and after
  // from_position as separate chunks, so a chunk is either wholly intervened or not at all.
  const Interventions* active_iv_ = nullptr;
  // The forward is one token after earlier ones (a cached step: Mamba's dt is clamped, not floored),
  // decided per forward as the CPU reference does, not per chunk.
  bool single_step_ = false;
  bool preview_ = false;              // LOGITSCOPE_CUDA_PREVIEW=1: interventions and the lens (cuda_tools.h)
  bool lens_active_ = false;          // run_chunk keeps the last row after every layer (logit lens)
  float* lens_rows_ = nullptr;        // [layers, hidden], allocated on the first lens
  cudaEvent_t step_copied_ = nullptr; // h_step may be rewritten once this has completed
  std::uint64_t cand_uid_ = 0;        // state whose last logits the device candidates/stats summarise
  // Profile mode.
  bool profile_ = false;
  bool prof_active_ = false;          // inside a profiled decode step
  // Set while a prompt forward keeps every row's routing: moe() copies its chunk rows
  // [all_routing_row0_, + T) into the state's all_routing_ids / all_routing_w.
  CudaState* all_routing_state_ = nullptr;
  std::int64_t all_routing_row0_ = 0;
  std::vector<cudaEvent_t> prof_events_;
  std::vector<std::pair<const char*, std::uint64_t>> prof_marks_;  // one per recorded event but the last
  std::vector<KernelProfileRow> prof_rows_;
  // Timeline mode (bench --timeline, builds with LOGITSCOPE_CUDA_TIMELINE): decode replays a graph
  // whose kernels stamp the device clock when they start (kernels/launch.cuh); a stage's time is the
  // span from its first kernel's stamp to the next stage's.
  struct TimelineMark {
    const char* name;
    std::uint64_t bytes;
    unsigned first_launch;  // index of the stage's first kernel among the graph's launches
  };
  static constexpr unsigned kTimelineCapacity = 8192;  // stamps per replay
  bool timeline_ = false;
  bool tl_capturing_ = false;         // capturing the timeline graph: mark() notes launch indices
  bool graph_is_timeline_ = false;    // graph_exec_ is the timeline graph
  bool tl_warm_ = false;              // the timeline graph has been replayed once (not counted)
  unsigned long long tl_base_ = 0;    // launches_issued() when the capture began
  unsigned tl_launches_ = 0;          // kernels in the timeline graph = stamps per replay
  std::vector<TimelineMark> tl_marks_;
  unsigned long long* tl_stamps_ = nullptr;  // [kTimelineCapacity] device clock (ns) per kernel start
  unsigned* tl_count_ = nullptr;             // [1] stamps taken
  std::vector<unsigned long long> tl_host_;  // [kTimelineCapacity] the last replay's stamps
  std::vector<KernelProfileRow> tl_rows_;
};

// The CUDA backend behind a Backend made by make_cuda_backend*; throws for any other backend.
CudaBackend& as_cuda(Backend& backend);
const CudaBackend& as_cuda(const Backend& backend);

// Allocates the workspace (layout computed from the config) on the device and pinned host.
Workspace allocate_workspace(const ModelConfig& cfg, std::int64_t max_context, std::int64_t dequant_elems,
                             bool sizing_only);
void free_workspace(Workspace& ws);

}  // namespace logitscope::cuda
