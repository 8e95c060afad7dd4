/**
 * Named augmentation policies (docs/method.md, "Augmentation policies"), applied batched in native/core/augment. Each view
 * of an image is drawn independently. Differences from the reference's PIL pipeline, by design:
 * geometry (crop, flip, rotation) is one resampling before the colour ops (the reference rotates
 * after jitter, so its black corners are not jittered; ours are); resampling is bilinear without
 * antialiasing; the blur is a true Gaussian (PIL's is a 3-pass box approximation); no uint8
 * rounding between ops. Parameter ranges and probabilities are the paper's.
 */
import { ImlmError } from '../errors';
import { formatError } from './json-file';
import { isPolicyFile, readPolicyFile } from './policy-file';

export interface AugmentPolicy {
  crop: boolean;
  scaleMin: number;
  scaleMax: number;
  ratioMin: number;
  ratioMax: number;
  hflipP: number;
  vflipP: number;
  rotationDegrees: number;
  nearest: boolean;
  jitterP: number;
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
  grayscaleP: number;
  blurP: number;
  blurSigmaMin: number;
  blurSigmaMax: number;
}

const none: AugmentPolicy = {
  crop: false, scaleMin: 1, scaleMax: 1, ratioMin: 1, ratioMax: 1, hflipP: 0, vflipP: 0, rotationDegrees: 0, nearest: false,
  jitterP: 0, brightness: 0, contrast: 0, saturation: 0, hue: 0, grayscaleP: 0, blurP: 0, blurSigmaMin: 0.1, blurSigmaMax: 2,
};

/** The colour part shared by every kaku2021 policy: jitter (0.4, 0.4, 0.4, 0.1) p 0.8, grayscale 0.2, blur σ∈[0.1, 2] p 0.5. */
const kakuColour = { jitterP: 0.8, brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, grayscaleP: 0.2, blurP: 0.5, blurSigmaMin: 0.1, blurSigmaMax: 2 };

export const policies: Record<string, AugmentPolicy> = {
  none,
  /** NIH ChestX-ray14: no crop or flip (commented out in the reference); rotation ±30°, nearest. */
  'kaku2021-cxr': { ...none, ...kakuColour, rotationDegrees: 30, nearest: true },
  /** EyePACS DR: rotation ±30° then horizontal flip. */
  'kaku2021-dr': { ...none, ...kakuColour, rotationDegrees: 30, hflipP: 0.5 },
  /** BCH IDC patches: RandomResizedCrop(scale 0.4–1, ratio 3/4–4/3), horizontal flip. */
  'kaku2021-bch': { ...none, ...kakuColour, crop: true, scaleMin: 0.4, scaleMax: 1, ratioMin: 3 / 4, ratioMax: 4 / 3, hflipP: 0.5 },
  /** Standard MoCo v2: crop (0.2–1), jitter p 0.8, grayscale 0.2, blur p 0.5, horizontal flip. */
  mocov2: { ...none, ...kakuColour, crop: true, scaleMin: 0.2, scaleMax: 1, ratioMin: 3 / 4, ratioMax: 4 / 3, hflipP: 0.5 },
};

/** Ranges that one field alone cannot express (min ≤ max). */
function checkRanges(policy: AugmentPolicy, what: string, file?: string): AugmentPolicy {
  for (const [lo, hi] of [['scaleMin', 'scaleMax'], ['ratioMin', 'ratioMax'], ['blurSigmaMin', 'blurSigmaMax']] as const) {
    if (policy[lo] > policy[hi]) {
      // A policy file is a file: its problems are ERR_FORMAT naming it and the field.
      if (file) throw formatError(file, `/${lo}`, `${lo} <= ${hi} (${policy[hi]})`, `${policy[lo]}`, 'fix the policy file');
      throw new ImlmError(`Expected ${what}.${lo} <= ${what}.${hi} but received ${policy[lo]} > ${policy[hi]}`, 'ERR_INVALID_ARG');
    }
  }
  return policy;
}

function named(name: string): AugmentPolicy {
  // Own names only: 'constructor' or '__proto__' must not find Object's members.
  const found = Object.prototype.hasOwnProperty.call(policies, name) ? policies[name] : undefined;
  if (!found) {
    throw new ImlmError(
      `Expected an augmentation policy ${Object.keys(policies).map((p) => `'${p}'`).join(', ')} or a policy file (.json, .yaml) but received '${name}'`,
      'ERR_INVALID_ARG',
    );
  }
  return found;
}

/**
 * A policy by name, a policy file (.json/.yaml: `base` plus fields to change), or a custom
 * object (fields missing from it are those of 'none').
 */
export function resolvePolicy(policy: string | Partial<AugmentPolicy> = 'mocov2'): AugmentPolicy {
  if (typeof policy !== 'string') return checkRanges({ ...none, ...policy }, 'policy');
  if (!isPolicyFile(policy)) return named(policy);
  const { base, ...fields } = readPolicyFile(policy);
  if (base !== undefined && !Object.prototype.hasOwnProperty.call(policies, base)) {
    throw formatError(policy, '/base', `a named policy (${Object.keys(policies).map((p) => `'${p}'`).join(', ')})`, `'${base}'`, 'fix the policy file');
  }
  return checkRanges({ ...named(base ?? 'none'), ...fields }, policy, policy);
}
