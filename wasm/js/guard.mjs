// The one guard for user callbacks. A callback that throws must not unwind through
// WebAssembly frames (the C++ objects on them would never be freed: issue 9 measured
// 56 MiB -> 1.5 GiB over 40 throwing kMeansQuantize calls), so the guard catches the
// error, ignores the reports after it, lets the core return, frees what the call made
// and rethrows the user's own error object.
import { fail } from './errors.mjs';

/**
 * Runs work(report) with `callback` (a user function or undefined) guarded as `report`
 * (undefined when there is no callback). If the callback threw, release(result) frees what
 * the call returned, and the callback's error is thrown.
 */
export function withCallback(callback, work, release, what = 'onProgress') {
  if (callback !== undefined && callback !== null && typeof callback !== 'function') {
    fail(`${what} must be a function`);
  }
  if (!callback) return work(undefined);
  let thrown = false;
  let error;
  const report = (progress) => {
    if (thrown) return;
    try {
      callback(progress);
    } catch (e) {
      thrown = true;
      error = e;
    }
  };
  let result;
  try {
    result = work(report);
  } catch (e) {
    if (thrown) throw error;
    throw e;
  }
  if (thrown) {
    release?.(result);
    throw error;
  }
  return result;
}
