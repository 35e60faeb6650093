// Server-Sent Events framing (the WHATWG "event stream" format) as a pure
// parser: decoded text in, complete events out, no I/O. The page reads the
// stream with fetch() rather than EventSource because EventSource cannot
// send an Authorization header; this is the part of EventSource it needs.

// A line (or one event's data) longer than this is not from our server:
// the parser throws instead of growing without bound.
export const SSE_MAX_BUFFER_CHARS = 16 * 1024 * 1024;

export class SseParserError extends Error {}

export class SseParser {
  // onComment, when given, gets the text after the colon of each comment
  // line as push meets it (the tests count keepalives with it; the page
  // has no use for them).
  constructor(maxBufferChars = SSE_MAX_BUFFER_CHARS, onComment = null) {
    this.maxBufferChars = maxBufferChars;
    this.onComment = onComment;
    this.pending = '';      // an incomplete line carried to the next push
    this.skipLeadingLf = false; // the last push ended in CR; a LF may follow
    this.atStart = true;    // a byte-order mark is dropped only here
    this.eventType = '';
    this.data = '';
    this.hasData = false;
    this.eventId = null;    // this block's own id field, if it had one
    this.lastEventId = '';  // persists across events, as in EventSource
    this.retryMs = null;
  }

  // Feeds the next piece of decoded text; returns the events it completed,
  // each {type, data, lastEventId, id}: id is the event's own id field or
  // null. Comment lines (": keepalive") yield no event.
  push(text) {
    const events = [];
    const s = this.pending + text;
    // The carried part holds no line end: scan only the new text for one.
    let scanFrom = this.pending.length;
    this.pending = '';
    let pos = 0;
    if (this.skipLeadingLf && s.length > 0) {
      if (s[0] === '\n') pos = 1;
      this.skipLeadingLf = false;
    }
    if (this.atStart && s.length > pos) {
      if (s[pos] === '\uFEFF') pos += 1;
      this.atStart = false;
    }
    for (;;) {
      const end = nextLineEnd(s, Math.max(pos, scanFrom));
      scanFrom = 0;
      if (end < 0) break;
      this.takeLine(s.slice(pos, end), events);
      if (s[end] === '\r') {
        if (end + 1 < s.length) {
          pos = s[end + 1] === '\n' ? end + 2 : end + 1;
        } else {
          pos = end + 1;
          this.skipLeadingLf = true;
        }
      } else {
        pos = end + 1;
      }
    }
    this.pending = s.slice(pos);
    if (this.pending.length > this.maxBufferChars) {
      throw new SseParserError(`event stream line longer than ${this.maxBufferChars} characters`);
    }
    return events;
  }

  takeLine(line, events) {
    if (line === '') {
      this.dispatch(events);
      return;
    }
    if (line[0] === ':') {
      if (this.onComment) this.onComment(line.slice(1));
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data += this.hasData ? '\n' + value : value;
        this.hasData = true;
        if (this.data.length > this.maxBufferChars) {
          throw new SseParserError(`event data longer than ${this.maxBufferChars} characters`);
        }
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.lastEventId = value;
          this.eventId = value;
        }
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break;
    }
  }

  dispatch(events) {
    // As in EventSource: a block without data lines sets the id (above)
    // but fires no event.
    if (this.hasData) {
      events.push({
        type: this.eventType || 'message',
        data: this.data,
        lastEventId: this.lastEventId,
        id: this.eventId,
      });
    }
    this.eventType = '';
    this.eventId = null;
    this.data = '';
    this.hasData = false;
  }
}

const LINE_END = /[\r\n]/g;

// One regex scan, so a chunk holding many lines costs linear time.
function nextLineEnd(s, from) {
  LINE_END.lastIndex = from;
  const m = LINE_END.exec(s);
  return m ? m.index : -1;
}
