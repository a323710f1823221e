/** Reading input files with typed errors that say what is wrong and what to do. */
import { readFileSync, statSync } from 'node:fs';
import { Fs3BurnError } from '../errors.js';

export function fileError(path: string, e: NodeJS.ErrnoException): Fs3BurnError {
  switch (e.code) {
    case 'ENOENT':
      return new Fs3BurnError('FILE_NOT_FOUND', `${path}: no such file`, { hint: 'check the path', data: { path } });
    case 'EISDIR':
      return new Fs3BurnError('FILE_IS_DIRECTORY', `${path}: is a directory, not a firmware file`, { data: { path } });
    case 'EACCES':
    case 'EPERM':
      return new Fs3BurnError('FILE_NOT_READABLE', `${path}: permission denied`, {
        hint: 'check the file permissions, or run as a user who can read it',
        data: { path },
      });
    default:
      return new Fs3BurnError('FILE_READ_FAILED', `${path}: cannot read (${e.code ?? e.message})`, {
        data: { path, errno: e.code },
      });
  }
}

/** The whole file, or a typed error (missing, directory, unreadable, empty). */
export function readInputFile(path: string): Buffer {
  let buf: Buffer;
  try {
    if (statSync(path).isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    buf = readFileSync(path);
  } catch (e) {
    throw fileError(path, e as NodeJS.ErrnoException);
  }
  if (buf.length === 0) {
    throw new Fs3BurnError('FILE_EMPTY', `${path}: the file is empty`, { data: { path } });
  }
  return buf;
}
