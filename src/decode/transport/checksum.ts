// TCP and UDP checksums (RFC 793 / 768 / 8200 §8.1): one's-complement sum over a pseudo-header
// (source, destination, protocol, transport length) and the whole segment. Off by default in
// decodeFrame: captures taken on the sending host carry checksums the NIC fills in later
// (checksum offload), so most of them look wrong there.

/** True when the segment b[off, end) verifies against its pseudo-header. */
export function transportChecksumOk(b: Uint8Array, off: number, end: number, src: Uint8Array, dst: Uint8Array, proto: number): boolean {
  let sum = proto + (end - off);
  for (let i = 0; i < src.length; i += 2) sum += ((src[i] << 8) | src[i + 1]) + ((dst[i] << 8) | dst[i + 1]);
  let i = off;
  for (; i + 1 < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i < end) sum += b[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum === 0xffff;
}
