// The evaluation maths of native/core/analysis, callable from JS on tensors; each returns a
// Promise settled from a worker thread: analysisMetrics, analysisKs, analysisCka, analysisAlign.
#pragma once

#include <napi.h>

namespace imlm::bridge {

/** analysisMetrics(probabilities, labels, { task, resamples?, seed?, confidence? }) → Promise<metrics>. */
Napi::Value analysisMetrics(const Napi::CallbackInfo& args);
/** analysisKs(a [N1, K], b [N2, K], { probabilities?, method? }) → Promise<{ columns: KsResult[] }>. */
Napi::Value analysisKs(const Napi::CallbackInfo& args);
/** analysisCka(x, y, { kernel, sigma?, sigmaMedianFraction?, full?, sets?, setSize?, seed? }) → Promise<{ full, bootstrap }>. */
Napi::Value analysisCka(const Napi::CallbackInfo& args);
/** analysisAlign(idsA, idsB, tensorsB[]) → Promise<Tensor[]>: tensorsB's rows in the order of idsA. */
Napi::Value analysisAlign(const Napi::CallbackInfo& args);
/** analysisRocCurve(probabilities [N, K], labels, { task, maxPoints? }) → Promise<{ fpr, tpr: Float64Array, of }>. */
Napi::Value analysisRocCurve(const Napi::CallbackInfo& args);

}  // namespace imlm::bridge
