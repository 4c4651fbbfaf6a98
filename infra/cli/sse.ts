/**
 * A small Server-Sent Events client over fetch (the WHATWG event-stream
 * format): `hookonce tail` reads the console's `GET /api/stream` with it.
 */

export interface SseEvent {
  /** The `event:` field; `message` when the server named none. */
  readonly event: string;
  /** The `data:` lines, joined by newlines. */
  readonly data: string;
  /** The last `id:` the stream set, if any. */
  readonly id?: string;
}

/**
 * Turns the text of an event stream, in chunks of any size, into events: lines
 * end in CR, LF or CRLF (a CR at the end of a chunk waits for the next one), a
 * blank line dispatches, lines starting with `:` are comments, one space after
 * the colon is dropped, and an event with no data is not dispatched.
 */
export class SseParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #id: string | undefined;
  #sawCr = false;

  /** Takes the next chunk of text; answers the events it completed. */
  push(chunk: string): SseEvent[] {
    const events: SseEvent[] = [];
    let text = chunk;
    // A CRLF split across chunks: the LF belongs to the CR already taken.
    if (this.#sawCr && text.startsWith('\n')) text = text.slice(1);
    this.#sawCr = false;
    this.#buffer += text;
    for (;;) {
      const end = this.#buffer.search(/[\r\n]/);
      if (end < 0) break;
      const line = this.#buffer.slice(0, end);
      let next = end + 1;
      if (this.#buffer[end] === '\r') {
        if (next === this.#buffer.length) this.#sawCr = true;
        else if (this.#buffer[next] === '\n') next++;
      }
      this.#buffer = this.#buffer.slice(next);
      const event = this.#line(line);
      if (event) events.push(event);
    }
    return events;
  }

  #line(line: string): SseEvent | undefined {
    if (line === '') {
      const data = this.#data;
      const event = this.#event || 'message';
      this.#data = [];
      this.#event = '';
      if (data.length === 0) return undefined;
      return { event, data: data.join('\n'), ...(this.#id !== undefined ? { id: this.#id } : {}) };
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.#id = value;
    // `retry:` and unknown fields are ignored: this client does not reconnect.
    return undefined;
  }
}

/** Why a stream could not be read: nothing answered, or the server refused it. */
export class SseConnectError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SseConnectError';
  }
}

/**
 * Reads the event stream at `url`, handing each event to `onEvent`, until the
 * server ends it (resolves `'ended'`) or `signal` aborts (resolves
 * `'aborted'`). A server that does not answer, or answers anything but a 200
 * event stream, is an SseConnectError; `onOpen` is called once it answers one.
 */
export async function readSse(
  fetcher: typeof fetch,
  url: string,
  onEvent: (event: SseEvent) => void,
  signal: AbortSignal,
  onOpen: () => void = () => undefined,
): Promise<'ended' | 'aborted'> {
  let response: Response;
  try {
    response = await fetcher(url, { headers: { accept: 'text/event-stream' }, signal });
  } catch (error) {
    if (signal.aborted) return 'aborted';
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new SseConnectError(
      `nothing answers at ${url} (${cause?.code ?? cause?.message ?? (error as Error).message})`,
      { cause: error },
    );
  }
  const type = response.headers.get('content-type') ?? '';
  if (response.status !== 200 || !type.startsWith('text/event-stream') || !response.body) {
    await response.body?.cancel().catch(() => undefined);
    throw new SseConnectError(
      `${url} answered ${response.status}${type ? ` (${type.split(';')[0]})` : ''}, not an event stream`,
    );
  }
  onOpen();
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const event of parser.push(decoder.decode(value, { stream: true }))) onEvent(event);
    }
    for (const event of parser.push(decoder.decode())) onEvent(event);
    return signal.aborted ? 'aborted' : 'ended';
  } catch (error) {
    if (signal.aborted) return 'aborted';
    throw error;
  } finally {
    reader.releaseLock();
  }
}
