/**
 * The corpus of invalid inputs: each a change to production's config (or a raw
 * file), and the message that must name the field and the value. Config-schema
 * problems and construct-time problems alike reach the operator through synth.
 */
export interface BadInput {
  readonly name: string;
  /** Mutates a copy of production's parsed config, or gives the file's raw text. */
  readonly change: ((config: any) => void) | string;
  readonly message: RegExp;
}

export const BAD_INPUTS: BadInput[] = [
  // Wrong types and unknown keys
  { name: 'an unknown top-level key', change: (c) => { c.replica = 3; }, message: /replica: unknown key/ },
  { name: 'an unknown nested key', change: (c) => { c.api.replica = 3; }, message: /api\.replica: unknown key; did you mean 'replicas'\?/ },
  { name: 'a misspelt SMTP host key', change: (c) => { c.email.smtpHots = c.email.smtpHost; }, message: /email\.smtpHots: unknown key; did you mean 'smtpHost'\?/ },
  { name: 'a key under the wrong parent', change: (c) => { c.email.region = c.storage.region; }, message: /email\.region: unknown key here; 'region' belongs under storage\.region: move it there/ },
  { name: 'a tag YAML reads as a number', change: (c) => { c.imageTag = 1234567; }, message: /imageTag: 1234567 is read by YAML as the number 1234567, not as text; quote it: imageTag: '1234567'/ },
  { name: 'replicas as a string', change: (c) => { c.api.replicas = '3'; }, message: /api\.replicas: .*expected number.*\(got "3"\)/ },
  { name: 'the vmagent queue size as a string', change: (c) => { c.observability.bufferChunks = '1'; }, message: /observability\.bufferChunks: .*expected number.*\(got "1"\)/ },
  { name: 'web enabled as a string', change: (c) => { c.web.enabled = 'yes'; }, message: /web\.enabled: .*expected boolean.*\(got "yes"\)/ },
  // Missing required values
  { name: 'no image tag', change: (c) => { delete c.imageTag; }, message: /imageTag: .*\(got missing\)/ },
  { name: 'an empty file', change: '', message: /the file must hold a mapping of config keys/ },
  // Bad quantities
  { name: 'a memory quantity in MB', change: (c) => { c.api.resources.limits.memory = '512MB'; }, message: /api\.resources\.limits\.memory: '512MB' is not a memory quantity/ },
  { name: 'a CPU quantity with a space', change: (c) => { c.admin.resources.requests.cpu = '50 m'; }, message: /admin\.resources\.requests\.cpu: '50 m' is not a CPU quantity/ },
  { name: 'a storage size in GB', change: (c) => { c.redis.storage = '5GB'; }, message: /redis\.storage: '5GB' is not a memory quantity/ },
  { name: 'a Kubernetes quantity as the Redis maxmemory', change: (c) => { c.redis.maxMemory = '256Mi'; }, message: /redis\.maxMemory: '256Mi' is not a Redis size; write it like '256mb' or '1gb' \(got "256Mi"\)/ },
  // Tags
  { name: 'the latest tag', change: (c) => { c.imageTag = 'latest'; }, message: /imageTag: 'latest' is not allowed.*\(got "latest"\)/ },
  { name: 'a tag that is not a commit SHA', change: (c) => { c.imageTag = 'v1.2.3'; }, message: /imageTag: 'v1.2.3' is not a commit SHA/ },
  // Names and hosts
  { name: 'a hostname with an underscore', change: (c) => { c.domains.api = 'api_myhoneydue.com'; }, message: /domains\.api: 'api_myhoneydue.com' is not a hostname/ },
  { name: 'an upper-case namespace', change: (c) => { c.namespace = 'HoneyDue'; }, message: /namespace: 'HoneyDue' is not a valid Kubernetes name/ },
  { name: 'a database host with a scheme', change: (c) => { c.database.host = 'postgres://db.example.com'; }, message: /database\.host: 'postgres:\/\/db.example.com' is not a hostname/ },
  { name: 'an extra config key that is not an env var name', change: (c) => { c.extraConfig = { 'db-host': 'x' }; }, message: /extraConfig\.db-host: 'db-host' is not an environment variable name/ },
  { name: 'a public API URL that is no URL at all', change: (c) => { c.publicApiUrl = 'not a url'; }, message: /publicApiUrl: 'not a url' is not a URL; write it like 'https:\/\/api\.example\.com\/api' \(got "not a url"\)/ },
  { name: 'an empty database user', change: (c) => { c.database.user = ''; }, message: /database\.user: "" is empty; write the value \(got ""\)/ },
  { name: 'a blank storage bucket', change: (c) => { c.storage.bucket = ' '; }, message: /storage\.bucket: " " is empty; write the value \(got " "\)/ },
  { name: 'a registry with a scheme', change: (c) => { c.registry = 'https://gitea.example.com/admin'; }, message: /registry: 'https:\/\/gitea\.example\.com\/admin' is not a registry path.*\(got "https:\/\/gitea\.example\.com\/admin"\)/ },
  { name: 'an image name with a tag', change: (c) => { c.images.worker = 'honeydue-worker:v2'; }, message: /images\.worker: 'honeydue-worker:v2' is not an image repository name.*\(got "honeydue-worker:v2"\)/ },
  { name: 'a public API URL that is not http(s)', change: (c) => { c.publicApiUrl = 'ftp://api.myhoneydue.com'; }, message: /publicApiUrl: 'ftp:\/\/api\.myhoneydue\.com' is not an http\(s\) URL.*\(got "ftp:\/\/api.myhoneydue.com"\)/ },
  // Ranges
  { name: 'worker replicas 2', change: (c) => { c.worker.replicas = 2; }, message: /worker\.replicas: must be 1: Asynq's Scheduler is not leader-elected, so 2 replicas fire every cron task 2 times; set worker\.leaderElectedScheduler: true.*\(got 2\)/ },
  { name: 'zero api replicas', change: (c) => { c.api.replicas = 0; }, message: /api\.replicas: 0 must be a whole number of at least 1 \(got 0\)/ },
  { name: 'a port out of range', change: (c) => { c.database.port = 70000; }, message: /database\.port: 70000 is not a port/ },
  { name: 'a migration deadline past the 10-minute gate', change: (c) => { c.migrate.activeDeadlineSeconds = 900; }, message: /migrate\.activeDeadlineSeconds: .*600.*\(got 900\)/ },
  { name: 'a CPU target above 100 %', change: (c) => { c.api.autoscaling = { cpuUtilization: 150 }; }, message: /api\.autoscaling\.cpuUtilization: .*100.*\(got 150\)/ },
  { name: 'an HPA maximum below its minimum', change: (c) => { c.api.autoscaling = { minReplicas: 4, maxReplicas: 2 }; }, message: /api\.autoscaling\.maxReplicas: 2 is below api\.autoscaling\.minReplicas \(4\); the HPA needs maxReplicas >= minReplicas, raise it to at least 4 \(got 2\)/ },
  { name: 'a negative probe delay', change: (c) => { c.api.probes = { readiness: { initialDelaySeconds: -5 } }; }, message: /api\.probes\.readiness\.initialDelaySeconds: .*\(got -5\)/ },
  { name: 'an unknown eviction policy', change: (c) => { c.redis.evictionPolicy = 'lru'; }, message: /redis\.evictionPolicy: .*noeviction.*\(got "lru"\)/ },
  // Duplicates
  { name: 'a secret key listed twice', change: (c) => { c.api.secretKeys = ['SECRET_KEY', 'SECRET_KEY']; }, message: /api\.secretKeys\.1: 'SECRET_KEY' is listed twice/ },
  { name: 'a config key written twice in the file', change: 'imageTag: abcdef1\nnamespace: a\nnamespace: b\n', message: /not valid YAML: .*unique/i },
  // Construct-time problems, reached through the config
  { name: 'a PDB that would block drains', change: (c) => { c.api.minAvailable = 3; }, message: /api\.minAvailable: 3 would block every node drain: api\.replicas is 3; use at most 2 \(got 3\)/ },
  { name: 'a PDB that would block drains under the HPA minimum', change: (c) => { c.api.autoscaling = { minReplicas: 2 }; c.api.minAvailable = 2; }, message: /api\.minAvailable: 2 would block every node drain: api\.autoscaling\.minReplicas is 2; use at most 1 \(got 2\)/ },
  { name: 'an extra config key the stack derives', change: (c) => { c.extraConfig = { DB_HOST: 'elsewhere' }; }, message: /extraConfig\.DB_HOST: the stack derives 'DB_HOST' from a typed field; set that field instead \(got "elsewhere"\)/ },
  { name: 'a vmagent queue of half a chunk', change: (c) => { c.observability.bufferChunks = 0.5; }, message: /observability\.bufferChunks: 0\.5 must be a whole number of at least 1 \(got 0\.5\)/ },
  { name: 'a migrate Job without the database password', change: (c) => { c.migrate.secretKeys = ['SECRET_KEY']; }, message: /migrate\.secretKeys: \[SECRET_KEY\] lacks POSTGRES_PASSWORD.*\(got \["SECRET_KEY"\]\)/ },
  { name: "a Traefik port the chart's own entry point holds", change: (c) => { c.traefik = { webPort: 8080 }; }, message: /traefik\.webPort: must not be 8080: the chart's 'traefik' entry point.*\(got 8080\)/ },
];
