#include "bridge/process_group_wrap.h"

#include <utility>

#include "bridge/addon_data.h"
#include "bridge/busy_lease.h"
#include "bridge/dist_convert.h"
#include "bridge/error_conversion.h"
#include "bridge/js_args.h"
#include "bridge/promise_worker.h"
#include "bridge/tensor_wrap.h"
#include "core/distributed/gather_rows.h"
#include "core/errors.h"

namespace imlm::bridge {
namespace {

/** What the wrap is constructed from (an External, so JS cannot construct one itself). */
struct GroupHandle {
  std::shared_ptr<dist::ProcessGroup> group;
  c10::Device device;
};

class ConnectTask : public PromiseWorker {
 public:
  ConnectTask(Napi::Env env, dist::DistOptions options) : PromiseWorker(env), options_(std::move(options)) {}

 protected:
  void run() override {
    // Evaluation gathers CPU tensors (features are small next to the forward passes), so Gloo
    // unless NCCL is asked for by name; NCCL's collectives then run on this rank's GPU.
    if (options_.backend == "nccl") device_ = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(options_.localRank));
    group_ = dist::ProcessGroup::connect(options_, device_);
  }
  Napi::Value result(Napi::Env env) override { return ProcessGroupWrap::wrap(env, group_, device_); }

 private:
  dist::DistOptions options_;
  c10::Device device_ = c10::Device(c10::kCPU);
  std::shared_ptr<dist::ProcessGroup> group_;
};

/** One collective on a worker thread, holding the group's lease until its Promise settles. */
class CollectiveTask : public PromiseWorker {
 public:
  enum class Kind { kAllGather, kAllGatherRows, kBarrier };
  CollectiveTask(Napi::Env env, Kind kind, std::shared_ptr<dist::ProcessGroup> group, c10::Device device, at::Tensor input, BusyLease lease)
      : PromiseWorker(env), kind_(kind), group_(std::move(group)), device_(device), input_(std::move(input)), lease_(std::move(lease)) {}

 protected:
  void run() override {
    switch (kind_) {
      case Kind::kAllGather:
        output_ = group_->allGather(input_.to(device_)).to(at::kCPU);
        break;
      case Kind::kAllGatherRows:
        output_ = dist::allGatherRows(*group_, input_, device_);
        break;
      case Kind::kBarrier:
        group_->barrier();
        break;
    }
  }
  void settled() override { lease_.release(); }
  Napi::Value result(Napi::Env env) override {
    return output_.defined() ? Napi::Value(TensorWrap::wrap(env, output_)) : env.Undefined();
  }

 private:
  Kind kind_;
  std::shared_ptr<dist::ProcessGroup> group_;
  c10::Device device_;
  at::Tensor input_, output_;
  BusyLease lease_;
};

}  // namespace

Napi::Function ProcessGroupWrap::define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "ProcessGroup",
                                   {
                                       InstanceMethod<&ProcessGroupWrap::allGather>("allGather"),
                                       InstanceMethod<&ProcessGroupWrap::allGatherRows>("allGatherRows"),
                                       InstanceMethod<&ProcessGroupWrap::barrier>("barrier"),
                                       InstanceMethod<&ProcessGroupWrap::close>("close"),
                                       InstanceAccessor<&ProcessGroupWrap::rank>("rank"),
                                       InstanceAccessor<&ProcessGroupWrap::worldSize>("worldSize"),
                                       InstanceAccessor<&ProcessGroupWrap::backend>("backend"),
                                       InstanceAccessor<&ProcessGroupWrap::closed>("closed"),
                                   });
  AddonData::of(env).processGroupClass = Napi::Persistent(cls);
  return cls;
}

Napi::Value ProcessGroupWrap::create(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    return startWorker(new ConnectTask(env, toDistOptions(JsArgs(args).at(0, "dist"))));
  });
}

Napi::Object ProcessGroupWrap::wrap(Napi::Env env, std::shared_ptr<dist::ProcessGroup> group, const c10::Device& device) {
  GroupHandle handle{std::move(group), device};
  return AddonData::of(env).processGroupClass.New({Napi::External<GroupHandle>::New(env, &handle)});
}

ProcessGroupWrap::ProcessGroupWrap(const Napi::CallbackInfo& args) : Napi::ObjectWrap<ProcessGroupWrap>(args) {
  if (args.Length() != 1 || !args[0].IsExternal()) {
    throwInvalidArg(args.Env(), "ProcessGroup objects come from createProcessGroup(dist)");
  }
  const GroupHandle& handle = *args[0].As<Napi::External<GroupHandle>>().Data();
  group_ = handle.group;
  device_ = handle.device;
  rank_ = group_->rank();
  worldSize_ = group_->size();
  backend_ = group_->backend();
}

std::shared_ptr<dist::ProcessGroup> ProcessGroupWrap::live(Napi::Env env) const {
  if (!group_) throw makeError(env, {"ERR_DISPOSED", "this ProcessGroup was closed; create another with createProcessGroup(dist)"});
  return group_;
}

Napi::Value ProcessGroupWrap::allGather(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    at::Tensor input = JsArgs(args).tensor(0, "tensor");
    auto group = live(env);
    BusyLease lease = BusyLease::acquire(env, busy_, "this ProcessGroup");
    return startWorker(new CollectiveTask(env, CollectiveTask::Kind::kAllGather, std::move(group), device_, std::move(input), std::move(lease)));
  });
}

Napi::Value ProcessGroupWrap::allGatherRows(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    at::Tensor input = JsArgs(args).tensor(0, "rows");
    auto group = live(env);
    BusyLease lease = BusyLease::acquire(env, busy_, "this ProcessGroup");
    return startWorker(new CollectiveTask(env, CollectiveTask::Kind::kAllGatherRows, std::move(group), device_, std::move(input), std::move(lease)));
  });
}

Napi::Value ProcessGroupWrap::barrier(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto group = live(env);
    BusyLease lease = BusyLease::acquire(env, busy_, "this ProcessGroup");
    return startWorker(new CollectiveTask(env, CollectiveTask::Kind::kBarrier, std::move(group), device_, at::Tensor(), std::move(lease)));
  });
}

Napi::Value ProcessGroupWrap::close(const Napi::CallbackInfo& args) {
  // A collective in flight keeps its own reference; the group goes when the last one ends.
  group_.reset();
  return args.Env().Undefined();
}

Napi::Value ProcessGroupWrap::rank(const Napi::CallbackInfo& args) { return Napi::Number::New(args.Env(), static_cast<double>(rank_)); }
Napi::Value ProcessGroupWrap::worldSize(const Napi::CallbackInfo& args) {
  return Napi::Number::New(args.Env(), static_cast<double>(worldSize_));
}
Napi::Value ProcessGroupWrap::backend(const Napi::CallbackInfo& args) { return Napi::String::New(args.Env(), backend_); }
Napi::Value ProcessGroupWrap::closed(const Napi::CallbackInfo& args) { return Napi::Boolean::New(args.Env(), !group_); }

}  // namespace imlm::bridge
