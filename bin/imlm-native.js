#!/usr/bin/env node
'use strict';
// The `imlm-native` command. The TypeScript in lib/ is compiled to dist/ by `npm install`
// (the package's prepare script) or shipped compiled in the published package.
let cli;
try {
  cli = require('../dist/cli/main.js');
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND' && /dist[\\/]cli[\\/]main/.test(error.message)) {
    process.stderr.write(
      'imlm-native: the compiled CLI (dist/) is missing; run `npm run build:ts` (or `npm install`) in the package folder\n',
    );
    process.exit(1);
  }
  throw error;
}
cli.main(process.argv);
