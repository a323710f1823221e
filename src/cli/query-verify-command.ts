/** `fs3burn -i IMAGE query|q [full]` and `fs3burn -i IMAGE verify|v` (flint's argument style). */
import type { Command } from 'commander';
import { ErrorCodes, Fs3BurnError, type ErrorCode } from '../errors.js';
import { parseFs3 } from '../image/fs3.js';
import { describeImage } from '../image/query.js';
import { verifyFs3 } from '../image/verify.js';
import { openImageSource } from '../io/open-image.js';
import type { ByteSource } from '../image/source.js';
import { formatQuery, formatVerify, verifyFailureLine } from './format.js';
import { ExitWith, globalOpts, out, printJson, type GlobalOpts } from './io.js';
import type { SimpleImageCommand } from './simple-args.js';

function requireImage(opts: GlobalOpts, command: string): string {
  if (!opts.image) {
    throw new Fs3BurnError('USAGE', `${command} needs an image: fs3burn -i IMAGE ${command}`);
  }
  return opts.image;
}

/** Run `query` or `verify` on an image (both the commander path and the fast path use it). */
export async function runImageCommand(c: SimpleImageCommand): Promise<void> {
  const { image, source } = await openImageSource(c.image, c.psid ? { psid: c.psid } : {});
  try {
    runOn(c, image, source);
  } finally {
    image.close();
  }
}

function runOn(c: SimpleImageCommand, bytes: ByteSource, source: string): void {
  if (c.command === 'query') {
    const img = parseFs3(bytes);
    const cut = img.entries.find((e) => !e.inBounds);
    if (cut) {
      throw new Fs3BurnError(
        'IMAGE_CORRUPT',
        `Failed to query image: ${source}. The image is truncated: ${cut.name} at 0x${cut.address.toString(16)} (0x${cut.size.toString(16)} bytes) lies past its end (0x${bytes.length.toString(16)} bytes)`,
        { hint: 'use the whole image file: device-data sections sit at the top of the 16 MiB flash' },
      );
    }
    const q = describeImage(img);
    if (c.json) printJson({ source, ...q });
    else out(formatQuery(q, c.full));
    return;
  }
  const report = verifyFs3(bytes);
  const failCode = verifyFailCode(report.code);
  if (c.json) {
    printJson({ source, ...report });
    if (!report.bootable) throw new ExitWith(ErrorCodes[failCode]);
    return;
  }
  out(formatVerify(report));
  if (!report.bootable) {
    throw new Fs3BurnError(failCode, verifyFailureLine(report), { data: { badSections: report.badSections } });
  }
}

/** The error code a failed verify exits with: the report's own, else IMAGE_VERIFY_FAILED. */
export function verifyFailCode(code: string | undefined): ErrorCode {
  return code !== undefined && code in ErrorCodes ? (code as ErrorCode) : 'IMAGE_VERIFY_FAILED';
}

function fromCommander(cmd: Command, command: 'query' | 'verify', full: boolean): SimpleImageCommand {
  const opts = globalOpts(cmd);
  const image = requireImage(opts, command);
  const c: SimpleImageCommand = { command, full, image, json: opts.json === true };
  if (opts.psid) c.psid = opts.psid;
  return c;
}

export function registerQueryVerify(program: Command): void {
  program
    .command('query')
    .alias('q')
    .argument('[full]', '"full" adds MIC version, PRS name, part number, description and update method')
    .description("print the image's FW version, PSID, GUIDs/MACs, VSDs and security attributes")
    .action(async (full: string | undefined, _o: unknown, cmd: Command) => {
      if (full !== undefined && full !== 'full') throw new Fs3BurnError('USAGE', `unknown query argument "${full}" (expected "full")`);
      const opts = globalOpts(cmd);
      if (opts.device && !opts.image) {
        const { runDeviceQuery } = await import('./device-command.js');
        return runDeviceQuery(opts.device, full === 'full', opts.json === true);
      }
      await runImageCommand(fromCommander(cmd, 'query', full === 'full'));
    });

  program
    .command('verify')
    .alias('v')
    .description('check every CRC of the image and say whether a card can boot it')
    .action(async (_o: unknown, cmd: Command) => {
      const opts = globalOpts(cmd);
      if (opts.device && !opts.image) {
        const { runDeviceVerify } = await import('./device-command.js');
        return runDeviceVerify(opts.device, opts.json === true);
      }
      await runImageCommand(fromCommander(cmd, 'verify', false));
    });
}
