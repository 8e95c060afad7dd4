// The evaluation maths of native/core/analysis, callable from JS on tensors: analysisMetrics,
// analysisKs, analysisCka, analysisAlign, analysisRocCurve (their JS signatures and results are
// typed in lib/analysis/native-types.ts). Each returns a Promise settled from a worker thread.
#pragma once

#include <napi.h>

namespace imlm::bridge {

/** Sets one exported function per row of the analysis table (bridge/analysis_binding.cc). */
void registerAnalysis(Napi::Env env, Napi::Object exports);

}  // namespace imlm::bridge
