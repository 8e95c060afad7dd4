#include "bridge/internals_binding.h"

#include <chrono>
#include <sstream>
#include <string>
#include <thread>

#include "bridge/error_conversion.h"
#include "bridge/promise_worker.h"
#include "core/errors.h"
#include "core/serial_thread.h"

namespace imlm::bridge {
namespace {

std::string idOf(std::thread::id id) {
  std::ostringstream out;
  out << id;
  return out.str();
}

class PromiseProbeTask : public PromiseWorker {
 public:
  PromiseProbeTask(Napi::Env env, bool fail) : PromiseWorker(env), fail_(fail) {}

 protected:
  void run() override {
    // Leaked on purpose: an idle thread needs no orderly end at process exit.
    static SerialThread* shared = new SerialThread();
    caller_ = idOf(std::this_thread::get_id());
    shared->call([this] {
      job_ = idOf(std::this_thread::get_id());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (fail_) throw Error(ErrorCode::kInvalidArgument, "the probe's job failed, as asked");
    });
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("job", job_);
    o.Set("caller", caller_);
    return o;
  }

 private:
  bool fail_;
  std::string job_;
  std::string caller_;
};

}  // namespace

Napi::Value serialThreadProbe(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    const bool fail = args.Length() > 0 && args[0].ToBoolean().Value();
    return startWorker(new PromiseProbeTask(env, fail));
  });
}

}  // namespace imlm::bridge
