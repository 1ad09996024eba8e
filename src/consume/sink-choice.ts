/**
 * Which `Sink` a consumer writes to, as plain data that crosses a thread or process boundary (workers open their
 * own connection from it): the embedded SQLite file, or a PostgreSQL database.
 */
import { describeUrl } from './postgres/errors.js';
import { openPostgresSink, postgresSinkSchemaDefault } from './postgres/postgres-sink.js';
import type { DeadLetterStore, Sink, TenantAdoption } from './sink.js';
import { openSqliteSink } from './sqlite/sqlite-sink.js';

/** The sink of a consumer group. */
export type SinkChoice =
  | { engine: 'sqlite'; path: string }
  | {
      engine: 'postgres';
      /** `postgres://user:password@host:5432/database`. */
      url: string;
      /** The schema of the sink's tables (default `shock`). */
      schema?: string;
      /** Connections per worker (default 2). */
      poolMax?: number;
    };

/**
 * Opens the chosen sink (creating its schema if needed). `busyTimeoutMs` (SQLite: how long a write waits for
 * another writer's lock) defaults to `limits.consumeSinkBusyTimeoutMs`. Errors: SHOCK_SINK_*, SHOCK_CONFIG_INVALID.
 */
export async function openSink(
  choice: SinkChoice,
  durability: 'full' | 'normal' = 'full',
  busyTimeoutMs?: number,
): Promise<Sink & DeadLetterStore & TenantAdoption> {
  if (choice.engine === 'postgres') {
    return openPostgresSink({ url: choice.url, schema: choice.schema, poolMax: choice.poolMax, durability });
  }
  return openSqliteSink({ path: choice.path, durability, busyTimeoutMs });
}

/** Where the sink is, for messages and banners — never the password. */
export function describeSink(choice: SinkChoice): string {
  if (choice.engine === 'sqlite') return choice.path;
  return `postgres ${describeUrl(choice.url)} schema ${choice.schema ?? postgresSinkSchemaDefault}`;
}
