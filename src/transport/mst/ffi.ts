/**
 * libc's open, ioctl and close, with errno, through koffi (loaded by src/native/koffi.ts,
 * lazily, on the first {@link loadLibc}), so the image tools, the simulator and the sysfs
 * transport never load a native addon. Why koffi and not
 * ffi-napi/ref-napi: docs/transports.md.
 *
 * Each wrapper returns the C result, or `-errno` when the call failed (the kernel's own
 * convention), with errno read immediately after the call on the calling thread.
 */
import { Fs3BurnError } from '../../errors.js';
import { loadKoffi, type Koffi } from '../../native/koffi.js';

/** open(2) flags, Linux generic values (x86, arm, arm64, riscv). */
export const O_RDONLY = 0;
export const O_RDWR = 2;
/** Do not leak the descriptor into child processes (Node opens its own files the same way). */
export const O_CLOEXEC = 0o2000000;

export interface Libc {
  /** open(path, flags); the descriptor, or -errno. */
  open(path: string, flags: number): number;
  /** ioctl(fd, request, arg) with `arg` pointing at the buffer's bytes; the result, or -errno. */
  ioctl(fd: number, request: number, arg: Uint8Array): number;
  /** close(fd); 0, or -errno. */
  close(fd: number): number;
}

let loading: Promise<Libc> | undefined;

/** Load koffi and bind libc once per thread. Throws DEVICE_FFI_UNAVAILABLE when it cannot. */
export function loadLibc(): Promise<Libc> {
  loading ??= bind().catch((e: unknown) => {
    loading = undefined;
    throw e;
  });
  return loading;
}

async function bind(): Promise<Libc> {
  if (process.platform !== 'linux') {
    throw new Fs3BurnError('DEVICE_FFI_UNAVAILABLE', `/dev/mst devices exist only on Linux (this is ${process.platform})`);
  }
  let koffi: Koffi;
  try {
    koffi = await loadKoffi();
  } catch (e) {
    throw new Fs3BurnError(
      'DEVICE_FFI_UNAVAILABLE',
      `cannot load koffi, needed for /dev/mst devices: ${(e as Error)?.message ?? String(e)}`,
      {
        hint:
          `koffi's prebuilt binary comes in the package @koromix/koffi-${process.platform}-${process.arch}; ` +
          'reinstall fs3burn with optional dependencies enabled, or use a PCI address (sysfs) instead',
        cause: e,
      },
    );
  }
  try {
    // dlopen(NULL): the C library node itself is linked with (glibc or musl).
    const lib = koffi.load(null);
    const cOpen = lib.func('int open(const char *path, int flags, ...)');
    const cIoctl = lib.func('int ioctl(int fd, unsigned long request, ...)');
    const cClose = lib.func('int close(int fd)');
    const errno = (): number => koffi.errno();
    return {
      open(path: string, flags: number): number {
        const r = cOpen(path, flags) as number;
        return r < 0 ? -errno() : r;
      },
      ioctl(fd: number, request: number, arg: Uint8Array): number {
        // ioctl is variadic: koffi wants the type of each extra argument.
        const r = cIoctl(fd, request >>> 0, 'void *', arg) as number;
        return r < 0 ? -errno() : r;
      },
      close(fd: number): number {
        const r = cClose(fd) as number;
        return r < 0 ? -errno() : r;
      },
    };
  } catch (e) {
    throw new Fs3BurnError(
      'DEVICE_FFI_UNAVAILABLE',
      `cannot bind open/ioctl/close from the C library: ${(e as Error)?.message ?? String(e)}`,
      { cause: e },
    );
  }
}
