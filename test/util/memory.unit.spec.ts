import { expect } from 'chai';
import { mallocArenasCapped } from '../../src/util/memory.js';

describe('mallocArenasCapped: whether the server warns that glibc arenas are not capped', () => {
  it('on Linux, is false without MALLOC_ARENA_MAX or the arena_max tunable', () => {
    expect(mallocArenasCapped({}, 'linux')).to.equal(false);
    expect(mallocArenasCapped({ MALLOC_ARENA_MAX: '' }, 'linux')).to.equal(false);
    expect(mallocArenasCapped({ GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0' }, 'linux')).to.equal(false);
  });

  it('on Linux, is true with MALLOC_ARENA_MAX or glibc.malloc.arena_max among the tunables', () => {
    expect(mallocArenasCapped({ MALLOC_ARENA_MAX: '2' }, 'linux')).to.equal(true);
    expect(mallocArenasCapped({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux')).to.equal(true);
    expect(mallocArenasCapped({ GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0:glibc.malloc.arena_max=4' }, 'linux')).to.equal(true);
  });

  it('elsewhere, is true: other platforms have no glibc arenas to cap', () => {
    expect(mallocArenasCapped({}, 'darwin')).to.equal(true);
  });
});
