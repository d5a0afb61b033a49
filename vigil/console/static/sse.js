// The live feed (GET /api/events) through EventSource. The browser resends Last-Event-ID on
// its own reconnects; when the feed closes for good (e.g. 401 after the session ended) this
// wrapper checks the session (the re-login dialog opens on 401) and opens a new one with
// ?after=<last id>, so no event is missed and none is handled twice.

import { api } from "./api.js";

/** Every event kind the feed sends. */
export const KINDS = [
  "incident.opened",
  "incident.updated",
  "incident.closed",
  "workflow.acknowledge",
  "workflow.investigate",
  "workflow.resolve",
  "workflow.reopen",
  "workflow.note",
  "workflow.assign",
  "escalation",
  "camera.state",
  "camera.snoozed",
];

export class LiveFeed {
  /** ``onEvent(kind, data)`` per event; ``onState("connecting" | "live" | "down")``. */
  constructor({ onEvent, onState = () => {}, url = "/api/events" }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onState = onState;
    this.lastId = 0;
    this.delay = 1000;
    this.source = null;
    this.timer = null;
  }

  start() {
    this.open();
    return this;
  }

  open() {
    this.onState("connecting");
    const url = this.lastId ? `${this.url}?after=${this.lastId}` : this.url;
    const source = new EventSource(url, { withCredentials: true });
    this.source = source;
    const handle = (ev) => this.handle(ev);
    for (const kind of KINDS) source.addEventListener(kind, handle);
    source.onopen = () => {
      this.delay = 1000;
      this.onState("live");
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        this.onState("down");
        this.retry();
      } else {
        this.onState("connecting");
      }
    };
  }

  handle(ev) {
    const id = Number(ev.lastEventId);
    if (id && id <= this.lastId) return;
    if (id) this.lastId = id;
    let data;
    try {
      data = JSON.parse(ev.data);
    } catch (_) {
      return;
    }
    this.onEvent(ev.type, data);
  }

  retry() {
    if (this.source) this.source.close();
    clearTimeout(this.timer);
    this.timer = setTimeout(async () => {
      try {
        await api("/api/auth/me"); // a 401 here opens the re-login dialog
      } catch (_) {
        /* server down or login cancelled: try again later */
      }
      this.open();
    }, this.delay);
    this.delay = Math.min(this.delay * 2, 30000);
  }

  stop() {
    clearTimeout(this.timer);
    if (this.source) this.source.close();
  }
}
