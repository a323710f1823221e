/**
 * The one place fs3burn loads its FFI, koffi (3.x), lazily: nothing that reads images or
 * talks to the simulator or to sysfs ever loads a native addon. Two users sit on it: libc's
 * open/ioctl/close for /dev/mst devices (transport/mst/ffi.ts) and the system liblzma for
 * MFA1 archives (mfa/xz.ts).
 *
 * Why koffi: ffi-napi/ref-napi do not install on Node 20 here (the prebuilt binary aborts, a
 * source build fails) and crash in worker threads; koffi ships prebuilt binaries through the
 * npm registry (@koromix/koffi-<platform>-<arch>) and works in workers (docs/transports.md).
 */
export type Koffi = (typeof import('koffi'))['default'];

let loading: Promise<Koffi> | undefined;

/** koffi's module, loaded once; rejects with the loader's error when it cannot be loaded. */
export function loadKoffi(): Promise<Koffi> {
  loading ??= import('koffi').then(
    (m) => m.default,
    (e: unknown) => {
      loading = undefined;
      throw e;
    },
  );
  return loading;
}
