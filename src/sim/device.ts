/**
 * The simulated card as a PciConfigTransport, and how one is made from a spec string or
 * options (fresh from the catalog image of its version, from given flash contents, or
 * loaded from a state file).
 */
import { existsSync } from 'node:fs';
import { Fs3BurnError } from '../errors.js';
import type { PciConfigTransport } from '../transport/types.js';
import type { FaultSpec } from './faults.js';
import { cardIdentity } from './identity.js';
import type { Knobs } from './knobs.js';
import { SimModel } from './model.js';
import { PERSONALITIES, findPersonality, parseVersion, personalityForVersion, versionString, type Personality } from './personality.js';
import { parseSimSpec } from './spec.js';
import { readStateFile, writeStateFile } from './state.js';
import type { TimeModel } from './time.js';

export interface SimOptions {
  /** `cx4lx@14.14.1100` / `14.14.1100`, or a Personality object (custom personalities are data too). */
  personality: string | Personality;
  /** Initial flash contents; else the catalog image of the personality with this card's GUID/MAC. */
  flash?: Uint8Array;
  /** GUID / MAC overrides for the catalog image (else derived from the seed). */
  guid?: bigint;
  mac?: bigint;
  /** Persist flash + card state here: loaded if it exists, saved on close() and reset(). */
  statePath?: string;
  faults?: readonly (FaultSpec | string)[];
  /** Seeds faults, the card's GUID/MAC and FSM handles (default 1). */
  seed?: number;
  knobs?: Partial<Knobs>;
  timeModel?: Partial<TimeModel>;
  /** More personalities for version matching at boot (matched before the built-in ones). */
  personalities?: readonly Personality[];
  /** Transport name (default `sim:` + personality name). */
  name?: string;
}

/** What creating a card from the catalog needs (src/image/catalog.ts provides it). */
export type CatalogImageFn = (name: string, overrides?: { guid?: bigint; mac?: bigint }) => Uint8Array;

export class SimDevice implements PciConfigTransport {
  readonly name: string;
  readonly model: SimModel;
  private readonly statePath: string | undefined;
  private closed = false;

  constructor(model: SimModel, name: string, statePath?: string) {
    this.model = model;
    this.name = name;
    this.statePath = statePath;
    if (statePath) model.onPersist = () => this.save();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  private ensureOpen(op: string): void {
    if (this.closed) {
      throw new Fs3BurnError('SIM_CLOSED', `${op} on ${this.name} after close()`, {
        hint: 'open the device again (createSimDevice) to keep using the card',
      });
    }
  }

  read32(offset: number): number {
    this.ensureOpen('read32');
    return this.model.configRead(offset);
  }

  write32(offset: number, value: number): void {
    this.ensureOpen('write32');
    this.model.configWrite(offset, value);
  }

  /** Save the card to its state file now (no-op without one). */
  save(): void {
    if (!this.statePath) return;
    writeStateFile(this.statePath, this.model);
    this.model.dirty = false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.statePath && this.model.dirty) this.save();
    if (this.model.onPersist) this.model.onPersist = undefined;
  }
}

function resolvePersonality(p: string | Personality, extra: readonly Personality[], haveFlash: boolean): Personality {
  if (typeof p !== 'string') return p;
  const table = [...extra, ...PERSONALITIES];
  const found = findPersonality(p, table);
  const v = parseVersion(p);
  // with flash contents given, any version names a card: it gets the nearest older personality
  if (!found && v && haveFlash) return personalityForVersion(v, table);
  if (!found) {
    throw new Fs3BurnError('SIM_UNKNOWN_PERSONALITY', `no simulated card personality ${JSON.stringify(p)}`, {
      hint: `known: ${PERSONALITIES.map((x) => x.name).join(', ')} (or pass flash contents / a Personality object)`,
      data: { personality: p },
    });
  }
  return found;
}

/** Build a card from a spec string or options; `catalog` supplies fresh-card images. */
export function createSimDeviceWith(spec: string | SimOptions, catalog: CatalogImageFn | undefined): SimDevice {
  let opts: SimOptions;
  if (typeof spec === 'string') {
    const p = parseSimSpec(spec);
    opts = {
      personality: `${p.device}@${p.version.join('.')}`,
      faults: p.faults,
      knobs: p.knobs,
      name: `sim:${p.text}`,
      ...(p.statePath !== undefined ? { statePath: p.statePath } : {}),
      ...(p.seed !== undefined ? { seed: p.seed } : {}),
    };
  } else {
    opts = spec;
  }
  const extra = opts.personalities ?? [];
  const personality = resolvePersonality(opts.personality, extra, opts.flash !== undefined || (opts.statePath !== undefined && existsSync(opts.statePath)));
  const seed = (opts.seed ?? 1) >>> 0;
  const name = opts.name ?? `sim:${personality.name}`;
  const base = {
    personality,
    personalities: extra,
    seed,
    ...(opts.faults ? { faults: opts.faults } : {}),
    ...(opts.timeModel ? { timeModel: opts.timeModel } : {}),
  };
  const saved = opts.statePath ? readStateFile(opts.statePath) : undefined;
  if (saved) {
    const model = new SimModel({
      ...base,
      flash: saved.flash,
      knobs: { ...(opts.knobs ?? {}), jedecId: saved.header.jedecId },
    });
    model.flash.statusRegister = saved.header.statusRegister;
    model.importState(saved.state);
    return new SimDevice(model, name, opts.statePath);
  }
  let flash = opts.flash;
  if (!flash) {
    if (!catalog) {
      throw new Fs3BurnError('SIM_CATALOG_UNAVAILABLE', `no catalog image for ${personality.name}: pass flash contents`, {
        data: { personality: personality.name },
      });
    }
    const id = cardIdentity(seed);
    try {
      flash = catalog(personality.catalogName, { guid: opts.guid ?? id.guid, mac: opts.mac ?? id.mac });
    } catch (e) {
      throw new Fs3BurnError(
        'SIM_CATALOG_UNAVAILABLE',
        `cannot build the catalog image ${personality.catalogName} (FW ${versionString(personality.version)}): ${(e as Error).message}`,
        { cause: e, data: { personality: personality.name } },
      );
    }
  }
  const model = new SimModel({ ...base, flash, ...(opts.knobs ? { knobs: opts.knobs } : {}) });
  const dev = new SimDevice(model, name, opts.statePath);
  if (opts.statePath) dev.save(); // the card exists from now on
  return dev;
}
