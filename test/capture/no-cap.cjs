// Preloaded with `node -r` by cli.test.ts: makes require('cap') fail as it does where libpcap or the
// build tools were missing at install time, without touching the shared node_modules.
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'cap') {
    const err = new Error("Cannot find module 'cap' (simulated: cap's native build failed at install)");
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  return resolve.call(this, request, ...rest);
};
