/**
 * `defaults` overlaid with the fields of `given` that are set. An option passed as `undefined`
 * takes its default — an object spread would carry the undefined through to native code, which
 * (taking no defaults of its own) refuses it.
 */
export function withDefaults<D extends object, G extends object>(defaults: D, given: G): D & { [K in keyof G]-?: Exclude<G[K], undefined> } {
  const set = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  return { ...defaults, ...set } as D & { [K in keyof G]-?: Exclude<G[K], undefined> };
}
