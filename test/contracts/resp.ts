/**
 * A minimal Redis client over a raw socket, for the Redis contract test: it
 * sends commands as RESP arrays of bulk strings (any bytes, the password
 * included, never on a command line) and reads one reply per command.
 */
import * as net from 'net';

/** A reply: `+OK` as { ok: 'OK' }, `-ERR ...` as { error }, bulk or array as strings. */
export type Reply = { ok: string } | { error: string } | { bulk: Buffer | null } | { array: (Buffer | null)[] } | { integer: number };

export class RespConnection {
  private buffer = Buffer.alloc(0);
  private waiting: (() => void) | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiting?.();
    });
  }

  /** Connects to 127.0.0.1:`port`, failing after `timeoutMs`. */
  public static connect(port: number, timeoutMs = 2000): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection to 127.0.0.1:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new RespConnection(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** Sends one command and reads its reply. */
  public async command(...args: (string | Buffer)[]): Promise<Reply> {
    const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
    for (const arg of args) {
      const bytes = Buffer.isBuffer(arg) ? arg : Buffer.from(arg, 'utf8');
      parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
    }
    this.socket.write(Buffer.concat(parts));
    return this.readReply(3000);
  }

  public close(): void {
    this.socket.destroy();
  }

  private async readReply(timeoutMs: number): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parseReply(this.buffer);
      if (parsed) {
        this.buffer = this.buffer.subarray(parsed.length);
        return parsed.reply;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete Redis reply within ${timeoutMs} ms (have ${JSON.stringify(this.buffer.toString())})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiting = undefined;
    }
  }
}

function parseReply(buffer: Buffer): { reply: Reply; length: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n');
  if (lineEnd < 0) return undefined;
  const line = buffer.subarray(1, lineEnd).toString();
  switch (String.fromCharCode(buffer[0])) {
    case '+':
      return { reply: { ok: line }, length: lineEnd + 2 };
    case '-':
      return { reply: { error: line }, length: lineEnd + 2 };
    case ':':
      return { reply: { integer: Number(line) }, length: lineEnd + 2 };
    case '$': {
      const bulk = parseBulk(buffer, 0);
      return bulk && { reply: { bulk: bulk.value }, length: bulk.length };
    }
    case '*': {
      const count = Number(line);
      let offset = lineEnd + 2;
      const items: (Buffer | null)[] = [];
      for (let i = 0; i < count; i++) {
        const bulk = parseBulk(buffer, offset);
        if (!bulk) return undefined;
        items.push(bulk.value);
        offset = bulk.length;
      }
      return { reply: { array: items }, length: offset };
    }
    default:
      throw new Error(`unexpected Redis reply ${JSON.stringify(buffer.toString())}`);
  }
}

/** A `$<n>\r\n<bytes>\r\n` at `offset`; `length` is the offset just past it. */
function parseBulk(buffer: Buffer, offset: number): { value: Buffer | null; length: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  if (buffer[offset] !== '$'.charCodeAt(0)) throw new Error(`expected a bulk string, got ${JSON.stringify(buffer.subarray(offset).toString())}`);
  const size = Number(buffer.subarray(offset + 1, lineEnd).toString());
  if (size < 0) return { value: null, length: lineEnd + 2 };
  const end = lineEnd + 2 + size;
  if (buffer.length < end + 2) return undefined;
  return { value: buffer.subarray(lineEnd + 2, end), length: end + 2 };
}

/** CONFIG GET `name` as a string map (after AUTH when required). */
export async function configGet(connection: RespConnection, name: string): Promise<string | undefined> {
  const reply = await connection.command('CONFIG', 'GET', name);
  if (!('array' in reply)) throw new Error(`CONFIG GET ${name}: ${JSON.stringify(reply)}`);
  return reply.array[1]?.toString();
}
