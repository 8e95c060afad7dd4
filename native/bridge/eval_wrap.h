// The evaluation functions of the addon (lib/eval): features of a frozen network, linear
// probes on cached features (and the reference's through-backbone way, for the benchmark),
// the selection metric. Each runs on a worker thread and returns a Promise.
#pragma once

#include <napi.h>

namespace imlm::bridge {

/** extractFeatures({ checkpoint, images, batchSize?, imageSize?, device?, threads? }, onProgress?) */
Napi::Value extractFeatures(const Napi::CallbackInfo& args);
/** fitLinearProbe({ trainFeatures, trainLabels, valFeatures, valLabels, testFeatures?, task, metric, numClasses, ... }, onProgress?) */
Napi::Value fitLinearProbe(const Napi::CallbackInfo& args);
/** fitLinearProbeThroughBackbone({ checkpoint, block, trainImages, trainLabels, valImages, valLabels, ... }, onProgress?) */
Napi::Value fitLinearProbeThroughBackbone(const Napi::CallbackInfo& args);
/** selectionMetric(probabilities, labels, task, metric) → Promise<number> */
Napi::Value selectionMetric(const Napi::CallbackInfo& args);

}  // namespace imlm::bridge
