/**
 * Whether glibc's malloc arenas are capped for this process. glibc gives each thread that allocates an arena of its
 * own (up to 8 per core); the server's threads (the SQLite writer, Kuzu's, the embedding workers, libuv's pool) then
 * spread freed memory over many arenas it is never returned from, and the resident size creeps up under load
 * (measured: +21 MB a minute at 80 requests/s with no arena cap, level with MALLOC_ARENA_MAX=2). glibc reads the cap
 * once, at start, from MALLOC_ARENA_MAX or the glibc.malloc.arena_max tunable: it cannot be set from inside.
 */
export const mallocArenasCapped = (env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean =>
  platform !== 'linux' || (env.MALLOC_ARENA_MAX ?? '') !== '' || /(^|:)glibc\.malloc\.arena_max=\d/.test(env.GLIBC_TUNABLES ?? '');
