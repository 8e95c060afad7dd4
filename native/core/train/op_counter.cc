#include "core/train/op_counter.h"

#include <atomic>
#include <cstring>
#include <mutex>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "core/errors.h"

namespace imlm::train {
namespace {

// One counter at a time: RecordFunction's global callbacks are plain function pointers.
std::mutex tallyMutex;
OpCounts* tally = nullptr;
std::atomic<bool> counting{false};
thread_local int depth = 0;             // ATen operators open on this thread
thread_local int multiTensorDepth = 0;  // of which multi-tensor ones

bool isMultiTensor(const char* name) {
  return std::strncmp(name, "aten::_foreach_", 15) == 0 || std::strncmp(name, "aten::_fused_", 13) == 0;
}

bool isOperator(const at::RecordFunction& fn) {
  const char* name = fn.name();
  return name != nullptr && (std::strncmp(name, "aten::", 6) == 0 || std::strncmp(name, "imlm::", 6) == 0);
}

std::unique_ptr<at::ObserverContext> onStart(const at::RecordFunction& fn) {
  if (!isOperator(fn)) return nullptr;
  const bool topLevel = depth == 0;
  const bool outsideMultiTensor = multiTensorDepth == 0;
  ++depth;
  if (isMultiTensor(fn.name())) ++multiTensorDepth;
  std::lock_guard<std::mutex> lock(tallyMutex);
  if (tally != nullptr) {
    OpCount& c = (*tally)[fn.name()];
    ++c.all;
    if (topLevel) ++c.topLevel;
    if (outsideMultiTensor) ++c.outsideMultiTensor;
  }
  return nullptr;
}

void onEnd(const at::RecordFunction& fn, at::ObserverContext*) {
  if (!isOperator(fn)) return;
  if (depth > 0) --depth;
  if (isMultiTensor(fn.name()) && multiTensorDepth > 0) --multiTensorDepth;
}

}  // namespace

OpCounter::OpCounter() {
  if (counting.exchange(true)) {
    throw Error(ErrorCode::kBusy, "operator counting is already running in this process (one counter at a time)");
  }
  {
    std::lock_guard<std::mutex> lock(tallyMutex);
    tally = new OpCounts();
  }
  handle_ = at::addGlobalCallback(at::RecordFunctionCallback(onStart, onEnd).scopes({at::RecordScope::FUNCTION}));
}

OpCounter::~OpCounter() {
  at::removeCallback(handle_);
  std::lock_guard<std::mutex> lock(tallyMutex);
  delete tally;
  tally = nullptr;
  counting = false;
}

OpCounts OpCounter::take() {
  std::lock_guard<std::mutex> lock(tallyMutex);
  OpCounts out = std::move(*tally);
  *tally = OpCounts();
  return out;
}

at::Tensor readToHost(const at::Tensor& deviceTensor) {
  RECORD_FUNCTION("imlm::device_to_host", std::vector<c10::IValue>());
  return deviceTensor.to(c10::Device(c10::kCPU)).contiguous();
}

}  // namespace imlm::train
