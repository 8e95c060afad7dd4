/**
 * Named augmentation policies (docs/method.md, "Augmentation policies"), applied batched in native/core/augment. Each view
 * of an image is drawn independently. Differences from the reference's PIL pipeline, by design:
 * geometry (crop, flip, rotation) is one resampling before the colour ops (the reference rotates
 * after jitter, so its black corners are not jittered; ours are); resampling is bilinear without
 * antialiasing; the blur is a true Gaussian (PIL's is a 3-pass box approximation); no uint8
 * rounding between ops. Parameter ranges and probabilities are the paper's.
 */
import { validate } from '../config/validate';
import { ImlmError } from '../errors';
import { offPolicy, policyRules, type AugmentPolicy, type PolicyFields } from './augment-ops';
import { formatError } from './json-file';
import { isPolicyFile, readPolicyFile } from './policy-file';

export type { AugmentPolicy, PolicyFields } from './augment-ops';

const none: AugmentPolicy = offPolicy;

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

const namedList = () => Object.keys(policies).map((p) => `'${p}'`).join(', ');

/** Own names only: 'constructor' or '__proto__' must not find Object's members. */
const isNamed = (name: string) => Object.prototype.hasOwnProperty.call(policies, name);

function named(name: string): AugmentPolicy {
  if (!isNamed(name)) {
    throw new ImlmError(`Expected an augmentation policy ${namedList()} or a policy file (.json, .yaml) but received '${name}'`, 'ERR_INVALID_ARG');
  }
  return policies[name];
}

/**
 * `base` (default 'none') with `fields` over it, checked where one field alone cannot be: the
 * base is a named policy, each range's lower end is at most its upper end. A policy file's
 * problems are ERR_FORMAT naming the file and field; an object's are ERR_INVALID_ARG.
 */
function applyFields({ base, ...fields }: PolicyFields, file?: string): AugmentPolicy {
  if (base !== undefined && !isNamed(base)) {
    if (file) throw formatError(file, '/base', `a named policy (${namedList()})`, `'${base}'`, 'fix the policy file');
    throw new ImlmError(`Expected policy.base to be a named policy (${namedList()}) but received '${base}'`, 'ERR_INVALID_ARG');
  }
  const policy = { ...named(base ?? 'none'), ...fields };
  for (const [lo, hi] of policyRules().ordered) {
    if (policy[lo] > policy[hi]) {
      if (file) throw formatError(file, `/${lo}`, `${lo} <= ${hi} (${policy[hi]})`, `${policy[lo]}`, 'fix the policy file');
      throw new ImlmError(`Expected policy.${lo} <= policy.${hi} but received ${policy[lo]} > ${policy[hi]}`, 'ERR_INVALID_ARG');
    }
  }
  return policy;
}

/**
 * A policy by name, or `base` (a named policy, default 'none') with fields changed, from a
 * policy file (.json/.yaml) or an object. Files and objects are checked alike, against the
 * schema built from the native op table (lib/data/augment-ops.ts).
 */
export function resolvePolicy(policy: string | PolicyFields = 'mocov2'): AugmentPolicy {
  if (typeof policy !== 'string') return applyFields(validate<PolicyFields>(policyRules().schema, policy, 'policy'));
  if (!isPolicyFile(policy)) return named(policy);
  return applyFields(readPolicyFile(policy), policy);
}
