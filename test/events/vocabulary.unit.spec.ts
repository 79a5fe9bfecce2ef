import { expect } from 'chai';
import { CAPABILITIES, holdsCapability } from '../../src/events/vocabulary.js';

describe('Capabilities that hold others', () => {
  it('admin holds every capability', () => {
    for (const capability of CAPABILITIES) expect(holdsCapability(['admin'], capability), capability).to.equal(true);
  });

  it('audit_admin holds audit_reading, and nothing else it was not given', () => {
    expect(holdsCapability(['audit_admin'], 'audit_reading')).to.equal(true);
    for (const capability of CAPABILITIES.filter((c) => c !== 'audit_admin' && c !== 'audit_reading')) {
      expect(holdsCapability(['audit_admin'], capability), capability).to.equal(false);
    }
  });

  it('audit_reading does not hold audit_admin, and task_reading holds neither', () => {
    expect(holdsCapability(['audit_reading'], 'audit_admin')).to.equal(false);
    expect(holdsCapability(['task_reading'], 'audit_reading')).to.equal(false);
    expect(holdsCapability(['task_reading', 'search'], 'audit_admin')).to.equal(false);
  });

  it('a capability holds itself, and no capability at all holds nothing', () => {
    for (const capability of CAPABILITIES) expect(holdsCapability([capability], capability)).to.equal(true);
    expect(holdsCapability([], 'task_reading')).to.equal(false);
  });
});
