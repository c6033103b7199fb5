// Is this input a capture or a log? Decided by its first bytes (after gzip), never by its name.
import { open } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

const CAPTURE_MAGICS = [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a];

export async function sniffInputKind(path: string): Promise<'capture' | 'log'> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    let head = buf.subarray(0, bytesRead);
    if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
      try {
        head = gunzipSync(head, { finishFlush: 2 /* Z_SYNC_FLUSH: a partial stream is fine */ });
      } catch {
        return 'log';
      }
    }
    if (head.length < 4) return 'log';
    return CAPTURE_MAGICS.includes(head.readUInt32BE(0)) ? 'capture' : 'log';
  } finally {
    await fh.close();
  }
}
