import { createRequire } from 'node:module';
import { locateAddon, type AddonLocation } from './addon-location';

/** A result in the shape of `@flow/core`'s `Result`, so that a package returns it as its own. */
export type AddonResult<T, E> =
  | {
      /** It worked. */
      readonly ok: true;
      /** The addon, or where it is. */
      readonly value: T;
    }
  | {
      /** It did not. */
      readonly ok: false;
      /** The package's own error, saying why. */
      readonly error: E;
    };

/** What one package says about its addon: its name, its functions, and its own typed error. */
export interface NativeAddonSpec<E> {
  /** The npm name, for messages: `@flow/hvsock`. */
  readonly packageName: string;
  /** The package's root folder (where binding.gyp, build/ and prebuilds/ are). */
  readonly packageRoot: string;
  /** Why the addon cannot exist on `platform`, or undefined where it can (e.g. `AF_VSOCK needs Linux; this is darwin`). */
  readonly unavailableOn: (platform: NodeJS.Platform) => string | undefined;
  /** Every function the addon must export. */
  readonly functions: readonly string[];
  /** Every object the addon must export besides (e.g. `constants`). */
  readonly objects?: readonly string[];
  /** What a file without those members is not, after "at <path>": `does not provide AF_VSOCK`. */
  readonly notTheAddon: string;
  /** The package's own typed error for what this system or install cannot provide. */
  readonly unsupported: (message: string, cause?: unknown) => E;
}

/** One package's addon: found and loaded on first use, then kept; the errors are the package's own. */
export interface NativeAddon<B, E> {
  /** The package's root folder, as the spec gave it. */
  readonly packageRoot: string;
  /**
   * The addon, loaded on first use (importing a package loads nothing native) and kept. When it
   * cannot be had, the package's error says why: another system, no prebuilt binary and no
   * source build, or a binary that does not load here or lacks a function.
   */
  load(): AddonResult<B, E>;
  /** Where the addon was loaded from (prebuilt or built here); undefined until a load succeeded. */
  location(): AddonLocation | undefined;
  /** Finds the addon file without loading it (uncached), for `root`, `platform` and `arch` (this package on this machine by default). */
  locate(root?: string, platform?: NodeJS.Platform, arch?: string): AddonResult<AddonLocation, E>;
  /** Loads and checks the addon file at `location` (uncached: `load` is the entry point). */
  loadAt(location: AddonLocation): AddonResult<B, E>;
}

/**
 * The loader of one package's addon, from what the package says about it. The finding, loading,
 * checking and caching are the same for every addon of the repository; only the words and the
 * functions differ.
 */
export function nativeAddon<B extends object, E>(spec: NativeAddonSpec<E>): NativeAddon<B, E> {
  let loaded: AddonResult<B, E> | undefined;
  let where: AddonLocation | undefined;

  const locate = (root = spec.packageRoot, platform: NodeJS.Platform = process.platform, arch: string = process.arch): AddonResult<AddonLocation, E> => {
    const unavailable = spec.unavailableOn(platform);
    if (unavailable !== undefined) return { ok: false, error: spec.unsupported(unavailable) };
    const found = locateAddon(spec.packageName, root, platform, arch);
    return found.ok ? found : { ok: false, error: spec.unsupported(found.reason, found.cause) };
  };

  const loadAt = ({ path }: AddonLocation): AddonResult<B, E> => {
    let exported: unknown;
    try {
      // Node's own require: one copy of the addon per process, whoever asks for it.
      exported = createRequire(__filename)(path);
    } catch (cause) {
      // Duck-typed: the error comes from Node's loader, maybe from another realm (a test runner's).
      const message = (cause as { message?: unknown } | null)?.message;
      const why = typeof message === 'string' ? message : String(cause);
      return { ok: false, error: spec.unsupported(`the native part of ${spec.packageName} failed to load from ${path}: ${why}`, cause) };
    }
    const missing = missingMembers(exported, spec);
    if (missing.length > 0) {
      return { ok: false, error: spec.unsupported(`the native part of ${spec.packageName} at ${path} ${spec.notTheAddon} (no ${missing.join(', ')})`) };
    }
    // A frozen copy: nobody can swap a function of the binding that the package uses.
    return { ok: true, value: Object.freeze({ ...(exported as B) }) };
  };

  return {
    packageRoot: spec.packageRoot,
    load() {
      if (loaded === undefined) {
        const located = locate();
        if (!located.ok) {
          loaded = located;
        } else {
          loaded = loadAt(located.value);
          if (loaded.ok) where = located.value;
        }
      }
      return loaded;
    },
    location: () => where,
    locate,
    loadAt,
  };
}

function missingMembers(exported: unknown, spec: NativeAddonSpec<unknown>): string[] {
  if (typeof exported !== 'object' || exported === null) return ['exports'];
  const members = exported as Record<string, unknown>;
  const missing = spec.functions.filter((name) => typeof members[name] !== 'function');
  for (const name of spec.objects ?? []) {
    if (typeof members[name] !== 'object' || members[name] === null) missing.push(name);
  }
  return missing;
}
