import { EventStoreDbEventStore } from '../../src/eventstore/eventstoredb.js';
import { eventStoreContract } from './contract.js';

const url = process.env.EVENTSTORE_URL;

if (url) {
  eventStoreContract('eventstoredb', async () => {
    const store = new EventStoreDbEventStore({ url, pollIntervalMs: 50 });
    return { store, cleanup: () => store.close() };
  });
} else {
  describe('EventStore contract: eventstoredb', () => {
    it('runs the event store contract against EventStoreDB', function () {
      console.error(
        '      (pending: EVENTSTORE_URL is not set; set EVENTSTORE_URL=esdb://localhost:2113?tls=false to run the EventStoreDB contract)',
      );
      this.skip();
    });
  });
}
