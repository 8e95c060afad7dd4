// The progress task of evaluation work (features, probes, fine-tuning): reports are
// {stage, done, total, value} objects (bridge/progress_task.h does the rest).
#pragma once

#include <napi.h>

#include "bridge/progress_task.h"
#include "core/eval/progress.h"

namespace imlm::bridge {

class EvalTask : public ProgressTask<eval::EvalProgress> {
 public:
  using ProgressTask<eval::EvalProgress>::ProgressTask;

 protected:
  Napi::Value reportToJs(Napi::Env env, const eval::EvalProgress& report) final {
    Napi::Object o = Napi::Object::New(env);
    o.Set("stage", report.stage);
    o.Set("done", static_cast<double>(report.done));
    o.Set("total", static_cast<double>(report.total));
    o.Set("value", report.value);
    return o;
  }
};

}  // namespace imlm::bridge
