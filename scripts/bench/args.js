'use strict';
// `--name value` flags for the bench and parity scripts (plain Node, no dependencies).
function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function flag(name) {
  return process.argv.includes(`--${name}`);
}

module.exports = { arg, flag };
