// Mocha's spec reporter, then every pending test with the reason its spec printed, then one closing line
// "N passed, M failed, K skipped" that tools can read (always the last line).
const Mocha = require('mocha');

/** A skip prints its reason to stderr just before this.skip() (test/specOfSpecs.unit.spec.ts insists). */
const REASON = /\(pending: ([^)]*)\)|pending[:,]? (.*)/i;

class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const pending = [];
    let reason;
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (chunk, ...rest) => {
      const match = REASON.exec(String(chunk));
      if (match) reason = (match[1] ?? match[2]).trim();
      return write(chunk, ...rest);
    };
    runner.on('suite', () => (reason = undefined));
    runner.on('pass', () => (reason = undefined));
    runner.on('pending', (test) => pending.push({ title: test.fullTitle(), reason: reason ?? 'no reason printed' }));
    runner.once('end', () => {
      process.stderr.write = write;
      const { passes, failures } = this.stats;
      if (pending.length > 0) {
        process.stdout.write(`\nPending (${pending.length}):\n`);
        for (const p of pending) process.stdout.write(`  - ${p.title}: ${p.reason}\n`);
      }
      process.stdout.write(`${passes} passed, ${failures} failed, ${pending.length} skipped\n`);
    });
  }
}

module.exports = SpecWithSummary;
