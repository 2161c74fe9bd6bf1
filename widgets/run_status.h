// SPDX-License-Identifier: GPL-3.0-or-later
// The status line under the window: what runs where and how the last reply went (model and
// format, backend and device, prompt and reply tokens, time to first token, tokens/s, context used
// of the maximum, memory in use). Plain data in, one line of text out, so tests read what is shown.
#pragma once

#include <QLabel>
#include <QString>

#include <cstdint>
#include <optional>

namespace logitscope::telemetry {
struct Sample;
}  // namespace logitscope::telemetry

namespace logitscope::widgets {

struct RunStatus {
  QString model;                          // a short name (folder or hub id)
  QString format;                         // "BF16", "F32", "BF16 + F32"; empty when unknown (remote)
  QString backend;                        // "cpu", "cuda", "remote"
  QString device;                         // "NVIDIA H100 80GB HBM3", "CPU (16 threads)"
  std::optional<std::int64_t> prompt_tokens, reply_tokens;  // of the last request
  std::optional<double> first_token_ms, tokens_per_second;  // of the last reply
  std::optional<std::int64_t> context_used;
  std::int64_t context_max = 0;
  // Memory in use: the telemetry's reading when there is one, else what the model holds.
  QString memory_kind;                    // "GPU", "unified", "RAM", "model"
  std::optional<double> memory_used_bytes, memory_total_bytes;
  // Weights one decoded token reads and the rate the device's measured copy bandwidth allows.
  std::optional<double> bytes_per_token, floor_tokens_per_second;
};

// "demo-model · BF16 · cpu on CPU (4 threads) · prompt 28, reply 311 tokens · first token 12 ms ·
// 455.1 tok/s (floor 1018) · 2.98 GB/token · context 339 / 4096 · GPU memory 61.2 / 79.6 GiB"; parts
// without a value are left out.
QString describe_run_status(const RunStatus& status);

// The memory part of a run status from a telemetry sample: the GPU's (NVML), unified memory
// (Jetson), else system RAM. False when the sample has none of them.
bool memory_from_sample(const telemetry::Sample& sample, RunStatus* status);

class RunStatusLabel : public QLabel {
  Q_OBJECT
 public:
  explicit RunStatusLabel(QWidget* parent = nullptr);
  const RunStatus& status() const { return status_; }
  RunStatus& edit() { return status_; }  // change fields, then show()
  void show_status();

 private:
  RunStatus status_;
};

}  // namespace logitscope::widgets
