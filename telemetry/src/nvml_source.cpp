// SPDX-License-Identifier: GPL-3.0-or-later
// NVML through dlopen. The few types and functions are declared here by hand, matching the NVML
// ABI (nvml.h is not installed on build machines without the driver).
#include "logitscope/telemetry/nvml_source.h"

#include <dlfcn.h>

#include "logitscope/telemetry/proc_source.h"

namespace logitscope::telemetry {

namespace {

using nvmlReturn_t = int;  // NVML_SUCCESS == 0
struct nvmlDevice_st;
using nvmlDevice_t = nvmlDevice_st*;
struct nvmlMemory_t {
  unsigned long long total, free, used;  // bytes
};
struct nvmlUtilization_t {
  unsigned int gpu, memory;  // percent
};
constexpr int kNvmlClockSm = 1;           // nvmlClockType_t NVML_CLOCK_SM
constexpr int kNvmlTemperatureGpu = 0;    // nvmlTemperatureSensors_t NVML_TEMPERATURE_GPU
constexpr unsigned kNvmlNameBuffer = 96;  // NVML_DEVICE_NAME_V2_BUFFER_SIZE

}  // namespace

struct NvmlLibrary::Api {
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  const char* (*error_string)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*device_count)(unsigned int*) = nullptr;
  nvmlReturn_t (*handle_by_index)(unsigned int, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t*) = nullptr;
  nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlUtilization_t*) = nullptr;
  nvmlReturn_t (*clock)(nvmlDevice_t, int, unsigned int*) = nullptr;
  nvmlReturn_t (*power)(nvmlDevice_t, unsigned int*) = nullptr;
  nvmlReturn_t (*temperature)(nvmlDevice_t, int, unsigned int*) = nullptr;
};

std::unique_ptr<NvmlLibrary> NvmlLibrary::load(std::string* error, const std::string& library) {
  auto fail = [&](const std::string& message) -> std::unique_ptr<NvmlLibrary> {
    if (error) *error = message;
    return nullptr;
  };
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    return fail("NVML is not available (" + library + " did not load: " + (why ? why : "unknown") +
                "); install the NVIDIA driver to see GPU numbers");
  }
  std::unique_ptr<NvmlLibrary> lib(new NvmlLibrary());
  lib->handle_ = handle;
  lib->api_ = std::make_unique<Api>();
  Api& api = *lib->api_;
  std::string missing;
  auto bind = [&](auto& fn, const char* symbol) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(handle, symbol));
    if (!fn) missing += std::string(missing.empty() ? "" : ", ") + symbol;
  };
  bind(api.init, "nvmlInit_v2");
  bind(api.shutdown, "nvmlShutdown");
  bind(api.error_string, "nvmlErrorString");
  bind(api.device_count, "nvmlDeviceGetCount_v2");
  bind(api.handle_by_index, "nvmlDeviceGetHandleByIndex_v2");
  bind(api.name, "nvmlDeviceGetName");
  bind(api.memory, "nvmlDeviceGetMemoryInfo");
  bind(api.utilization, "nvmlDeviceGetUtilizationRates");
  bind(api.clock, "nvmlDeviceGetClockInfo");
  bind(api.power, "nvmlDeviceGetPowerUsage");
  bind(api.temperature, "nvmlDeviceGetTemperature");
  if (!missing.empty()) {
    lib->api_.reset();  // nothing to shut down
    return fail(library + " lacks " + missing + "; the driver is too old for this build");
  }
  if (nvmlReturn_t rc = api.init(); rc != 0) {
    std::string why = api.error_string ? api.error_string(rc) : std::to_string(rc);
    lib->api_.reset();
    return fail("nvmlInit failed: " + why);
  }
  return lib;
}

NvmlLibrary::~NvmlLibrary() {
  if (api_ && api_->shutdown) api_->shutdown();
  if (handle_) dlclose(handle_);
}

int NvmlLibrary::device_count() const {
  unsigned int n = 0;
  if (!api_ || api_->device_count(&n) != 0) return 0;
  return static_cast<int>(n);
}

std::optional<NvmlReading> NvmlLibrary::read(int index) const {
  if (!api_) return std::nullopt;
  nvmlDevice_t dev = nullptr;
  if (api_->handle_by_index(static_cast<unsigned>(index), &dev) != 0) return std::nullopt;
  NvmlReading r;
  r.index = index;
  char name[kNvmlNameBuffer] = {};
  if (api_->name(dev, name, kNvmlNameBuffer) == 0) r.name = name;
  nvmlMemory_t mem{};
  if (api_->memory(dev, &mem) == 0 && mem.total > 0) {
    r.mem_used_mb = static_cast<double>(mem.used) / (1024.0 * 1024.0);
    r.mem_total_mb = static_cast<double>(mem.total) / (1024.0 * 1024.0);
  }
  nvmlUtilization_t util{};
  if (api_->utilization(dev, &util) == 0) {
    r.gpu_util_pct = util.gpu;
    r.mem_util_pct = util.memory;
  }
  unsigned int value = 0;
  if (api_->clock(dev, kNvmlClockSm, &value) == 0) r.sm_clock_mhz = value;
  if (api_->power(dev, &value) == 0) r.power_mw = value;
  if (api_->temperature(dev, kNvmlTemperatureGpu, &value) == 0) r.temp_c = value;
  return r;
}

void apply_nvml(const NvmlReading& r, Sample& s) {
  if (!s.gpu) s.gpu = GpuInfo{};
  if (r.gpu_util_pct) s.gpu->load_pct = r.gpu_util_pct;
  if (r.sm_clock_mhz && !s.gpu->freq_mhz) s.gpu->freq_mhz = std::vector<double>{*r.sm_clock_mhz};
  if (r.power_mw) s.rails.push_back(PowerRail{"GPU", r.power_mw, std::nullopt, std::nullopt});
  if (r.temp_c && !s.find_temp("gpu")) s.temps.push_back(Temperature{"gpu", *r.temp_c, std::nullopt});
  s.device = GpuDeviceInfo{r.index, r.name, r.mem_used_mb, r.mem_total_mb};
}

NvmlSource::NvmlSource(NvmlOptions options) : PollingSource(options.interval), options_(std::move(options)) {
  std::string error;
  nvml_ = NvmlLibrary::load(&error, options_.library);
  if (!nvml_) throw TelemetryError(error);
  int count = nvml_->device_count();
  if (options_.device < 0 || options_.device >= count)
    throw TelemetryError("NVML sees " + std::to_string(count) + " GPU(s); device " + std::to_string(options_.device) +
                         " does not exist");
  if (options_.include_host) host_ = std::make_unique<ProcSource>(ProcOptions{options_.interval});
}

NvmlSource::~NvmlSource() { stop(); }

std::optional<Sample> NvmlSource::poll() {
  Sample s;
  if (host_) {
    if (auto host = host_->poll()) s = std::move(*host);
  }
  s.source = "nvml";
  s.time_s = elapsed_s();
  if (auto reading = nvml_->read(options_.device)) apply_nvml(*reading, s);
  return s;
}

}  // namespace logitscope::telemetry
