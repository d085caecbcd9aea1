import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';

/**
 * How job processes are isolated from the server, strongest first:
 * - `bubblewrap`: each job in its own mount, PID, IPC and UTS namespaces (bubblewrap, a maintained
 *   sandbox tool): system folders read-only, a private /tmp, only the job's working folder
 *   writable; the data folder (master key, database, blobs) does not exist inside. As root, the
 *   sandbox runs as the unprivileged job user too.
 * - `unprivileged-user`: no bubblewrap, server running as root: jobs run as the job user, and the
 *   data folder's contents are closed to it (mode 0700/0600) except the job's own folder.
 * - `none`: neither is possible (no bubblewrap, not root): jobs run as the server's user and could
 *   read what it reads. The server says so at start and in /readyz.
 */
export type JobIsolationMode = 'bubblewrap' | 'unprivileged-user' | 'none';

export interface JobUser {
  name: string;
  uid: number;
  gid: number;
}

export interface JobIsolation {
  mode: JobIsolationMode;
  /** The user jobs run as, when the server runs as root. */
  user: JobUser | undefined;
  /** One sentence for the start log and /readyz: what is in force and what would make it stronger. */
  summary: string;
  bwrap: string | undefined;
  /** Folders bound read-only into the sandbox besides the system ones (the app and its Node). */
  readOnlyPaths: string[];
  /** Masked inside the sandbox: files by an empty file, folders by an empty tmpfs. */
  hiddenPaths: string[];
  dataDir: string;
}

export interface JobIsolationOptions {
  dataDir: string;
  /** `auto` (default) takes the strongest available; the others insist and fail when unavailable. */
  mode?: 'auto' | JobIsolationMode;
  /** Default /usr/bin/bwrap. */
  bwrapPath?: string;
  /** Default `trainyard-job`. */
  userName?: string;
  /** Folders the job needs to read besides the system ones (default: this app's install folder and Node's). */
  readOnlyPaths?: string[];
  /** Files or folders inside those that must not be seen (the config file, which may hold keys). */
  hiddenPaths?: string[];
}

export const installBubblewrap = 'sudo apt-get install -y bubblewrap';

const systemFolders = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt'];

/** The outermost folder above this module that holds node_modules: the app's install (workspace) folder. */
function appInstallFolder(): string | undefined {
  let found: string | undefined;
  let dir = dirname(new URL(import.meta.url).pathname);
  for (;;) {
    if (dir !== '/' && existsSync(join(dir, 'node_modules'))) found = dir;
    const up = dirname(dir);
    if (up === dir) return found;
    dir = up;
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Whether `user` may pass through `dir` and every folder above it. */
function userCanReach(user: JobUser, dir: string): boolean {
  return (
    spawnSync('/usr/bin/test', ['-x', dir], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status === 0
  );
}

/** Whether bubblewrap can build a sandbox here (it needs user namespaces when not root). */
function bwrapWorks(bwrap: string, user: JobUser | undefined): boolean {
  if (!existsSync(bwrap)) return false;
  const probe = spawnSync(bwrap, ['--ro-bind', '/', '/', '--unshare-all', '--die-with-parent', '/bin/true'], {
    timeout: 10_000,
    stdio: 'ignore',
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  return probe.status === 0;
}

/** Finds or creates the system user jobs run as (root only). */
export function ensureJobUser(name: string): JobUser {
  const lookup = () => {
    const found = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
    if (found.status !== 0) return undefined;
    const [, , uid, gid] = found.stdout.trim().split(':');
    return { name, uid: Number(uid), gid: Number(gid) };
  };
  const existing = lookup();
  if (existing) return existing;
  execFileSync(
    'useradd',
    [
      '--system',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      '--user-group',
      name,
    ],
    { stdio: 'ignore' },
  );
  const created = lookup();
  if (!created) throw new Error(`could not create the job user "${name}"`);
  return created;
}

/**
 * Closes the data folder to the job user: the folder itself may be passed through (0711: a job
 * reaches its own working folder by path, lists nothing), everything in it is the server's alone,
 * except the `jobs` tree that holds the working folders.
 */
export function closeDataDir(dataDir: string): void {
  chmodSync(dataDir, 0o711);
  for (const entry of readdirSync(dataDir)) {
    const path = join(dataDir, entry);
    const info = lstatSync(path);
    if (info.isSymbolicLink()) continue;
    if (entry === 'jobs' && info.isDirectory()) {
      chmodSync(path, 0o711);
      for (const kind of readdirSync(path)) {
        const kindPath = join(path, kind);
        if (lstatSync(kindPath).isDirectory()) chmodSync(kindPath, 0o711);
      }
      continue;
    }
    chmodSync(path, info.isDirectory() ? 0o700 : 0o600);
  }
}

/**
 * Decides and prepares the isolation of job processes once, at start.
 * @throws Error when a specific `mode` was asked for and is not available, naming what to install
 */
export function prepareJobIsolation(options: JobIsolationOptions): JobIsolation {
  const dataDir = realpathSync(resolve(options.dataDir));
  const bwrap = options.bwrapPath ?? '/usr/bin/bwrap';
  const wanted = options.mode ?? 'auto';
  const root = isRoot();
  const created = root && wanted !== 'none' ? ensureJobUser(options.userName ?? 'trainyard-job') : undefined;
  const app = appInstallFolder();
  const node = dirname(dirname(process.execPath));
  const readOnlyPaths = (
    options.readOnlyPaths ?? [app, node].filter((p): p is string => p !== undefined)
  ).filter((p) => !systemFolders.some((s) => p === s || p.startsWith(`${s}/`)));
  const hiddenPaths = (options.hiddenPaths ?? []).filter((p) => existsSync(p));
  if (created) closeDataDir(dataDir);
  // Job folders live in the data folder: a user that cannot pass through its parents (a data
  // folder under /root, mode 0700) could not run a single job. Then bubblewrap runs as the server's
  // user (the data folder stays invisible inside); without it there is no isolation to offer.
  const reachable = created !== undefined && userCanReach(created, dataDir);
  const user = reachable ? created : undefined;
  const unreachable =
    created && !reachable
      ? ` (user ${created.name} cannot pass through the folders above ${dataDir}; move the data folder, e.g. to /srv/trainyard, to run jobs as that user)`
      : '';
  const base = { dataDir, readOnlyPaths, hiddenPaths, bwrap: undefined, user };
  if (wanted === 'none') {
    return {
      ...base,
      user: undefined,
      mode: 'none',
      summary: 'job isolation: none (turned off by configuration)',
    };
  }
  if ((wanted === 'auto' || wanted === 'bubblewrap') && bwrapWorks(bwrap, user)) {
    return {
      ...base,
      bwrap,
      mode: 'bubblewrap',
      summary: `job isolation: bubblewrap sandbox${user ? ` as user ${user.name}` : ''} (system folders read-only, private /tmp, only the job's folder writable, data folder not visible)${unreachable}`,
    };
  }
  if (wanted === 'bubblewrap') {
    throw new Error(
      `job isolation "bubblewrap" asked for, but ${bwrap} is missing or cannot create a sandbox here; install it: ${installBubblewrap}`,
    );
  }
  if (user) {
    return {
      ...base,
      mode: 'unprivileged-user',
      summary: `job isolation: unprivileged user ${user.name}, data folder closed to it (no bubblewrap: ${installBubblewrap} for a sandbox)`,
    };
  }
  if (wanted === 'unprivileged-user') {
    if (unreachable) throw new Error(`job isolation "unprivileged-user" asked for, but${unreachable}`);
    throw new Error(
      'job isolation "unprivileged-user" needs the server to run as root (it creates the job user)',
    );
  }
  return {
    ...base,
    mode: 'none',
    summary: `job isolation: NONE: jobs run as the server's user and can read what it reads; ${installBubblewrap}${unreachable}`,
  };
}

/** Gives the job user its working folder (every isolation mode with a user). */
export function handOverWorkdir(isolation: JobIsolation, workdir: string): void {
  const user = isolation.user;
  if (!user) return;
  const walk = (path: string) => {
    const info = lstatSync(path);
    chownSync(path, user.uid, user.gid);
    if (info.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  walk(workdir);
  // Parents up to the data folder must be passable (0711), never listable.
  for (let dir = dirname(workdir); dir.startsWith(`${isolation.dataDir}${sep}`); dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o111) !== 0o111) chmodSync(dir, 0o711);
  }
}

export interface SandboxedCommand {
  file: string;
  args: string[];
  /** Set when the process must be started as the job user. */
  uid?: number;
  gid?: number;
}

/**
 * The command line that runs `file args` under the isolation: inside bubblewrap the working
 * folder keeps its path (so rewritten /opt/ml paths still point at it), the data folder is an
 * empty tmpfs, and nothing else of the host is writable.
 */
export function sandboxedCommand(
  isolation: JobIsolation,
  workdir: string,
  file: string,
  args: string[],
): SandboxedCommand {
  const as = isolation.user ? { uid: isolation.user.uid, gid: isolation.user.gid } : {};
  if (isolation.mode !== 'bubblewrap' || !isolation.bwrap) return { file, args, ...as };
  const bw: string[] = [];
  for (const folder of systemFolders) if (existsSync(folder)) bw.push('--ro-bind', folder, folder);
  bw.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  // After the private /tmp: an install folder may itself live under /tmp (a CI clone, say).
  for (const path of isolation.readOnlyPaths) if (existsSync(path)) bw.push('--ro-bind', path, path);
  bw.push(
    // An install folder bound above may contain the data folder: hide it before binding the job's own.
    '--tmpfs',
    isolation.dataDir,
    ...isolation.hiddenPaths.flatMap((p) =>
      statSync(p).isDirectory() ? ['--tmpfs', p] : ['--ro-bind', '/dev/null', p],
    ),
    '--bind',
    workdir,
    workdir,
    '--chdir',
    workdir,
    '--unshare-user-try',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--hostname',
    'algo-1',
    '--die-with-parent',
    '--',
    file,
    ...args,
  );
  return { file: isolation.bwrap, args: bw, ...as };
}
