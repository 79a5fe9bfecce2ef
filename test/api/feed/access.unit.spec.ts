import { expect } from 'chai';
import { requireSubscriber, streamReader } from '../../../src/api/feed/access.js';
import { DomainError } from '../../../src/errors.js';

const STREAMS = ['project-web', 'roles', 'plugin-agent-7', 'audit-notes'];
const sees = (capabilities: string[]) => STREAMS.filter(streamReader(capabilities));
const refusal = (capabilities: string[] | undefined) => {
  try {
    requireSubscriber(capabilities && { actor: 'a', capabilities });
    return undefined;
  } catch (error) {
    return error instanceof DomainError ? [error.status, error.code] : error;
  }
};

describe('Live feed access', () => {
  describe('when a caller subscribes', () => {
    it('needs task_reading or audit_reading: 401 without a caller, 403 without either', () => {
      expect(refusal(undefined)).to.deep.equal([401, 'AUTHENTICATION_REQUIRED']);
      expect(refusal(['task_creation', 'search'])).to.deep.equal([403, 'MISSING_CAPABILITY']);
      expect(refusal(['task_reading'])).to.equal(undefined);
      expect(refusal(['audit_reading'])).to.equal(undefined);
      expect(refusal(['audit_admin'])).to.equal(undefined);
    });
  });

  describe('when an event is filtered by its stream', () => {
    it('gives task_reading project and role streams, admin plugin streams, audit_reading every stream', () => {
      expect(sees(['task_reading'])).to.deep.equal(['project-web', 'roles']);
      expect(sees(['task_reading', 'role_management', 'search'])).to.deep.equal(['project-web', 'roles']);
      expect(sees(['task_creation'])).to.deep.equal([]);
      expect(sees(['audit_reading'])).to.deep.equal(STREAMS);
      expect(sees(['audit_admin'])).to.deep.equal(STREAMS);
      expect(sees(['admin'])).to.deep.equal(STREAMS);
    });
  });
});
