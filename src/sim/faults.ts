/**
 * Seeded fault plans (flashrom's fault-injection programmer is the model): each fault names
 * an operation to watch, which occurrences to hit (the n-th, a run of them, or a
 * probability), and an effect. The same seed and the same client reproduce the same run.
 *
 * String form (docs/device-model.md), one fault per `fault=` in a spec:
 *   EFFECT[:ARG][,op=OP][,reg=NAME|ID][,opcode=N][,method=get|set][,addr=LO-HI|ADDR]
 *         [,nth=N][,times=N|inf][,p=P][,half][,id=NAME]
 * e.g. `busy-stuck,reg=MFBA,method=set,nth=3`, `power-cut,op=flash-program,nth=40,half`,
 * `bit-flip,op=config-read,addr=0xd4,p=0.01,times=inf`, `sem-held:4242,op=sem-icmd,times=3`.
 */
import { Fs3BurnError } from '../errors.js';
import { Prng, mix32 } from './bits.js';
import { REG_NAMES, Reg } from './constants.js';
import { parseIntStrict } from './knobs.js';

export type FaultOp =
  | 'config-read'
  | 'config-write'
  | 'icmd'
  | 'flash-erase'
  | 'flash-program'
  | 'flash-write'
  | 'flash-read'
  | 'gateway'
  | 'sem-vsec'
  | 'sem'
  | 'sem-icmd'
  | 'sem-flash'
  | 'gateway-lock';

export const FAULT_OPS: readonly FaultOp[] = [
  'config-read',
  'config-write',
  'icmd',
  'flash-erase',
  'flash-program',
  'flash-write',
  'flash-read',
  'gateway',
  'sem-vsec',
  'sem',
  'sem-icmd',
  'sem-flash',
  'gateway-lock',
];

export type FaultEffect =
  /** The ICMD (or gateway) busy bit never clears: the command is not done; only reset clears it. */
  | { kind: 'busy-stuck' }
  /** The ICMD interface is already busy when the client checks it (`reads` ctrl reads show busy). */
  | { kind: 'ifc-busy'; reads?: number }
  /** The command completes with this ICMD status (5 = FW busy) and is not done. */
  | { kind: 'icmd-status'; status: number }
  /** The register access completes with this register status (7 = BAD_PARAM, 1 = DEV_BUSY) and is not done. */
  | { kind: 'reg-status'; status: number }
  /** An MCC instruction fails with this FSM error code (§8). */
  | { kind: 'fsm-error'; code: number }
  /** A write is acknowledged but not done. */
  | { kind: 'write-ignored' }
  /** One bit of the data read is flipped (`bit` = which, else a seeded choice); on op icmd, a bit of the register data of the reply. */
  | { kind: 'bit-flip'; bit?: number }
  /** The semaphore / lock is held by another owner (`owner` is what a read returns). */
  | { kind: 'sem-held'; owner: number }
  /** Power is lost after this operation (`half`: a flash operation only partly done). */
  | { kind: 'power-cut'; half?: boolean };

export type FaultKind = FaultEffect['kind'];

export interface FaultSpec {
  id?: string;
  effect: FaultEffect;
  op?: FaultOp;
  /** ICMD opcode (e.g. 0x9001). */
  opcode?: number;
  /** Access register ID (e.g. 0x9011 MFBA) for op icmd. */
  register?: number;
  method?: 'get' | 'set';
  /** [lo, hi) on the operation's address: config offset, flash address, semaphore offset, gateway flash address. */
  range?: readonly [number, number];
  /** First matching occurrence that fires (1-based, default 1). */
  nth?: number;
  /** How many occurrences fire from `nth` on (default 1; with `probability`, unlimited). */
  times?: number;
  /** Each matching occurrence from `nth` on fires with this probability (seeded). */
  probability?: number;
}

/** One fault, normalised. */
export interface Fault {
  readonly id: string;
  readonly effect: FaultEffect;
  readonly op: FaultOp;
  readonly opcode?: number;
  readonly register?: number;
  readonly method?: 'get' | 'set';
  readonly range?: readonly [number, number];
  readonly nth: number;
  readonly times: number;
  readonly probability?: number;
}

/** What happened at one operation, as the model describes it for matching. */
export interface FaultContext {
  op: 'config-read' | 'config-write' | 'icmd' | 'flash-erase' | 'flash-program' | 'flash-read' | 'gateway' | 'sem-vsec' | 'sem' | 'gateway-lock';
  addr?: number;
  opcode?: number;
  register?: number;
  method?: 'get' | 'set';
}

export interface FiredFault {
  id: string;
  kind: FaultKind;
  op: FaultContext['op'];
  occurrence: number;
  addr?: number;
  register?: number;
  detail?: string;
}

const DEFAULT_OP: Record<FaultKind, FaultOp> = {
  'busy-stuck': 'icmd',
  'ifc-busy': 'icmd',
  'icmd-status': 'icmd',
  'reg-status': 'icmd',
  'fsm-error': 'icmd',
  'write-ignored': 'flash-write',
  'bit-flip': 'flash-read',
  'sem-held': 'sem-icmd',
  'power-cut': 'flash-write',
};

const ALLOWED_OPS: Record<FaultKind, readonly FaultOp[]> = {
  'busy-stuck': ['icmd', 'gateway'],
  'ifc-busy': ['icmd'],
  'icmd-status': ['icmd'],
  'reg-status': ['icmd'],
  'fsm-error': ['icmd'],
  'write-ignored': ['config-write', 'icmd', 'flash-erase', 'flash-program', 'flash-write'],
  'bit-flip': ['config-read', 'flash-read', 'icmd'],
  'sem-held': ['sem-vsec', 'sem', 'sem-icmd', 'sem-flash', 'gateway-lock'],
  'power-cut': FAULT_OPS.filter((o) => !o.startsWith('sem') && o !== 'gateway-lock'),
};

function bad(msg: string, data?: Record<string, unknown>): Fs3BurnError {
  return new Fs3BurnError('SIM_BAD_FAULT', msg, {
    hint: 'fault syntax: EFFECT[:ARG][,op=OP][,reg=NAME][,method=get|set][,addr=LO-HI][,nth=N][,times=N|inf][,p=P][,half] (docs/device-model.md)',
    ...(data ? { data } : {}),
  });
}

/** Validate and normalise one fault. */
export function normalizeFault(spec: FaultSpec, index: number): Fault {
  const kind = spec.effect?.kind;
  if (!kind || !(kind in DEFAULT_OP)) throw bad(`unknown fault effect ${JSON.stringify(kind)}`);
  const op = spec.op ?? DEFAULT_OP[kind];
  if (!FAULT_OPS.includes(op)) throw bad(`unknown fault operation ${JSON.stringify(op)}; known: ${FAULT_OPS.join(', ')}`);
  if (!ALLOWED_OPS[kind].includes(op)) {
    throw bad(`fault effect ${kind} cannot apply to op=${op}; it applies to ${ALLOWED_OPS[kind].join(', ')}`);
  }
  const e = spec.effect;
  if ((e.kind === 'icmd-status' || e.kind === 'reg-status') && !(Number.isInteger(e.status) && e.status > 0 && e.status < 0x80)) {
    throw bad(`${e.kind} needs a status 1..127`);
  }
  if (e.kind === 'fsm-error' && !(Number.isInteger(e.code) && e.code > 0 && e.code < 256)) throw bad('fsm-error needs a code 1..255');
  if (e.kind === 'sem-held' && !(Number.isInteger(e.owner) && e.owner > 0 && e.owner <= 0xffffffff)) throw bad('sem-held needs an owner id > 0');
  if (e.kind === 'bit-flip' && e.bit !== undefined && !(Number.isInteger(e.bit) && e.bit >= 0 && e.bit < 32)) throw bad('bit-flip bit must be 0..31');
  const nth = spec.nth ?? 1;
  if (!Number.isInteger(nth) || nth < 1) throw bad('nth must be an integer ≥ 1');
  const times = spec.times ?? (spec.probability !== undefined ? Infinity : 1);
  if (!(times === Infinity || (Number.isInteger(times) && times >= 1))) throw bad('times must be an integer ≥ 1 or inf');
  if (spec.probability !== undefined && !(spec.probability > 0 && spec.probability <= 1)) throw bad('p must be in (0, 1]');
  if (spec.range && !(spec.range.length === 2 && spec.range[0] >= 0 && spec.range[1] > spec.range[0])) throw bad('addr range must be LO-HI with HI > LO');
  if (kind === 'fsm-error' && spec.register !== undefined && spec.register !== Reg.MCC) throw bad('fsm-error applies to the MCC register only');
  const f: Fault = {
    id: spec.id ?? `f${index + 1}`,
    effect: e,
    op,
    nth,
    times,
    ...(spec.opcode !== undefined ? { opcode: spec.opcode } : {}),
    ...(spec.register !== undefined ? { register: spec.register } : kind === 'fsm-error' ? { register: Reg.MCC } : {}),
    ...(spec.method !== undefined ? { method: spec.method } : {}),
    ...(spec.range !== undefined ? { range: [spec.range[0], spec.range[1]] as const } : {}),
    ...(spec.probability !== undefined ? { probability: spec.probability } : {}),
  };
  return f;
}

function parseRegister(text: string): number {
  const byName = (Reg as Record<string, number>)[text.toUpperCase()];
  if (byName !== undefined) return byName;
  try {
    return parseIntStrict(text, 'reg');
  } catch {
    throw bad(`unknown register ${JSON.stringify(text)}; known: ${Object.keys(Reg).join(', ')}`);
  }
}

function num(text: string, what: string): number {
  try {
    return parseIntStrict(text, what);
  } catch (e) {
    throw bad((e as Error).message);
  }
}

/** Parse the string form of one fault. */
export function parseFault(text: string): FaultSpec {
  const parts = text.split(',').map((s) => s.trim());
  const head = parts.shift() ?? '';
  const [kindText, arg] = head.split(':', 2) as [string, string | undefined];
  const kind = kindText as FaultKind;
  let effect: FaultEffect;
  switch (kind) {
    case 'busy-stuck':
    case 'write-ignored':
      if (arg !== undefined) throw bad(`${kind} takes no argument`);
      effect = { kind };
      break;
    case 'ifc-busy':
      effect = arg === undefined ? { kind } : { kind, reads: num(arg, 'ifc-busy reads') };
      break;
    case 'icmd-status':
    case 'reg-status':
      if (arg === undefined) throw bad(`${kind} needs a status, e.g. ${kind}:${kind === 'icmd-status' ? 5 : 7}`);
      effect = { kind, status: num(arg, kind) };
      break;
    case 'fsm-error':
      if (arg === undefined) throw bad('fsm-error needs a code, e.g. fsm-error:8');
      effect = { kind, code: num(arg, kind) };
      break;
    case 'bit-flip':
      effect = arg === undefined ? { kind } : { kind, bit: num(arg, 'bit-flip bit') };
      break;
    case 'sem-held':
      if (arg === undefined) throw bad('sem-held needs an owner id, e.g. sem-held:4242');
      effect = { kind, owner: num(arg, 'sem-held owner') };
      break;
    case 'power-cut':
      effect = { kind, ...(arg === 'half' ? { half: true } : {}) };
      if (arg !== undefined && arg !== 'half') throw bad('power-cut takes only :half');
      break;
    default:
      throw bad(`unknown fault effect ${JSON.stringify(kindText)}; known: ${Object.keys(DEFAULT_OP).join(', ')}`);
  }
  const spec: FaultSpec = { effect };
  for (const p of parts) {
    if (p === '') continue;
    const eq = p.indexOf('=');
    const key = eq < 0 ? p : p.slice(0, eq);
    const val = eq < 0 ? '' : p.slice(eq + 1);
    switch (key) {
      case 'op':
        if (!FAULT_OPS.includes(val as FaultOp)) throw bad(`unknown op ${JSON.stringify(val)}; known: ${FAULT_OPS.join(', ')}`);
        spec.op = val as FaultOp;
        break;
      case 'reg':
        spec.register = parseRegister(val);
        break;
      case 'opcode':
        spec.opcode = num(val, 'opcode');
        break;
      case 'method':
        if (val !== 'get' && val !== 'set') throw bad('method must be get or set');
        spec.method = val;
        break;
      case 'addr': {
        const m = /^([^-]+)(?:-(.+))?$/.exec(val);
        if (!m) throw bad(`bad addr ${JSON.stringify(val)}`);
        const lo = num(m[1]!, 'addr');
        const hi = m[2] !== undefined ? num(m[2], 'addr') : lo + 1;
        spec.range = [lo, hi];
        break;
      }
      case 'nth':
        spec.nth = num(val, 'nth');
        break;
      case 'times':
        spec.times = val === 'inf' || val === 'always' ? Infinity : num(val, 'times');
        break;
      case 'p': {
        const p = Number(val);
        if (!Number.isFinite(p)) throw bad(`bad probability ${JSON.stringify(val)}`);
        spec.probability = p;
        break;
      }
      case 'half':
        if (spec.effect.kind !== 'power-cut') throw bad('half applies to power-cut only');
        spec.effect = { kind: 'power-cut', half: true };
        break;
      case 'id':
        spec.id = val;
        break;
      default:
        throw bad(`unknown fault key ${JSON.stringify(key)}`);
    }
  }
  if (spec.register !== undefined && spec.op === undefined && DEFAULT_OP[effect.kind] !== 'icmd') spec.op = 'icmd';
  return spec;
}

interface FaultRuntime {
  fault: Fault;
  occurrences: number;
  fired: number;
  rng: Prng;
}

/** A fault that fired, handed to the model to apply. */
export interface Firing {
  fault: Fault;
  effect: FaultEffect;
  rng: Prng;
  occurrence: number;
}

export class FaultPlan {
  private readonly runtimes: FaultRuntime[] = [];
  private readonly seed: number;
  /** Every firing, in order. */
  readonly fired: FiredFault[] = [];
  /** The operation kinds some fault watches: the model skips the others without building a context. */
  private readonly watched = new Set<FaultContext['op']>();

  constructor(seed: number, specs: readonly (FaultSpec | string)[] = []) {
    this.seed = seed >>> 0;
    for (const s of specs) this.add(s);
  }

  add(spec: FaultSpec | string): Fault {
    const f = normalizeFault(typeof spec === 'string' ? parseFault(spec) : spec, this.runtimes.length);
    if (this.runtimes.some((r) => r.fault.id === f.id)) throw bad(`duplicate fault id ${f.id}`);
    this.runtimes.push({ fault: f, occurrences: 0, fired: 0, rng: new Prng(mix32(this.seed ^ mix32(this.runtimes.length + 1))) });
    this.rewatch();
    return f;
  }

  clear(): void {
    this.runtimes.length = 0;
    this.watched.clear();
  }

  list(): readonly Fault[] {
    return this.runtimes.map((r) => r.fault);
  }

  /** Occurrences seen and firings done per fault id. */
  counts(): Record<string, { occurrences: number; fired: number }> {
    return Object.fromEntries(this.runtimes.map((r) => [r.fault.id, { occurrences: r.occurrences, fired: r.fired }]));
  }

  get empty(): boolean {
    return this.runtimes.length === 0;
  }

  private matches(f: Fault, ctx: FaultContext, kinds?: readonly FaultKind[]): boolean {
    if (kinds && !kinds.includes(f.effect.kind)) return false;
    switch (f.op) {
      case 'flash-write':
        if (ctx.op !== 'flash-erase' && ctx.op !== 'flash-program') return false;
        break;
      case 'sem-icmd':
      case 'sem-flash': {
        if (ctx.op !== 'sem') return false;
        const want = f.op === 'sem-icmd' ? 0x0 : 0x10;
        if (ctx.addr !== want) return false;
        break;
      }
      default:
        if (f.op !== ctx.op) return false;
    }
    if (f.opcode !== undefined && ctx.opcode !== f.opcode) return false;
    if (f.register !== undefined && ctx.register !== f.register) return false;
    if (f.method !== undefined && ctx.method !== f.method) return false;
    if (f.range && (ctx.addr === undefined || ctx.addr < f.range[0] || ctx.addr >= f.range[1])) return false;
    return true;
  }

  /**
   * Count one occurrence of `ctx` for every matching fault (restricted to `kinds` when given)
   * and return the first that fires.
   */
  check(ctx: FaultContext, kinds?: readonly FaultKind[]): Firing | undefined {
    let hit: Firing | undefined;
    for (const r of this.runtimes) {
      if (!this.matches(r.fault, ctx, kinds)) continue;
      r.occurrences++;
      const f = r.fault;
      if (r.occurrences < f.nth || r.fired >= f.times) continue;
      if (f.probability === undefined && r.occurrences >= f.nth + f.times) continue;
      if (f.probability !== undefined && !(r.rng.next() < f.probability)) continue;
      if (hit) continue; // one effect per operation; later faults still count the occurrence
      r.fired++;
      hit = { fault: f, effect: f.effect, rng: r.rng, occurrence: r.occurrences };
      const rec: FiredFault = { id: f.id, kind: f.effect.kind, op: ctx.op, occurrence: r.occurrences };
      if (ctx.addr !== undefined) rec.addr = ctx.addr;
      if (ctx.register !== undefined) rec.register = ctx.register;
      this.fired.push(rec);
    }
    return hit;
  }

  /** Whether any fault could match this kind of operation (a cheap pre-check for hot paths). */
  watches(op: FaultContext['op']): boolean {
    return this.watched.has(op);
  }

  /** Recompute `watched` after the list changes. */
  private rewatch(): void {
    this.watched.clear();
    for (const r of this.runtimes) {
      const op = r.fault.op;
      if (op === 'flash-write') {
        this.watched.add('flash-erase');
        this.watched.add('flash-program');
      } else if (op === 'sem-icmd' || op === 'sem-flash') this.watched.add('sem');
      else this.watched.add(op as FaultContext['op']);
    }
  }
}

export function describeFault(f: Fault): string {
  const e = f.effect;
  const arg =
    e.kind === 'icmd-status' || e.kind === 'reg-status'
      ? `:${e.status}`
      : e.kind === 'fsm-error'
        ? `:${e.code}`
        : e.kind === 'sem-held'
          ? `:${e.owner}`
          : e.kind === 'bit-flip' && e.bit !== undefined
            ? `:${e.bit}`
            : e.kind === 'ifc-busy' && e.reads !== undefined
              ? `:${e.reads}`
              : '';
  const parts = [`${e.kind}${arg}`, `op=${f.op}`];
  if (f.register !== undefined) parts.push(`reg=${REG_NAMES[f.register] ?? `0x${f.register.toString(16)}`}`);
  if (f.opcode !== undefined) parts.push(`opcode=0x${f.opcode.toString(16)}`);
  if (f.method) parts.push(`method=${f.method}`);
  if (f.range) parts.push(`addr=0x${f.range[0].toString(16)}-0x${f.range[1].toString(16)}`);
  if (f.nth !== 1) parts.push(`nth=${f.nth}`);
  if (f.times !== 1) parts.push(`times=${f.times === Infinity ? 'inf' : f.times}`);
  if (f.probability !== undefined) parts.push(`p=${f.probability}`);
  if (e.kind === 'power-cut' && e.half) parts.push('half');
  return parts.join(',');
}
