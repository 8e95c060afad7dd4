#define IMLM_COMPAT_C10D  // this file alone pulls in the c10d headers (core/compat.h)
#include "core/distributed/process_group.h"

#include <chrono>
#include <cstdlib>
#include <map>
#include <utility>

#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>

#include "core/compat.h"
#include "core/errors.h"

namespace imlm::dist {

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<compat::C10dBackend> group;
};

namespace {

std::chrono::milliseconds toMillis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

/** Runs a c10d call, turning its failures (a peer gone, a timeout) into kDistributed. */
template <typename Fn>
auto collective(int64_t rank, const char* what, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::kDistributed, "rank " + std::to_string(rank) + ": " + what + " failed: " +
                                             e.what_without_backtrace() +
                                             " (another rank has probably stopped: look for its error)");
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kDistributed, "rank " + std::to_string(rank) + ": " + what + " failed: " + e.what() +
                                             " (another rank has probably stopped: look for its error)");
  }
}

class C10dPending : public PendingCollective {
 public:
  C10dPending(c10::intrusive_ptr<c10d::Work> work, int64_t rank) : work_(std::move(work)), rank_(rank) {}
  void wait() override {
    collective(rank_, "a gradient all-reduce", [&] { return work_->wait(); });
  }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
  int64_t rank_;
};

bool isLoopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0; }

#if defined(IMLM_HAVE_GLOO)
c10::intrusive_ptr<compat::C10dBackend> makeGloo(const c10::intrusive_ptr<c10d::Store>& store, const DistOptions& o) {
  auto options = c10d::ProcessGroupGloo::Options::create(toMillis(o.timeoutSeconds));
  // As torch.distributed: GLOO_SOCKET_IFNAME names the interface; a loopback master means one
  // machine, where binding to 127.0.0.1 needs no name resolution; otherwise this host's address.
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  if (ifname && *ifname) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
  } else if (isLoopback(o.masterAddr)) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  } else {
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  options->threads = 2;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(o.rank), static_cast<int>(o.worldSize),
                                                     options);
}
#endif

#if defined(IMLM_HAVE_NCCL)
c10::intrusive_ptr<compat::C10dBackend> makeNccl(const c10::intrusive_ptr<c10d::Store>& store, const DistOptions& o) {
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = toMillis(o.timeoutSeconds);
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, static_cast<int>(o.rank), static_cast<int>(o.worldSize),
                                                     options);
}
#endif

}  // namespace

std::vector<std::string> availableBackends() {
  std::vector<std::string> out;
#if defined(IMLM_HAVE_GLOO)
  out.push_back("gloo");
#endif
#if defined(IMLM_HAVE_NCCL)
  out.push_back("nccl");
#endif
  return out;
}

ProcessGroup::~ProcessGroup() = default;

std::shared_ptr<ProcessGroup> ProcessGroup::connect(const DistOptions& o, const c10::Device& device) {
  if (o.worldSize < 1 || o.rank < 0 || o.rank >= o.worldSize) {
    throw Error(ErrorCode::kInvalidArgument, "expected 0 <= rank < worldSize but received rank " + std::to_string(o.rank) +
                                                 " and worldSize " + std::to_string(o.worldSize));
  }
  if (o.masterPort < 1 || o.masterPort > 65535) {
    throw Error(ErrorCode::kInvalidArgument, "expected MASTER_PORT in 1..65535 but received " + std::to_string(o.masterPort));
  }
  std::string backend = o.backend == "auto" ? (device.is_cuda() ? "nccl" : "gloo") : o.backend;
  if (backend != "gloo" && backend != "nccl") {
    throw Error(ErrorCode::kInvalidArgument, "expected backend 'auto', 'gloo' or 'nccl' but received '" + o.backend + "'");
  }
  if (backend == "nccl" && !device.is_cuda()) {
    throw Error(ErrorCode::kInvalidArgument, "the nccl backend needs a CUDA device; on the CPU use gloo");
  }
#if !defined(IMLM_HAVE_GLOO)
  if (backend == "gloo") {
    throw Error(ErrorCode::kDeviceUnavailable,
                "this build has no Gloo process group (gloo's headers were missing when it was compiled: "
                "apt-get install libgloo-dev, then rebuild with node scripts/setup.js)");
  }
#endif
#if !defined(IMLM_HAVE_NCCL)
  if (backend == "nccl") {
    throw Error(ErrorCode::kDeviceUnavailable,
                "this build has no NCCL process group (it needs a CUDA LibTorch and nccl.h at build time); "
                "use backend gloo");
  }
#endif
  auto group = std::shared_ptr<ProcessGroup>(new ProcessGroup());
  group->impl_ = std::make_unique<Impl>();
  group->rank_ = o.rank;
  group->size_ = o.worldSize;
  group->backend_ = backend;
  collective(o.rank, ("the rendezvous at " + o.masterAddr + ":" + std::to_string(o.masterPort)).c_str(), [&] {
    c10d::TCPStoreOptions storeOptions;
    storeOptions.port = static_cast<uint16_t>(o.masterPort);
    storeOptions.isServer = o.rank == 0;
    storeOptions.numWorkers = static_cast<size_t>(o.worldSize);
    storeOptions.waitWorkers = true;
    storeOptions.timeout = toMillis(o.timeoutSeconds);
    group->impl_->store = c10::make_intrusive<c10d::TCPStore>(o.masterAddr, storeOptions);
#if defined(IMLM_HAVE_GLOO)
    if (backend == "gloo") group->impl_->group = makeGloo(group->impl_->store, o);
#endif
#if defined(IMLM_HAVE_NCCL)
    if (backend == "nccl") group->impl_->group = makeNccl(group->impl_->store, o);
#endif
    return 0;
  });
  return group;
}

std::unique_ptr<PendingCollective> ProcessGroup::allReduceSumAsync(at::Tensor t) {
  return collective(rank_, "all-reduce", [&] {
    std::vector<at::Tensor> tensors{std::move(t)};
    return std::make_unique<C10dPending>(impl_->group->allreduce(tensors, c10d::AllreduceOptions()), rank_);
  });
}

void ProcessGroup::allReduceSum(at::Tensor t) {
  collective(rank_, "all-reduce", [&] {
    std::vector<at::Tensor> tensors{std::move(t)};
    return impl_->group->allreduce(tensors, c10d::AllreduceOptions())->wait();
  });
}

void ProcessGroup::broadcast(at::Tensor t, int64_t root) {
  collective(rank_, "broadcast", [&] {
    std::vector<at::Tensor> tensors{std::move(t)};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    return impl_->group->broadcast(tensors, options)->wait();
  });
}

at::Tensor ProcessGroup::allGather(const at::Tensor& t) {
  return collective(rank_, "all-gather", [&] {
    std::vector<at::Tensor> inputs{t.contiguous()};
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int64_t r = 0; r < size_; ++r) outputs[0].push_back(at::empty_like(inputs[0]));
    impl_->group->allgather(outputs, inputs)->wait();
    return at::cat(outputs[0], 0);
  });
}

void ProcessGroup::barrier() {
  collective(rank_, "barrier", [&] { return impl_->group->barrier()->wait(); });
}

void broadcastCoalesced(ProcessGroup& group, const std::vector<at::Tensor>& tensors) {
  at::NoGradGuard noGrad;
  std::map<std::pair<int, std::string>, std::vector<at::Tensor>> byKind;
  for (const at::Tensor& t : tensors) {
    byKind[{static_cast<int>(t.scalar_type()), t.device().str()}].push_back(t);
  }
  for (auto& [kind, members] : byKind) {
    std::vector<at::Tensor> flat;
    for (const at::Tensor& t : members) flat.push_back(t.reshape({-1}));
    at::Tensor buffer = at::cat(flat, 0);
    group.broadcast(buffer, 0);
    int64_t offset = 0;
    for (at::Tensor& t : members) {
      t.copy_(buffer.narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

}  // namespace imlm::dist
