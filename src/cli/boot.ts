// What bin/shadowtap.js needs before the CLI bundle runs, as one CommonJS file (dist/bundle/boot.cjs, made by
// scripts/bundle.mjs): the bin is CommonJS so that it runs before node starts its thread pool (an ES module entry
// is read through the pool), and the pool's threads, which read captures ahead, keep their priority when V8's
// helpers are lowered.
export { lowerHelperThreadPriority } from './helper-threads.js';
export { loadBundle } from './bundle-loader.js';
