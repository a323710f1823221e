/**
 * Transport behaviour that needs another process or thread:
 * - as an unprivileged user (root drops to `nobody` with setpriv, runuser or su): the sysfs
 *   config file opens read-only, reads past byte 64 are DEVICE_CONFIG_TRUNCATED, writes are
 *   DEVICE_READ_ONLY, and a root-only device node is DEVICE_PERMISSION_DENIED;
 * - in worker threads: koffi loads and issues ioctls in several threads at once (the reason
 *   it was chosen over ffi-napi, docs/transports.md).
 * The children run the transport compiled by tsc from src/transport into a temp dir (Node 20
 * cannot run TypeScript), so these tests do not depend on the rest of the build.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, tempDir } from './helpers/fixtures.js';

const IS_ROOT = process.getuid?.() === 0;
const FUNCTIONS = (() => {
  try {
    return readdirSync('/sys/bus/pci/devices').sort();
  } catch {
    return [];
  }
})();

let OUT = '';
function buildTransport(): string {
  const dir = tempDir('fs3burn-transport-js-');
  execFileSync(
    process.execPath,
    [
      join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'),
      '--outDir', dir,
      '--rootDir', join(PROJECT_ROOT, 'src'),
      '--module', 'NodeNext',
      '--moduleResolution', 'NodeNext',
      '--target', 'ES2022',
      '--strict',
      '--skipLibCheck',
      '--types', 'node',
      join(PROJECT_ROOT, 'src/transport/index.ts'),
    ],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** argv prefix that runs a command as `nobody`, or undefined when no tool can. */
function dropPrivileges(): string[] | undefined {
  if (!IS_ROOT) return [];
  const candidates: string[][] = [
    ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--'],
    ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'],
    ['runuser', '-u', 'nobody', '--'],
  ];
  for (const c of candidates) {
    const r = spawnSync(c[0]!, [...c.slice(1), 'id', '-u'], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() !== '0') return c;
  }
  const su = spawnSync('su', ['nobody', '-s', '/bin/sh', '-c', 'id -u'], { encoding: 'utf8' });
  if (su.status === 0 && su.stdout.trim() !== '0') return ['su-sh'];
  return undefined;
}

function runScript(prefix: string[], script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const file = join(OUT, `child-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, script);
  let cmd: string;
  let argv: string[];
  if (prefix[0] === 'su-sh') {
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    cmd = 'su';
    argv = ['nobody', '-s', '/bin/sh', '-c', [process.execPath, file, ...args].map(q).join(' ')];
  } else if (prefix.length > 0) {
    cmd = prefix[0]!;
    argv = [...prefix.slice(1), process.execPath, file, ...args];
  } else {
    cmd = process.execPath;
    argv = [file, ...args];
  }
  const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: '/', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

beforeAll(() => {
  OUT = buildTransport();
});

const DROP = dropPrivileges();

describe.skipIf(DROP === undefined || FUNCTIONS.length === 0)('as an unprivileged user', () => {
  it('sysfs: opens read-only, reads the header, reports truncation past 64 bytes and refuses writes', () => {
    const fn = FUNCTIONS[0]!;
    const script = `
      const t = await import(${JSON.stringify(pathToFileURL(join(OUT, 'transport/index.js')).href)});
      const out = { uid: process.getuid() };
      const err = (f) => { try { f(); return null; } catch (e) { return { code: e.code, message: e.message, hint: e.hint }; } };
      const dev = t.openSysfsTransport(process.argv[2]);
      out.writable = dev.writable;
      out.readOnlyReason = dev.readOnlyReason;
      out.dword0 = dev.read32(0);
      out.dword60 = dev.read32(60);
      out.read64 = err(() => dev.read32(64));
      out.write = err(() => dev.write32(4, 0));
      dev.close();
      process.stdout.write(JSON.stringify(out));
    `;
    const r = runScript(DROP!, script, [fn]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.uid).not.toBe(0);
    expect(out.writable).toBe(false);
    expect(out.readOnlyReason).toMatch(/EACCES.*needs root/);
    const vendor = parseInt(readFileSync(`/sys/bus/pci/devices/${fn}/vendor`, 'utf8'), 16);
    const device = parseInt(readFileSync(`/sys/bus/pci/devices/${fn}/device`, 'utf8'), 16);
    expect(out.dword0).toBe(((device << 16) | vendor) >>> 0);
    expect(out.read64.code).toBe('DEVICE_CONFIG_TRUNCATED');
    expect(out.read64.message).toMatch(/only the first 64 bytes/);
    expect(out.read64.hint).toMatch(/root/);
    expect(out.write.code).toBe('DEVICE_READ_ONLY');
    expect(out.write.hint).toMatch(/root/);
  });

  it('mst: a device node only root may open is DEVICE_PERMISSION_DENIED', () => {
    const dir = join(OUT, 'perm');
    mkdirSync(dir, { recursive: true });
    const node = join(dir, 'root-only');
    writeFileSync(node, '');
    chmodSync(node, 0o600);
    const script = `
      const t = await import(${JSON.stringify(pathToFileURL(join(OUT, 'transport/index.js')).href)});
      try { await t.openMstDevice(process.argv[2]); process.stdout.write('{}'); }
      catch (e) { process.stdout.write(JSON.stringify({ code: e.code, hint: e.hint, data: e.data })); }
    `;
    const r = runScript(DROP!, script, [node]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    if (!IS_ROOT) return; // already unprivileged: the file is ours, so no EACCES to see
    expect(out.code).toBe('DEVICE_PERMISSION_DENIED');
    expect(out.data.errno).toBe('EACCES');
    expect(out.hint).toMatch(/root/);
  });
});

describe('koffi is loaded lazily', () => {
  it('importing the transports and using sysfs loads no native addon; opening an mst device does', () => {
    const script = `
      const loaded = () => process.report.getReport().sharedObjects.some((s) => /koffi/.test(s));
      const t = await import(${JSON.stringify(pathToFileURL(join(OUT, 'transport/index.js')).href)});
      const out = { afterImport: loaded() };
      t.listPciFunctions();
      t.parseDeviceName('0000:03:00.0');
      out.afterSysfs = loaded();
      try { await t.openMstDevice('/dev/null'); } catch {}
      out.afterMst = loaded();
      process.stdout.write(JSON.stringify(out));
    `;
    const r = runScript([], script, []);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ afterImport: false, afterSysfs: false, afterMst: true });
  });
});

describe('koffi in worker threads', () => {
  it('the main thread and three workers issue ioctls at the same time and get ENOTTY', () => {
    const script = `
      import { Worker, isMainThread, parentPort } from 'node:worker_threads';
      const url = ${JSON.stringify(pathToFileURL(join(OUT, 'transport/index.js')).href)};
      const ffiUrl = ${JSON.stringify(pathToFileURL(join(OUT, 'transport/mst/ffi.js')).href)};
      async function probe() {
        const ffi = await import(ffiUrl);
        const t = await import(url);
        const libc = await ffi.loadLibc();
        const results = [];
        for (let i = 0; i < 200; i++) {
          const fd = libc.open('/dev/null', ffi.O_RDWR);
          results.push(libc.ioctl(fd, t.MSTFLINT_ABI.ioctls.PCICONF_READ4.number, Buffer.alloc(12)));
          libc.close(fd);
        }
        let code = null;
        try { await t.openMstDevice('/dev/null'); } catch (e) { code = e.code; }
        return { distinct: [...new Set(results)], code };
      }
      if (isMainThread) {
        const workers = [0, 1, 2].map(() => new Promise((res, rej) => {
          const w = new Worker(new URL(import.meta.url));
          w.once('message', res); w.once('error', rej);
        }));
        const all = await Promise.all([probe(), ...workers]);
        process.stdout.write(JSON.stringify(all));
      } else {
        parentPort.postMessage(await probe());
      }
    `;
    const r = runScript([], script, []);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(Array(4).fill({ distinct: [-25], code: 'DEVICE_NOT_MST' }));
  });
});
