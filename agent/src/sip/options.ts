/** Limits applied by `parseMessage`. Defaults suit one UDP datagram. */
export interface ParseOptions {
  /** Whole message (header section + body). Default 65 535. */
  readonly maxMessageBytes?: number;
  /** Start line + header fields + blank line. Default 16 384. */
  readonly maxHeaderBytes?: number;
  /** Number of header fields (lines, not values). Default 128. */
  readonly maxHeaders?: number;
}

export interface ParseLimits {
  readonly maxMessageBytes: number;
  readonly maxHeaderBytes: number;
  readonly maxHeaders: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  maxMessageBytes: 65_535,
  maxHeaderBytes: 16_384,
  maxHeaders: 128,
};

export function resolveLimits(opts: ParseOptions | undefined): ParseLimits {
  if (opts === undefined) return DEFAULT_PARSE_LIMITS;
  return {
    maxMessageBytes: opts.maxMessageBytes ?? DEFAULT_PARSE_LIMITS.maxMessageBytes,
    maxHeaderBytes: opts.maxHeaderBytes ?? DEFAULT_PARSE_LIMITS.maxHeaderBytes,
    maxHeaders: opts.maxHeaders ?? DEFAULT_PARSE_LIMITS.maxHeaders,
  };
}
