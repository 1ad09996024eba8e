/**
 * The generation manifest on disk: `<dataDir>/generations.json`, replaced atomically and durably (temporary file,
 * fsync, rename, fsync of the directory) at every state change, so a crash leaves the old manifest or the new one.
 * A data directory without one has never resharded: it is generation 0 in `<dataDir>/log` (old data directories
 * keep working unchanged). See `../generations.ts` for the state machine.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { checkManifest, type GenerationManifest } from '../generations.js';
import { fsyncDir, io, isNotFound, writeFileAtomic } from './io.js';

/** The manifest's file name inside the data directory. */
export const MANIFEST_NAME = 'generations.json';

/** Reads and checks the manifest; null when the data directory has none. SHOCK_LOG_MANIFEST_INVALID if damaged. */
export async function readManifest(dataDir: string): Promise<GenerationManifest | null> {
  const path = join(dataDir, MANIFEST_NAME);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return null;
    return io('read', path, () => Promise.reject(err));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = null;
  }
  return checkManifest(value, path);
}

/** Writes the manifest durably (atomic replace + fsync); resolves once a crash can no longer take it back. */
export async function writeManifest(dataDir: string, manifest: GenerationManifest): Promise<void> {
  const path = join(dataDir, MANIFEST_NAME);
  checkManifest(manifest, path);
  await writeFileAtomic(path, JSON.stringify(manifest, null, 2) + '\n');
}

/** Removes a generation's log directory (retired, or created by a reshard that never reached the manifest). */
export async function removeGenerationDir(dataDir: string, dir: string): Promise<void> {
  const path = join(dataDir, dir);
  await io('remove directory', path, () => rm(path, { recursive: true, force: true }));
  await fsyncDir(dataDir);
}
