/** imlm-native's public API. */
export { ImlmError, isImlmError, type ErrorCode } from './errors';
export { tensor, liveTensorCount, checkDevice, type Tensor, type TensorOptions, type DType, type TensorData } from './tensor';
export { info, type Info } from './info';
export { doctor, type DoctorCheck, type DoctorOptions } from './doctor';
export { packageVersion as version } from './version';
