/**
 * The one rule for tests that need something outside Node — nats-server, PostgreSQL, a tmpfs, Chromium: on a
 * developer's machine a missing dependency skips the test and says why; under CI (`CI=true`, which `.ci/run` sets)
 * it fails the run, so a CI image without it can never pass green with that coverage silently gone.
 *
 *   const skip = skipUnlessAvailable(natsMissing());   // test('…', { skip }, …)
 *
 * Under CI the call throws at once: the test file fails with the reason and what installs the dependency.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Whether this run is CI: `CI=true` (GitHub Actions, GitLab, `.ci/run`). */
export function underCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true';
}

/** Thrown under CI when a test's dependency is missing. */
export class DependencyMissingError extends Error {
  constructor(reason: string) {
    super(
      `${reason} — CI=true: a missing test dependency fails the run instead of skipping its tests ` +
        '(bash .ci/run installs every dependency; unset CI to skip them locally)',
    );
    this.name = 'DependencyMissingError';
  }
}

/**
 * The `skip` option for a test that needs a dependency. `missing` is why it cannot run here, or undefined when it
 * can. Returns false (run the test) when the dependency is there; otherwise the reason (skip) — except under CI,
 * where it throws DependencyMissingError.
 */
export function skipUnlessAvailable(missing: string | undefined, env: NodeJS.ProcessEnv = process.env): string | false {
  if (missing === undefined) return false;
  if (underCi(env)) throw new DependencyMissingError(missing);
  return missing;
}

/** The first of `candidates` that exists, else `name` found on PATH, else undefined. */
export function findBinary(name: string, candidates: (string | undefined)[] = []): string | undefined {
  for (const path of candidates) if (path && existsSync(path)) return path;
  const which = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name], { encoding: 'utf8' });
  const found = which.stdout.trim();
  return which.status === 0 && found ? found : undefined;
}
