/**
 * The start-up fast path (src/cli/simple-args.ts) must behave exactly like the full
 * commander program for the forms it takes, and leave every other form to commander.
 */
import { describe, expect, it } from 'vitest';
import { parseSimpleImageCommand } from '../src/cli/simple-args.js';
import { runCli } from './helpers/cli.js';
import { FX, fixturePath, rawFixture } from './helpers/fixtures.js';

describe('simple argument forms', () => {
  it('recognises flint style and subcommand style image commands', () => {
    expect(parseSimpleImageCommand(['-i', 'f.bin', 'q'])).toEqual({ command: 'query', full: false, image: 'f.bin', json: false });
    expect(parseSimpleImageCommand(['query', '-i', 'f.bin', 'full', '--json'])).toEqual({ command: 'query', full: true, image: 'f.bin', json: true });
    expect(parseSimpleImageCommand(['--image=f.mfa', '--psid', 'P', 'v'])).toEqual({ command: 'verify', full: false, image: 'f.mfa', psid: 'P', json: false });
  });
  it('leaves everything else to the full program', () => {
    for (const argv of [
      ['--help'],
      ['-i', 'f.bin'],
      ['q'],
      ['-i', 'f.bin', 'v', 'full'],
      ['-i', 'f.bin', 'q', 'q'],
      ['-i', '-d', 'q'],
      ['-d', 'sim:cx4lx@14.14.1100', 'q'],
      ['-i', 'f.bin', 'q', '--bogus'],
      ['mfa', 'list', 'x.mfa'],
    ]) {
      expect(parseSimpleImageCommand(argv), argv.join(' ')).toBeUndefined();
    }
  });
});

describe('fast path and commander path print the same', () => {
  const image = () => rawFixture(FX.fs3Ibm);
  const cases = () => [
    ['-i', image(), 'q'],
    ['-i', image(), 'q', 'full'],
    ['query', '-i', image(), 'full', '--json'],
    ['-i', image(), 'v'],
    ['-i', image(), 'v', '--json'],
    ['-i', '/nonexistent/file.bin', 'q'],
    ['-i', fixturePath(FX.mfaSpc), 'q'],
  ];
  it('for every simple form, success and failure', () => {
    for (const args of cases()) {
      const fast = runCli(args);
      const slow = runCli(args, { env: { FS3BURN_NO_FAST_PATH: '1' } });
      expect(fast, args.join(' ')).toEqual(slow);
    }
  });
});
