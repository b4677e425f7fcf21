import { isAbsolute, resolve } from 'node:path';
import {
  type AgentConfig,
  AgentConfigSchema,
  type FieldIssue,
  err,
  formatFieldIssues,
  ok,
  type Result,
  toFieldIssues,
} from '@sipwall/shared';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from './config-error.js';

/**
 * Parses and validates config file text (pure). `configDir` anchors a relative `stateDir`.
 * YAML syntax errors carry `line:column`; schema errors name each field as `path: reason`.
 */
export function parseConfigText(
  text: string,
  source: string,
  configDir: string,
): Result<AgentConfig, ConfigError> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    const issues: FieldIssue[] = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return {
        path: `line ${pos.line}, column ${pos.col}`,
        message: e.message.split('\n')[0] ?? e.code,
      };
    });
    return err(
      new ConfigError(
        'AGENT_ERR_CONFIG_YAML',
        `${source}: YAML syntax error\n${formatFieldIssues(issues)}`,
        issues,
      ),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  const parsed = AgentConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = toFieldIssues(parsed.error);
    return err(
      new ConfigError(
        'AGENT_ERR_CONFIG_INVALID',
        `${source}: invalid config\n${formatFieldIssues(issues)}`,
        issues,
      ),
    );
  }
  const config = parsed.data;
  const stateDir = isAbsolute(config.stateDir) ? config.stateDir : resolve(configDir, config.stateDir);
  return ok({ ...config, stateDir });
}
