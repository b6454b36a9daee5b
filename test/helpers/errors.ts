// Which IpcDecodeError a hostile input produced, as a string a test can compare.
import { IpcDecodeError } from '../../src/errors.js';

/** The code of the IpcDecodeError that fn throws, or a description of what happened instead. */
export function errorCode(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return err instanceof IpcDecodeError ? err.code : `not an IpcDecodeError: ${String(err)}`;
  }
}
