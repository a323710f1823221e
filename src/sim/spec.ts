/**
 * Device spec strings: `[sim:]cx4lx@VERSION[?state=FILE][&fault=F]...[&seed=N][&KNOB=VALUE]...`
 * (docs/device-model.md). Parsing only; device.ts builds the card.
 */
import { Fs3BurnError } from '../errors.js';
import { parseFault, type FaultSpec } from './faults.js';
import { DEFAULT_KNOBS, parseIntStrict, parseKnobValue, type Knobs } from './knobs.js';
import { parseVersion, type FwVersion } from './personality.js';

export interface ParsedSpec {
  /** As written, without `sim:`. */
  text: string;
  device: string;
  version: FwVersion;
  statePath?: string;
  faults: FaultSpec[];
  seed?: number;
  knobs: Partial<Knobs>;
}

export const SPEC_FORM = 'cx4lx@MAJOR.MINOR.SUB[?state=FILE][&fault=EFFECT,...][&seed=N][&KNOB=VALUE]';

function bad(spec: string, why: string): Fs3BurnError {
  return new Fs3BurnError('SIM_BAD_SPEC', `invalid simulated device ${JSON.stringify(spec)}: ${why}`, {
    hint: `the form is sim:${SPEC_FORM}, e.g. sim:cx4lx@14.14.1100?state=/tmp/card.sim`,
    data: { spec },
  });
}

export function parseSimSpec(input: string): ParsedSpec {
  const text = input.startsWith('sim:') ? input.slice(4) : input;
  const q = text.indexOf('?');
  const head = q < 0 ? text : text.slice(0, q);
  const query = q < 0 ? '' : text.slice(q + 1);
  const m = /^([a-z0-9]+)@(.+)$/i.exec(head);
  if (!m) throw bad(input, 'expected DEVICE@VERSION');
  const device = m[1]!.toLowerCase();
  if (device !== 'cx4lx') throw bad(input, `unknown device ${JSON.stringify(m[1])}; the simulator models cx4lx (ConnectX-4 Lx)`);
  const version = parseVersion(m[2]!);
  if (!version) throw bad(input, `bad firmware version ${JSON.stringify(m[2])}`);
  const out: ParsedSpec = { text, device, version, faults: [], knobs: {} };
  if (query === '') return out;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(input, `parameter ${JSON.stringify(part)} has no value`);
    const key = part.slice(0, eq);
    let value: string;
    try {
      value = decodeURIComponent(part.slice(eq + 1));
    } catch {
      throw bad(input, `parameter ${JSON.stringify(key)} has a malformed %-escape`);
    }
    if (key === 'state') {
      if (value === '') throw bad(input, 'state= needs a file name');
      out.statePath = value;
    } else if (key === 'fault') {
      try {
        out.faults.push(parseFault(value));
      } catch (e) {
        throw bad(input, (e as Error).message);
      }
    } else if (key === 'seed') {
      try {
        out.seed = parseIntStrict(value, 'seed');
      } catch (e) {
        throw bad(input, (e as Error).message);
      }
    } else if (key in DEFAULT_KNOBS) {
      try {
        (out.knobs as Record<string, unknown>)[key] = parseKnobValue(key, value);
      } catch (e) {
        throw bad(input, (e as Error).message);
      }
    } else {
      throw bad(input, `unknown parameter ${JSON.stringify(key)}; known: state, fault, seed, ${Object.keys(DEFAULT_KNOBS).join(', ')}`);
    }
  }
  return out;
}
