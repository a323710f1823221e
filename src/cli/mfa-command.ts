/**
 * `fs3burn mfa list ARCHIVE` and `fs3burn mfa extract ARCHIVE --psid PSID -o FILE`
 * (docs/mfa.md). The archive may also be given with the global `-i`. The MFA code (and
 * with it any xz decoder) is imported only when one of these commands runs.
 */
import type { Command } from 'commander';
import { Fs3BurnError } from '../errors.js';
import { globalOpts, out, printJson } from './io.js';

function archiveArg(archive: string | undefined, cmd: Command): string {
  const path = archive ?? globalOpts(cmd).image;
  if (!path) {
    throw new Fs3BurnError('USAGE', `missing archive: fs3burn ${cmd.parent?.name() ?? 'mfa'} ${cmd.name()} ARCHIVE`, {
      hint: 'give the .mfa file as an argument or with -i',
    });
  }
  return path;
}

/** Plain-text table: columns padded to their widest cell, the last one left as is. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].map((l) => `${l}\n`).join('');
}

export function registerMfaCommands(program: Command): void {
  const mfa = program
    .command('mfa')
    .description('list or extract the images of an MFA1 firmware archive (.mfa)');

  mfa
    .command('list')
    .description('list the images in an archive: PSID, FW version, part number, description')
    .argument('[archive]', 'MFA1 archive (or use -i)')
    .action(async (archive: string | undefined, _opts: unknown, cmd: Command) => {
      const path = archiveArg(archive, cmd);
      const { readMfa1Index } = await import('../mfa/index.js');
      const index = await readMfa1Index(path);
      if (globalOpts(cmd).json) {
        printJson({
          archive: path,
          formatVersion: index.formatVersion,
          entries: index.entries,
        });
        return;
      }
      out(
        table(
          ['PSID', 'FW version', 'Part number', 'Description'],
          index.entries.map((e) => [e.psid, e.versionString, e.partNumber, e.description]),
        ),
      );
      out(`${index.entries.length} image(s) in ${path}\n`);
    });

  mfa
    .command('extract')
    .description('write the raw firmware image of one PSID (--psid) to a file (-o FILE, or - for stdout)')
    .argument('[archive]', 'MFA1 archive (or use -i)')
    .requiredOption('-o, --output <file>', 'where to write the image ("-" for standard output)')
    .action(async (archive: string | undefined, opts: { output: string }, cmd: Command) => {
      const path = archiveArg(archive, cmd);
      const g = globalOpts(cmd);
      const { extractMfa1Image, readMfa1Index } = await import('../mfa/index.js');
      if (!g.psid) {
        let hint = `run \`fs3burn mfa list ${path}\` to see the PSIDs in the archive`;
        let data: Record<string, unknown> | undefined;
        try {
          const available = (await readMfa1Index(path)).entries.map((e) => e.psid);
          hint = `choose one with --psid: ${available.join(', ')}`;
          data = { available };
        } catch {
          // the archive's own problem is reported once a PSID is given
        }
        throw new Fs3BurnError('MFA_PSID_REQUIRED', `which image? ${path} is an MFA1 archive: give --psid PSID`, {
          hint,
          ...(data ? { data } : {}),
        });
      }
      const toStdout = opts.output === '-';
      const { bytes, entry } = await extractMfa1Image(path, g.psid, toStdout ? process.stdout : opts.output);
      const where = toStdout ? '(stdout)' : opts.output;
      if (g.json && !toStdout) {
        printJson({
          archive: path,
          psid: entry.psid,
          version: entry.versionString,
          partNumber: entry.partNumber,
          bytes,
          output: opts.output,
        });
        return;
      }
      const line = `Extracted ${entry.psid} FW ${entry.versionString} (${entry.partNumber || 'no part number'}): ${bytes} bytes -> ${where}\n`;
      if (toStdout) process.stderr.write(line);
      else out(line);
    });
}
