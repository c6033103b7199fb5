// Raw IP link types: no link header. LINKTYPE_RAW (101) and the BSD DLT_RAW values that appear in
// files as 12 and 14 carry IPv4 or IPv6 (told apart by the version nibble); 228 is IPv4 only, 229 IPv6 only.
import { type Cursor, type LayerContext, flag, headerCut } from '../bytes.js';

export function decodeRawIp(b: Uint8Array, c: Cursor, ctx: LayerContext, linkType: number): boolean {
  if (c.end - c.off < 1) return headerCut(ctx, 'raw.empty');
  const version = b[c.off] >> 4;
  if (linkType === 228) c.next = 0x0800;
  else if (linkType === 229) c.next = 0x86dd;
  else if (version === 4) c.next = 0x0800;
  else if (version === 6) c.next = 0x86dd;
  else {
    flag(ctx, 'raw.bad_ip_version');
    return false;
  }
  return true;
}
