// One asynchronous operation at a time per native object: the lease is taken on the JS thread
// when the operation starts and returned when its Promise settles, so a second call while the
// first runs fails with ERR_BUSY instead of racing on the same LibTorch module.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <string>

#include "bridge/error_conversion.h"

namespace imlm::bridge {

class BusyLease {
 public:
  BusyLease() = default;
  /** Takes the flag or throws ERR_BUSY naming `what`. */
  static BusyLease acquire(Napi::Env env, const std::shared_ptr<std::atomic<bool>>& flag, const std::string& what) {
    if (flag->exchange(true)) {
      throw makeError(env, {"ERR_BUSY", what + " is already running an operation; await it (or cancel it) first"});
    }
    BusyLease lease;
    lease.flag_ = flag;
    return lease;
  }
  BusyLease(BusyLease&& other) noexcept : flag_(std::move(other.flag_)) {}
  BusyLease& operator=(BusyLease&& other) noexcept {
    release();
    flag_ = std::move(other.flag_);
    return *this;
  }
  BusyLease(const BusyLease&) = delete;
  BusyLease& operator=(const BusyLease&) = delete;
  ~BusyLease() { release(); }

  void release() {
    if (flag_) flag_->store(false);
    flag_.reset();
  }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

}  // namespace imlm::bridge
