// Loader of the native addon: never throws. `loadNftables()` says whether the binary is there and
// loads, and why not when it is not (not built: no libnftables-dev at install time; or a load error).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
export const ADDON_PATH = fileURLToPath(new URL('./build/Release/nftables_napi.node', import.meta.url));

let cached;

export function loadNftables() {
  if (cached !== undefined) return cached;
  if (process.platform !== 'linux') {
    cached = { ok: false, reason: `nftables-napi: needs Linux (platform is ${process.platform})` };
  } else if (!existsSync(ADDON_PATH)) {
    cached = {
      ok: false,
      reason: `nftables-napi: addon not built (${ADDON_PATH} missing: install libnftables-dev and a C compiler, then npm rebuild @sipwall/nftables-napi)`,
    };
  } else {
    try {
      const binding = require(ADDON_PATH);
      cached = { ok: true, Nftables: binding.Nftables };
    } catch (e) {
      cached = {
        ok: false,
        reason: `nftables-napi: addon does not load: ${e instanceof Error ? e.message : String(e)}`,
      };
    }
  }
  return cached;
}
