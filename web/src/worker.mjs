// The playground's Web Worker: heavy quantlab work (loading models, running batches,
// quantizing, compressing, training) runs here so the page never freezes. Generic RPC:
// {id, method, args, entry} -> {id, result} | {id, error: {code, message}}, plus any number
// of {id, progress: {fraction, message, data}} before the answer. Methods live in
// web/src/tasks.mjs; the page talks to this file through client.mjs.
import { setAssetBase } from './assets.mjs';
import { importQuantlab } from './resolve.mjs';

let tasksPromise = null;

function tasks(entry, setup) {
  // Import maps do not reach workers: the page passes the resolved URL of 'quantlab' (in a
  // bundle, resolve.mjs imports the bundled one), where the models and data are and
  // env.wasmPaths (assets.mjs).
  tasksPromise ??= (async () => {
    const quantlab = await importQuantlab(entry);
    if (setup?.base) setAssetBase(setup.base);
    if (setup?.wasmPaths !== undefined) quantlab.env.wasmPaths = setup.wasmPaths;
    const ql = await quantlab.load();
    const { createTasks } = await import('./tasks.mjs');
    const { createLessonTasks } = await import('./tasks-lessons.mjs');
    return { ...createTasks(ql, quantlab), ...createLessonTasks(ql, quantlab) };
  })();
  // A failed start (network, missing build) is not cached: the next call tries again.
  tasksPromise.catch(() => {
    tasksPromise = null;
  });
  return tasksPromise;
}

self.onmessage = async (event) => {
  const { id, method, args, entry, setup } = event.data;
  const progress = (fraction, message = '', data = undefined) => {
    self.postMessage({ id, progress: { fraction, message, data } });
  };
  try {
    if (typeof entry !== 'string') throw Object.assign(new Error('no quantlab entry URL'), { code: 'INVALID_ARGUMENT' });
    const registry = await tasks(entry, setup);
    const fn = Object.hasOwn(registry, method) ? registry[method] : undefined;
    if (typeof fn !== 'function') {
      throw Object.assign(new Error(`unknown worker method '${method}'`), { code: 'INVALID_ARGUMENT' });
    }
    const { result, transfer = [] } = await fn(args ?? {}, progress);
    self.postMessage({ id, result }, transfer);
  } catch (e) {
    self.postMessage({ id, error: { code: e?.code ?? 'INTERNAL', message: String(e?.message ?? e) } });
  }
};
