#!/usr/bin/env node
// `npm install` hook: builds the native addon when libnftables' header and a C toolchain are
// there, and otherwise says why in one line and succeeds, so `npm ci` works on any machine (the
// agent then falls back to its relay driver). Node's headers are taken from next to the running
// node when present (no download).
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const here = path.resolve(__dirname, '..');
const skip = (why) => {
  console.log(`@sipwall/nftables-napi: not built (${why}); the agent will use its relay media driver`);
  process.exit(0);
};

if (process.platform !== 'linux') skip(`platform is ${process.platform}`);
if (process.env.SIPWALL_NFTABLES_NAPI_SKIP === '1') skip('SIPWALL_NFTABLES_NAPI_SKIP=1');
const header = ['/usr/include/nftables/libnftables.h', '/usr/local/include/nftables/libnftables.h'].find(
  (p) => existsSync(p),
);
if (header === undefined) skip('libnftables header missing: install libnftables-dev');

const prefix = path.resolve(path.dirname(process.execPath), '..');
// npm names its own node-gyp in the environment of install scripts; run by hand, use npm's copy.
const bundled = path.join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
const nodeGyp = process.env.npm_config_node_gyp || (existsSync(bundled) ? bundled : undefined);
const cmd = nodeGyp ? process.execPath : 'node-gyp';
const args = nodeGyp ? [nodeGyp] : [];
args.push('rebuild');
if (existsSync(path.join(prefix, 'include/node/node_api.h'))) args.push(`--nodedir=${prefix}`);

const r = spawnSync(cmd, args, { cwd: here, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.error !== undefined || r.status !== 0) {
  const detail = (r.error?.message ?? r.stderr ?? '').trim().split('\n').slice(-3).join(' | ');
  skip(`node-gyp rebuild failed: ${detail}`);
}
console.log('@sipwall/nftables-napi: built build/Release/nftables_napi.node');
