/**
 * The start-up fast path. `fs3burn -i IMAGE q|v` is what fleet scripts run thousands of
 * times, and loading commander and every command module costs more than verifying a 16 MiB
 * image (bench/verify.mjs). This recognises exactly the simple image forms — `-i/--image`,
 * `--psid`, `--json`, one of q/query/v/verify, and `full` after a query — and nothing else;
 * anything it does not recognise (help, devices, other commands, unknown flags) goes to the
 * full commander program, which accepts the same forms, so both paths behave alike
 * (test/cli-fast-path.test.ts runs both).
 */
export interface SimpleImageCommand {
  command: 'query' | 'verify';
  full: boolean;
  image: string;
  psid?: string;
  json: boolean;
}

const COMMANDS: Record<string, 'query' | 'verify'> = { q: 'query', query: 'query', v: 'verify', verify: 'verify' };

export function parseSimpleImageCommand(argv: readonly string[]): SimpleImageCommand | undefined {
  let image: string | undefined;
  let psid: string | undefined;
  let json = false;
  let command: 'query' | 'verify' | undefined;
  let full = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string | undefined => {
      const v = argv[++i];
      return v === undefined || v.startsWith('-') ? undefined : v;
    };
    if (a === '-i' || a === '--image') {
      if (image !== undefined || (image = value()) === undefined) return undefined;
    } else if (a.startsWith('--image=')) {
      if (image !== undefined) return undefined;
      image = a.slice(8);
    } else if (a === '--psid') {
      if (psid !== undefined || (psid = value()) === undefined) return undefined;
    } else if (a === '--json') {
      json = true;
    } else if (command === undefined && COMMANDS[a]) {
      command = COMMANDS[a];
    } else if (a === 'full' && command === 'query' && !full) {
      full = true;
    } else {
      return undefined;
    }
  }
  if (!command || image === undefined || image === '') return undefined;
  const out: SimpleImageCommand = { command, full, image, json };
  if (psid !== undefined) out.psid = psid;
  return out;
}
