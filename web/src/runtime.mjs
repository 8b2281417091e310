// One quantlab instance per page, shared by every widget.
import { load } from 'quantlab';

let instance = null;

/** The page's quantlab instance (loaded on first use). */
export function quantlab() {
  instance ??= load();
  return instance;
}
