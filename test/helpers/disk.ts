// A disk for tests of journal faults: node:fs, except that one call fails (ENOSPC on write, EIO on
// fdatasync) while `failing` is set, counting the failures. Injected as the tickerplant's JournalIo.
import fs from 'node:fs';
import type { JournalIo } from '../../src/journal/index.js';

export type Fault = 'write ENOSPC' | 'fdatasync EIO';

/** node:fs, except that one call fails, as on a full or failing disk, while `failing`. */
export function disk(fault: Fault): { io: JournalIo; failing: boolean; failures: number } {
  const fail = (call: string, code: string): never => {
    d.failures++;
    throw Object.assign(new Error(`${code}: ${code === 'ENOSPC' ? 'no space left on device' : 'i/o error'}, ${call}`), { code });
  };
  const d = {
    failing: false,
    failures: 0,
    io: {
      writeSync: (fd: number, buf: Buffer, off: number, len: number): number => {
        if (d.failing && fault === 'write ENOSPC') fail('write', 'ENOSPC');
        return fs.writeSync(fd, buf, off, len);
      },
      fdatasyncSync: (fd: number): void => {
        if (d.failing && fault === 'fdatasync EIO') fail('fdatasync', 'EIO');
        fs.fdatasyncSync(fd);
      },
      ftruncateSync: (fd: number, len: number): void => fs.ftruncateSync(fd, len),
    },
  };
  return d;
}
