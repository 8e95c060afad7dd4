// The JS ProcessGroup class over core/distributed/process_group.h, for collectives outside training
// (distributed evaluation gathers each rank's features). createProcessGroup(dist) joins the run
// on a worker thread; every collective runs on a worker thread and returns a Promise. One
// collective at a time per group (ERR_BUSY otherwise): ranks must issue them in the same order,
// which overlapping calls on libuv's thread pool would not guarantee.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <string>

#include <c10/core/Device.h>

#include "core/distributed/process_group.h"

namespace imlm::bridge {

class ProcessGroupWrap : public Napi::ObjectWrap<ProcessGroupWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  /** createProcessGroup(dist: {rank, worldSize, masterAddr, masterPort, backend?, timeoutSeconds?, localRank?}) → Promise<ProcessGroup>. */
  static Napi::Value create(const Napi::CallbackInfo& args);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<dist::ProcessGroup> group, const c10::Device& device);

  explicit ProcessGroupWrap(const Napi::CallbackInfo& args);

 private:
  Napi::Value allGather(const Napi::CallbackInfo& args);
  Napi::Value allGatherRows(const Napi::CallbackInfo& args);
  Napi::Value barrier(const Napi::CallbackInfo& args);
  Napi::Value close(const Napi::CallbackInfo& args);
  Napi::Value rank(const Napi::CallbackInfo& args);
  Napi::Value worldSize(const Napi::CallbackInfo& args);
  Napi::Value backend(const Napi::CallbackInfo& args);
  Napi::Value closed(const Napi::CallbackInfo& args);

  /** The group, or ERR_DISPOSED after close(). */
  std::shared_ptr<dist::ProcessGroup> live(Napi::Env env) const;

  std::shared_ptr<dist::ProcessGroup> group_;
  c10::Device device_ = c10::Device(c10::kCPU);
  int64_t rank_ = 0;
  int64_t worldSize_ = 1;
  std::string backend_;
  std::shared_ptr<std::atomic<bool>> busy_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace imlm::bridge
