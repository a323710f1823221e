/**
 * Rendering burn progress: a bar with elapsed time and an estimate on a terminal
 * (cli-progress), plain lines when stdout is not a terminal, one JSON object per line with
 * --json. The flows report progress twice: as events, and as flint's own percentage lines
 * ("Burning FW image without signatures -  42%"). A terminal shows the events as a bar and
 * drops the percentage lines but the last; plain output shows flint's lines in 10 % steps.
 */
import cliProgress from 'cli-progress';

export interface ProgressEvent {
  phase: string;
  done: number;
  total: number;
  message?: string;
}

export interface ProgressRenderer {
  event(e: ProgressEvent): void;
  /** A text line (flint-compatible messages); in JSON mode an object `{ type: 'log', line }`. */
  line(text: string): void;
  /** A JSON-mode record (ignored in text modes). */
  record(obj: Record<string, unknown>): void;
  stop(): void;
}

export type ProgressMode = 'tty' | 'plain' | 'json';

/** flint's percentage lines: "TEXT - NN%". Its final line ends in "OK" instead. */
const PERCENT_LINE = /^(.*\S) - +(\d{1,3})%$/;

export function progressMode(json: boolean, stream: NodeJS.WriteStream = process.stdout): ProgressMode {
  if (json) return 'json';
  return stream.isTTY ? 'tty' : 'plain';
}

export function createProgress(mode: ProgressMode, stream: NodeJS.WriteStream = process.stdout): ProgressRenderer {
  const write = (s: string) => stream.write(s);
  if (mode === 'json') {
    const rec = (obj: Record<string, unknown>) => write(`${JSON.stringify(obj)}\n`);
    return {
      event: (e) => rec({ type: 'progress', ...e }),
      line: (text) => rec({ type: 'log', line: text }),
      record: rec,
      stop: () => {},
    };
  }
  if (mode === 'plain') {
    let prefix = '';
    let lastStep = -1;
    return {
      event: () => {},
      line(text) {
        const m = PERCENT_LINE.exec(text);
        if (m) {
          if (m[1] !== prefix) {
            prefix = m[1]!;
            lastStep = -1;
          }
          const step = Math.floor(Number(m[2]) / 10);
          if (step === lastStep) return;
          lastStep = step;
        }
        write(`${text}\n`);
      },
      record: () => {},
      stop: () => {},
    };
  }
  let bar: cliProgress.SingleBar | undefined;
  let phase = '';
  const end = () => {
    bar?.stop();
    bar = undefined;
    phase = '';
  };
  return {
    event(e) {
      if (e.phase !== phase || !bar) {
        end();
        phase = e.phase;
        bar = new cliProgress.SingleBar(
          {
            format: `${e.phase.padEnd(24)} [{bar}] {percentage}% | {duration_formatted} elapsed | ETA {eta_formatted}`,
            stream,
            hideCursor: true,
            clearOnComplete: false,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(1, e.total), 0);
      }
      bar.setTotal(Math.max(1, e.total));
      bar.update(e.done);
    },
    line(text) {
      if (PERCENT_LINE.test(text)) return; // the bar shows it
      end();
      write(`${text}\n`);
    },
    record: () => {},
    stop: end,
  };
}
