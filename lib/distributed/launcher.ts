/**
 * The built-in launcher (`imlm-native train --nproc-per-node N …`): starts N ranks of the same
 * command on this machine with the variables torchrun would set, relays their output, and
 * supervises them. When one rank fails, the others are stopped (SIGTERM, then SIGKILL after a
 * grace period) and the message names the rank that failed first and its error; the exit code
 * is non-zero. Ctrl-C, SIGTERM and SIGHUP are passed on to every rank (they agree to stop after
 * the same step, rank 0 saves); the launcher then exits with the ranks' code, 128+N.
 */
import { spawn, type ChildProcess } from 'child_process';
import net from 'net';

export interface LaunchOptions {
  nprocPerNode: number;
  /** The script and arguments each rank runs (with node), e.g. [cli, 'train', '--out', dir]. */
  args: string[];
  /** Default: MASTER_PORT from the environment, else a free port. */
  masterPort?: number;
  env?: NodeJS.ProcessEnv;
  /** Where launcher messages go (default stderr). */
  log?: (line: string) => void;
  /** Seconds between SIGTERM and SIGKILL when stopping the other ranks (default 10). */
  killGraceSeconds?: number;
}

export interface LaunchResult {
  exitCode: number;
  /** The rank that failed first, if any, and why. */
  failed: { rank: number; reason: string } | null;
}

/** A TCP port nothing listens on now (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Exit codes of a rank that stopped on a signal after saving: SIGHUP, SIGINT, SIGTERM (128+N). */
const kStoppedCodes = [129, 130, 143];

interface RankState {
  rank: number;
  child: ChildProcess;
  stderrTail: string[];
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
}

/** The most telling line of a rank's stderr: the last one that mentions an error, else the last. */
function lastError(tail: string[]): string {
  const lines = tail.filter((l) => l.trim() !== '');
  return [...lines].reverse().find((l) => /error|ERR_|failed|exception/i.test(l)) ?? lines[lines.length - 1] ?? '(no output)';
}

/** A rank that failed only because another one did (a collective lost its peer). */
function isSecondaryFailure(state: RankState): boolean {
  return state.exit?.signal === null && /ERR_DISTRIBUTED|another rank has probably stopped/.test(state.stderrTail.join('\n'));
}

function describeExit(state: RankState): string {
  const how = state.exit?.signal ? `was killed by ${state.exit.signal}` : `exited with code ${state.exit?.code}`;
  return `${how}: ${lastError(state.stderrTail)}`;
}

export async function launchLocal(options: LaunchOptions): Promise<LaunchResult> {
  const n = options.nprocPerNode;
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const baseEnv = options.env ?? process.env;
  const masterPort = options.masterPort ?? (baseEnv.MASTER_PORT ? Number(baseEnv.MASTER_PORT) : await freePort());
  const states: RankState[] = [];
  for (let rank = 0; rank < n; rank++) {
    const child = spawn(process.execPath, options.args, {
      env: {
        ...baseEnv,
        RANK: String(rank),
        LOCAL_RANK: String(rank),
        WORLD_SIZE: String(n),
        LOCAL_WORLD_SIZE: String(n),
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(masterPort),
      },
      // Rank 0 owns the terminal's stdout (results, --json); every rank's stderr is relayed.
      stdio: ['ignore', rank === 0 ? 'inherit' : 'ignore', 'pipe'],
      // Own process group: a terminal's Ctrl-C reaches the launcher only, which passes it on
      // once (a second SIGINT would kill a rank mid-step).
      detached: true,
    });
    const state: RankState = { rank, child, stderrTail: [], exit: null };
    let partial = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        state.stderrTail.push(line);
        if (state.stderrTail.length > 40) state.stderrTail.shift();
      }
      // Rank 0's progress bar redraws in place: pass its bytes through untouched.
      if (rank === 0) process.stderr.write(chunk);
      else for (const line of lines) process.stderr.write(`[rank ${rank}] ${line}\n`);
    });
    child.stderr!.on('end', () => {
      if (partial) state.stderrTail.push(partial);
    });
    states.push(state);
  }
  log(`imlm-native: started ${n} ranks on 127.0.0.1:${masterPort}: ${states.map((s) => `rank ${s.rank} pid ${s.child.pid}`).join(', ')}`);

  const onSigint = () => {
    for (const s of states) if (!s.exit) s.child.kill('SIGINT');
  };
  const onSigterm = () => {
    for (const s of states) if (!s.exit) s.child.kill('SIGTERM');
  };
  const onSighup = () => {
    for (const s of states) if (!s.exit) s.child.kill('SIGHUP');
  };
  // The ranks never outlive the launcher (they run in their own process groups).
  const onExit = () => {
    for (const s of states) if (!s.exit) s.child.kill('SIGKILL');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  process.on('SIGHUP', onSighup);
  process.on('exit', onExit);

  let failed: RankState | null = null;
  let stopping = false;
  const grace = (options.killGraceSeconds ?? 10) * 1000;
  try {
    await new Promise<void>((resolve) => {
      let running = n;
      let firstFailureTimer: NodeJS.Timeout | null = null;
      const stopOthers = () => {
        stopping = true;
        // The rank to blame: one that failed on its own, not because it lost a peer.
        const failures = states.filter((s) => s.exit && ((s.exit.code !== 0 && !kStoppedCodes.includes(s.exit.code!)) || s.exit.signal));
        failed = failures.find((s) => !isSecondaryFailure(s)) ?? failures[0];
        const others = states.filter((s) => !s.exit);
        log(
          `imlm-native: rank ${failed.rank} ${describeExit(failed)}` +
            (others.length ? `; stopping the other ${others.length} rank(s)` : ''),
        );
        for (const s of others) s.child.kill('SIGTERM');
        if (others.length) {
          setTimeout(() => {
            for (const s of states) if (!s.exit) s.child.kill('SIGKILL');
          }, grace).unref();
        }
      };
      for (const state of states) {
        state.child.on('exit', (code, signal) => {
          state.exit = { code, signal };
          running--;
          const bad = (code !== 0 && !kStoppedCodes.includes(code!)) || signal !== null; // stopped by a signal, after saving
          if (bad && !stopping && !firstFailureTimer) {
            // Peers of a dead rank fail a moment later; wait briefly so the report names the
            // rank that failed first, not one that merely lost its connection to it.
            firstFailureTimer = setTimeout(stopOthers, 1500);
            firstFailureTimer.unref();
          }
          if (running === 0) {
            if (firstFailureTimer && !stopping) {
              clearTimeout(firstFailureTimer);
              stopOthers();
            }
            resolve();
          }
        });
      }
    });
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    process.off('SIGHUP', onSighup);
    process.off('exit', onExit);
  }
  if (failed) {
    const f = failed as RankState;
    return { exitCode: f.exit?.code && f.exit.code > 0 ? f.exit.code : 1, failed: { rank: f.rank, reason: describeExit(f) } };
  }
  const cancelled = states.find((s) => kStoppedCodes.includes(s.exit?.code ?? 0));
  return { exitCode: cancelled ? cancelled.exit!.code! : 0, failed: null };
}
