import { describe, expect, it } from 'vitest';
import { beforeSend, runBeforeNextSend } from './send-barrier.js';

describe('send barrier', () => {
  it('runs what was registered once, in order, before the next send; a throwing one does not stop the rest', () => {
    const ran: string[] = [];
    runBeforeNextSend(() => ran.push('journal a'));
    runBeforeNextSend(() => {
      throw new Error('a bug in one writer');
    });
    runBeforeNextSend(() => ran.push('journal b'));
    beforeSend();
    expect(ran).toEqual(['journal a', 'journal b']);
    beforeSend();
    expect(ran).toHaveLength(2);
  });
});
