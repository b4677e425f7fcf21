/** Re-reads `read()` every 200 ms until `ok` holds or `ms` passed; returns the last value read. */
export async function poll<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await read();
  while (!ok(v) && Date.now() < deadline) {
    await sleep(200);
    v = await read();
  }
  return v;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
