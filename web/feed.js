/**
 * The live feed over one WebSocket (docs/feed.md). Browsers cannot set headers on a WebSocket and the server
 * refuses tokens in URLs, so the token goes in the first message (`{"op":"auth"}`); subscriptions follow right
 * behind it. Each subscription remembers the last position it saw, and a reconnect resumes every one of them from
 * the next position: no event is missed or seen twice across a dropped connection.
 */
const AUTH_CLOSES = new Set([4001, 4003]);

export class Feed {
  constructor({ token, onEvent, onCaughtUp = () => {}, onStatus = () => {}, onRefused = () => {} }) {
    this.token = token;
    this.handlers = { onEvent, onCaughtUp, onStatus, onRefused };
    this.subscriptions = new Map();
    this.retryMs = 500;
    this.stopped = false;
    this.connect();
  }

  connect() {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws`);
    this.ws = ws;
    this.handlers.onStatus('connecting');
    ws.addEventListener('open', () => {
      ws.send(JSON.stringify({ op: 'auth', token: this.token }));
      for (const [id, sub] of this.subscriptions) this.sendSubscribe(id, sub);
    });
    ws.addEventListener('message', (message) => this.receive(JSON.parse(message.data)));
    ws.addEventListener('close', (event) => {
      if (this.ws !== ws || this.stopped) return;
      if (AUTH_CLOSES.has(event.code)) {
        this.stopped = true;
        this.handlers.onStatus('refused');
        this.handlers.onRefused(event.reason);
        return;
      }
      this.handlers.onStatus('reconnecting');
      setTimeout(() => this.stopped || this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 10_000);
    });
  }

  receive(message) {
    const sub = message.sub === undefined ? undefined : this.subscriptions.get(message.sub);
    if (message.op === 'authenticated') {
      this.retryMs = 500;
      this.handlers.onStatus('live');
    } else if (message.op === 'event' && sub) {
      sub.last = message.position;
      this.handlers.onEvent(message, message.sub);
    } else if (message.op === 'caught_up' && sub) {
      sub.last = Math.max(sub.last ?? 0, message.position);
      this.handlers.onCaughtUp(message.sub, message.position);
    } else if (message.op === 'error') {
      console.error(`feed: ${message.code} ${message.detail ?? ''}`);
    }
  }

  /** `filter`: projectId, taskId, types, fromPosition (docs/feed.md#client-messages). */
  subscribe(id, filter) {
    const { fromPosition, ...rest } = filter;
    const sub = { filter: rest, last: fromPosition === undefined ? undefined : fromPosition - 1 };
    this.subscriptions.set(id, sub);
    if (this.ws.readyState === WebSocket.OPEN) this.sendSubscribe(id, sub);
  }

  unsubscribe(id) {
    if (!this.subscriptions.delete(id)) return;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ op: 'unsubscribe', id }));
  }

  sendSubscribe(id, sub) {
    const message = { op: 'subscribe', id, ...sub.filter };
    if (sub.last !== undefined) message.fromPosition = sub.last + 1;
    this.ws.send(JSON.stringify(message));
  }

  close() {
    this.stopped = true;
    this.ws.close(1000, 'signed out');
  }
}
