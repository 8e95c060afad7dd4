/** Evaluation analyses (docs/evaluation.md): classification metrics, KS distance, CKA. */
export { metrics, metricsOfTensors, type MetricsOptions, type MetricsReport, type Estimate, type ClassAuc } from './metrics';
export { ks, ksOfTensors, type KsOptions, type KsReport, type KsClass } from './ks';
export { cka, ckaOfTensors, type CkaOptions, type CkaReport, type CkaEntry } from './cka';
export { rocCurve, rocCurveOfTensors, type RocCurvePoints } from './roc';
export { readPredictions, readFeatures, readLabels, alignRows, type PredictionsFile, type FeaturesFile, type Task as AnalysisTask } from './files';
export { knnClassify, kKnnDefaults, type KnnOptions, type KnnResult } from './knn';
export { compare, compareTensors, type CompareOptions, type CompareReport, type PairedDifference } from './compare';
