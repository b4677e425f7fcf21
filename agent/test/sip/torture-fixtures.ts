import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** How the agent must answer one message (see fixtures/torture/extract.py). */
export type Answer =
  | { readonly class: 'final'; readonly not: readonly number[] }
  | { readonly class: 'status'; readonly status: readonly number[]; readonly reason?: string }
  | { readonly class: 'none' }
  | { readonly class: 'not-rejected' };

export interface TortureExpected {
  readonly rfc: 4475 | 5118;
  readonly section: string;
  readonly title: string;
  readonly verdict: 'valid' | 'invalid' | 'semantics';
  readonly parse:
    | { readonly ok: true }
    | { readonly ok: false; readonly codes: readonly string[]; readonly canRespond: boolean };
  readonly udp: Answer;
  readonly tcp: Answer;
  readonly treatment: string;
  readonly proxy?: string;
}

export interface TortureMessage {
  /** `rfc4475/wsinv`. */
  readonly id: string;
  readonly name: string;
  readonly bytes: Buffer;
  readonly expected: TortureExpected;
}

export const TORTURE_DIR = join(import.meta.dirname, '../fixtures/torture');

/** Every RFC 4475 and RFC 5118 message with its expected treatment, in file order. */
export function loadTorture(): TortureMessage[] {
  return ['rfc4475', 'rfc5118'].flatMap((folder) =>
    readdirSync(join(TORTURE_DIR, folder))
      .filter((f) => f.endsWith('.sip'))
      .sort()
      .map((f) => {
        const name = f.slice(0, -4);
        return {
          id: `${folder}/${name}`,
          name,
          bytes: readFileSync(join(TORTURE_DIR, folder, f)),
          expected: JSON.parse(
            readFileSync(join(TORTURE_DIR, folder, `${name}.expected.json`), 'utf8'),
          ) as TortureExpected,
        };
      }),
  );
}
