#include "core/train/profile_trace.h"

#include <ATen/Context.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/profiler_kineto.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>

namespace imlm::train {
namespace {

namespace kp = torch::autograd::profiler;
namespace pi = torch::profiler::impl;

std::set<pi::ActivityType> activities() {
  std::set<pi::ActivityType> a{pi::ActivityType::CPU};
  if (at::hasCUDA()) a.insert(pi::ActivityType::CUDA);
  return a;
}

}  // namespace

ProfileTrace::ProfileTrace() {
  const char* prefix = std::getenv("IMLM_PROFILE_TRACE");
  if (prefix == nullptr || *prefix == '\0') return;
  static std::atomic<int> counter{0};
  try {
    const pi::ProfilerConfig config(pi::ProfilerState::KINETO);
    kp::prepareProfiler(config, activities());
    kp::enableProfiler(config, activities());
    path_ = std::string(prefix) + "." + std::to_string(counter++) + ".json";
  } catch (const c10::Error& e) {
    // A diagnostic must never stop training: say why there is no trace and go on.
    std::fprintf(stderr, "imlm: IMLM_PROFILE_TRACE: the profiler did not start: %s\n", e.what_without_backtrace());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imlm: IMLM_PROFILE_TRACE: the profiler did not start: %s\n", e.what());
  }
}

ProfileTrace::~ProfileTrace() {
  if (path_.empty()) return;
  try {
    kp::disableProfiler()->save(path_);
    std::fprintf(stderr, "imlm: profile trace written to %s\n", path_.c_str());
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "imlm: IMLM_PROFILE_TRACE: no trace written to %s: %s\n", path_.c_str(), e.what_without_backtrace());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imlm: IMLM_PROFILE_TRACE: no trace written to %s: %s\n", path_.c_str(), e.what());
  }
}

}  // namespace imlm::train
