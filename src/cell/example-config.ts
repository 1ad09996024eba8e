/**
 * The commented example configuration printed by `shock serve --example-config`. A test loads it through
 * `buildCellConfig`, so the example can never drift from the schema.
 */

/** YAML text of a complete, valid, commented configuration. */
export const exampleConfigYaml = `# shock serve --config shock.yaml
# A cell: gateway + durable file log + consumers + sink (SQLite, or PostgreSQL), sharing nothing with other cells.
# Every key is optional; the values shown are the defaults unless marked "example".
# Unknown keys are errors (all problems are reported at once, with their path).

# The log, consumer offsets and the SQLite sink (engine sqlite) live here.
dataDir: ./shock-data

# Public listener: POST /v1/events, POST /v1/events/batch, GET /healthz, /readyz.
http:
  host: 127.0.0.1        # 0.0.0.0 to accept from other machines
  port: 8080
  observabilityPublic: false  # true: also GET /metrics, /v1/stats, / (dashboard) here, unauthenticated

# Admin listener: the JSON API (tenants, quotas, schema reload, pause/resume, reshard, dead letters) and
# GET /metrics, /v1/stats, / (dashboard). Keep it on loopback. Requests carry Authorization: Bearer <admin token>
# (reads of /metrics, /v1/stats and the dashboard on loopback need none); SHOCK_ADMIN_TOKEN overrides the file.
admin:
  enabled: true
  host: 127.0.0.1
  port: 8081             # 0 picks a free port (printed at start)
  # tokenFile: /etc/shock/admin-token   # default <dataDir>/admin-token, created (mode 0600) when missing

log:
  partitions: 8          # of a new data dir; change a running cell with shock reshard; partition = murmur2(key) % partitions
  groupCommitWindowMs: 1 # wait this long for more appends before one write + fdatasync
  segmentBytesMax: 67108864
  journal: true          # one journal fdatasync covers every partition's small appends (false: one per partition)
  # Retention (docs/log.md, "Retention"). policy: interest (the default; both engines) keeps every event until
  # every consumer group has committed past it: maxAge/maxBytes then bound only the consumed history, and when a
  # partition's unconsumed events reach maxBytes (or the disk's free space falls below diskFreeBytesMin, default
  # 256 MiB, 0 = no floor) the ingress answers 503 SHOCK_LOG_FULL with Retry-After until the consumers catch up.
  # policy: limits removes the oldest events past maxAge/maxBytes whoever is behind (those consumers skip them).
  # File engine, per partition: whole old segments go (never the newest), checked at start, at every segment roll
  # and every minute. The same words as log.jetstream below: maxAge a duration (90s, 30m, 24h, 7d, 1w, 1y; at least
  # 1s; "0" = unlimited), maxBytes bytes per partition (-1 = unlimited); unset = unlimited (the default). A
  # generation still being drained after a reshard keeps everything until it retires.
  # retention: { policy: interest, maxAge: 7d, maxBytes: 10737418240 }   # example: consumed events a week, at most 10 GiB per partition
  engine: file           # file: the embedded file log in <dataDir>/log; jetstream: NATS JetStream (docs/log.md)
  # jetstream:           # used when engine is jetstream; groupCommitWindowMs and segmentBytesMax then do not apply
  #   servers: [nats://127.0.0.1:4222]   # URLs of one NATS cluster with JetStream enabled
  #   streamPrefix: shock  # streams shock_<p>, subjects shock.<p>, offsets in the bucket shock_offsets
  #   replicas: 1        # 3 on a three-node cluster: an acknowledged event then survives losing a machine
  #   # Retention, per partition (each partition is one stream); unset = unlimited (the default). Under
  #   # log.retention.policy interest (the default) maxAge/maxBytes bound the consumed events (the log purges them)
  #   # and unconsumed ones at maxBytes answer 503 SHOCK_LOG_FULL; under limits they are NATS stream limits: the
  #   # oldest events go first and a group behind them resumes at the oldest left (docs/log.md). maxMsgs and
  #   # maxMsgsPerSubject need policy limits.
  #   maxAge: 7d         # example; max_age: a duration (90s, 30m, 24h, 7d, 1w, 1y), at least 1s
  #   maxBytes: 10737418240   # example; max_bytes: 10 GiB per partition (-1 = unlimited)
  #   maxMsgs: -1        # max_msgs: events per partition (-1 = unlimited)
  #   maxMsgsPerSubject: -1   # max_msgs_per_subject: the same as maxMsgs here (one subject per stream)

consumers:
  group: sink            # offsets are committed under this group name
  workers: 2             # worker threads; each partition has exactly one owner
  handler: ""            # handler module path (relative to this file); "" = the built-in example handler
  sinkPath: ""           # SQLite file; "" = <dataDir>/sink.sqlite
  handlerDelayMs: 0      # artificial delay per batch, for surge experiments only
  niceness: 10           # nice value of the consumer threads (0-19): ingress first on shared cores, consumers absorb

# Where the consumers store results and dead letters, idempotently (one row per event id), fenced per partition.
sink:
  engine: sqlite         # sqlite: the file consumers.sinkPath; postgres: a PostgreSQL database (docs/consume.md)
  # postgres:            # used when engine is postgres
  #   url: postgres://shock@127.0.0.1:5432/shock   # password: in PGPASSWORD or ~/.pgpass rather than here
  #   schema: shock      # tables are created in this schema at start (idempotent)
  #   poolMax: 2         # connections per consumer worker

# Tenants. The tenant comes from the API key, never from the body. Keys are stored hashed:
#   shock serve --hash-key 'my-secret'      (or: echo -n my-secret | shock serve --hash-key -)
# With no tenants at all, a "default" tenant is created with a development key kept in <dataDir>/dev-key.
tenants:                 # example
  - id: acme
    keyHashes:
      - "sha256:b81ff514581f28cf9536d9227563cf3a93e9ced7728e175b4e1d044be8a3ef29"   # acme-secret-key
    ratePerSec: 1000     # token bucket refill, events/s (429 + Retry-After + RateLimit headers beyond it)
    burst: 2000          # token bucket capacity, events
  - id: globex
    keyHashes:
      - "sha256:fab58aa1597369c7e83e7c37ece5703ad9445f4660d068c90e5b351f2cdbbfdd"   # globex-secret-key
    ratePerSec: 200
    burst: 200
    disabled: false      # a disabled tenant's keys get 403
    types: [page.view]   # optional allow-list of event types (403 for others)

# JSON Schema of the payload, per event type. Unlisted types get 400 SHOCK_INGRESS_UNKNOWN_TYPE.
# "shock admin" style reload: POST /admin/schemas/reload re-reads this file and recompiles the validators.
schemas:
  page.view:
    type: object
    required: [url]
    properties:
      url: { type: string, maxLength: 2048 }
      referrer: { type: string, maxLength: 2048 }
  order.created:
    type: object
    required: [order_id, amount_cents]
    properties:
      order_id: { type: string, minLength: 1, maxLength: 128 }
      amount_cents: { type: integer, minimum: 0 }
      currency: { type: string, pattern: "^[A-Z]{3}$" }
  generic:
    type: object

# Overload protection of this process (seed section 5.3). Load ratio = the largest of in-flight/inflightAppendsMax,
# log queue/logQueueDepthMax, event-loop delay/eventLoopDelayMsMax. Above 1 a fraction p = 1 - 1/ratio is shed
# (low first, then normal, critical last) with 503 + Retry-After + x-shock-shed: <reason>.
shedding:
  mode: reject              # reject: 503 above capacity; delay: graduated delay (continuous backpressure) instead
  shadow: false             # true: count decisions, never reject (try limits before enforcing them)
  inflightAppendsMax: 10000 # events awaiting their durable append
  logQueueDepthMax: 50000   # records queued inside the log backend
  eventLoopDelayMsMax: 200  # event-loop delay p99 that counts as full load
  hardRatio: 2              # at this load ratio everything is shed, critical included
  delayStartRatio: 0.5      # delay mode: delays start at this ratio...
  delayMsMax: 200           # ...and grow to this many ms at ratio 1
  breakerFailuresMax: 5     # consecutive log failures that open the circuit breaker (fast 503s)
  breakerOpenMs: 5000       # open -> half-open (one probe append) after this long

# Tenant token buckets in this process.
rateLimit:
  mode: enforce             # enforce: 429; shadow: count and add a header only
  share: 1                  # 1/K when K gateway processes serve this cell (no coordination on the hot path)
  retryJitterSecMax: 1      # jitter added to Retry-After so clients do not retry in lockstep

# Batch bodies of at least bytesMin are split, parsed, validated and encoded on worker threads, so big batches
# do not hold the event loop that answers everything else (absent: one worker on 2+ cores; 0: all inline).
batchWorkers:
  workers: 1
  bytesMin: 16384

# Overrides of the built-in limits (units are in the names). Example:
limits:
  batchRecordsMax: 500      # records per batch request (413 beyond)
  bodyBytesMax: 5242880     # bytes per request (413 beyond)
  eventBytesMax: 1048576    # bytes per record (413 beyond)
  eventDepthMax: 128        # levels of nested objects/arrays per event, at most 512 (400 beyond)

# Graceful shutdown (SIGTERM/SIGINT): stop accepting, finish in-flight appends, fsync, commit offsets.
drainMs: 10000
`;
