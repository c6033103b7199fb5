// Is this input a capture or a log? Decided by its first bytes (after gzip), never by its name.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { isGzip, sniffCaptureFormat } from './capture-file.js';

export async function sniffInputKind(path: string): Promise<'capture' | 'log'> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    let head = buf.subarray(0, bytesRead);
    if (isGzip(head)) {
      try {
        head = gunzipSync(head, { finishFlush: 2 /* Z_SYNC_FLUSH: a partial stream is fine */ });
      } catch {
        return 'log';
      }
    }
    return sniffCaptureFormat(head) ? 'capture' : 'log';
  } finally {
    await fh.close();
  }
}

/** Size of a capture file for an ETA; unknown for stdin and gzip (the bytes read are the decompressed ones). */
export function plainFileSize(file: string): number | undefined {
  if (file === '-') return undefined;
  try {
    const fd = openSync(file, 'r');
    try {
      const head = Buffer.alloc(2);
      readSync(fd, head, 0, 2, 0);
      if (isGzip(head)) return undefined;
      return fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}
