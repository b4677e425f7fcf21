import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

/** Per-workspace vitest project: workspace packages resolve to their TypeScript sources, no build needed. */
export function sipwallProject(name: string, test: UserWorkspaceConfig['test'] = {}) {
  // Vite's default server conditions, with our source condition first.
  const conditions = ['@sipwall/source', 'module', 'node', 'development|production'];
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions } },
    test: { name, include: ['src/**/*.test.ts', 'test/**/*.test.ts'], ...test },
  });
}
