// Which q names a client may mention: name syntax, the builtins we implement, and the names we refuse
// outright ('access) because q would run them with side effects we never allow (system, value, hopen, .z.*).
import type { Env } from './env.js';

/** Root names (`upd`, `tables`) and dotted names (`.u`, `.u.sub`), as q spells them. */
const ROOT_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const DOTTED_NAME = /^(?:\.[A-Za-z][A-Za-z0-9_]*)+$/;

export const isQName = (name: string): boolean => ROOT_NAME.test(name) || DOTTED_NAME.test(name);

/** A name Env may define: a root name or a member of a namespace (`.u.sub`, not `.u` alone). */
export const isDefinableName = (name: string): boolean =>
  ROOT_NAME.test(name) || (DOTTED_NAME.test(name) && name.indexOf('.', 1) > 0);

/** q keywords this evaluator implements itself. */
export const BUILTIN_NAMES: ReadonlySet<string> =
  new Set(['count', 'key', 'in', 'first', 'enlist', 'type', 'not', 'null']);

/** The caller's handle and user, read from the CallContext. */
export const CONTEXT_NAMES: ReadonlySet<string> = new Set(['.z.w', '.z.u']);

// Every other q keyword (.Q.res and the .q namespace) plus the qSQL and control words.
const Q_KEYWORDS: ReadonlySet<string> = new Set((
  'abs acos aj aj0 ajf ajf0 all and any asc asin asof atan attr avg avgs bin binr by ceiling cols cor cos ' +
  'cov cross csv cut delete deltas desc dev differ distinct div do dsave each ej ema eval except exec exit ' +
  'exp fby fills fkeys flip floor from get getenv group gtime hclose hcount hdel hopen hsym iasc idesc if ' +
  'ij ijf insert inter inv keys last like lj ljf load log lower lsq ltime ltrim mavg max maxs mcount md5 ' +
  'mdev med meta min mins mmax mmin mmu mod msum neg next or over parse peach pj prd prds prev prior ' +
  'rand rank ratios raze read0 read1 reciprocal reval reverse rload rotate rsave rtrim save scan scov sdev ' +
  'select set setenv show signum sin sqrt ss ssr string sublist sum sums sv svar system tables tan til ' +
  'trim uj ujf ungroup union update upper upsert value var view views vs wavg where while within wj wj1 ' +
  'wsum xasc xbar xcol xcols xdesc xexp xgroup xkey xlog xprev xrank'
).split(' '));

// q's own namespaces: .z (callbacks, clocks), .q, .Q, .h, .j, .o, .m.
const SYSTEM_NAMESPACE = /^\.[zqQhjom](?:\.|$)/;

/** True when mentioning `name` must fail with 'access: a q keyword or system name that Env does not define. */
export function isForbiddenName(name: string, env: Env): boolean {
  if (env.lookup(name) !== undefined || BUILTIN_NAMES.has(name) || CONTEXT_NAMES.has(name)) return false;
  return Q_KEYWORDS.has(name) || SYSTEM_NAMESPACE.test(name);
}
