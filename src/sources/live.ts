// Live capture through libpcap, by the optional npm package `cap` (a native addon). It is loaded on demand so
// that shadowtap installs and runs without libpcap; `shadowtap capture` explains what to install when it is missing.
//
// What cap gives and what it does not (cap 0.2.1, src/binding.cc):
// - its packet event passes only (copied length, truncated): no pcap timestamp and no original length, so frames
//   are stamped on arrival in JS (monotonic clock anchored to the wall clock at start, so never decreasing), and a
//   frame cut by libpcap's snaplen (fixed at 65535 by cap) is recognised from its IP length;
// - no pcap_stats: the kernel's drop counter (PACKET_STATISTICS of the packet socket) is read from the socket's
//   file descriptor by a short python3 child that inherits it; the interface's own rx_dropped comes from sysfs.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { LIMITS } from '../config/limits.js';
import { isSupportedLinkType, LinkType } from '../decode/decode-frame.js';
import type { CaptureSource, CaptureStats, RawFrame } from './types.js';

export class LiveCaptureError extends Error {
  override name = 'LiveCaptureError';
}

export interface CapInstance {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  on(event: 'packet', fn: (nbytes: number, truncated: boolean) => void): void;
}
export interface CapDevice {
  name: string;
  description?: string;
  addresses: Array<{ addr?: string }>;
  flags?: string;
}
export interface CapModule {
  Cap: { new (): CapInstance; deviceList(): CapDevice[] };
}
/** Returns the `cap` module or throws (tests inject a failing or fake one). */
export type CapLoader = () => CapModule;

/** Cap instances whose open() failed: never to be garbage collected (see LiveSource.start). */
const failedCaps: CapInstance[] = [];

/** What cap's open() returns, by name; anything else arrives as "Unknown linktype N". */
const CAP_LINK_NAMES: Record<string, number> = {
  NULL: LinkType.NULL, ETHERNET: LinkType.ETHERNET, RAW: LinkType.RAW, LINKTYPE_LINUX_SLL: LinkType.LINUX_SLL,
};

export const MISSING_CAP_HELP =
  'live capture needs the optional native module "cap", built against libpcap. Install libpcap and the build ' +
  'tools, then build it: `apt-get install -y libpcap-dev python3 make g++ && npm rebuild cap` ' +
  '(Fedora: `dnf install libpcap-devel python3 make gcc-c++`; macOS: `xcode-select --install`). ' +
  'Reading capture files (`shadowtap scan`) does not need it';

const nodeRequire = createRequire(import.meta.url);

export const defaultCapLoader: CapLoader = () => nodeRequire('cap') as CapModule;

export function loadCap(loader: CapLoader = defaultCapLoader): CapModule {
  try {
    const mod = loader();
    if (typeof mod?.Cap !== 'function') throw new Error('module "cap" has no Cap class');
    return mod;
  } catch (e) {
    throw new LiveCaptureError(`${MISSING_CAP_HELP} (${firstLine(e)})`);
  }
}

export interface InterfaceInfo {
  name: string;
  description?: string;
  addresses: string[];
}

export function listInterfaces(loader?: CapLoader): InterfaceInfo[] {
  const { Cap } = loadCap(loader);
  return Cap.deviceList().map((d) => ({
    name: d.name,
    description: d.description,
    addresses: (d.addresses ?? []).map((a) => a.addr ?? '').filter(Boolean),
  }));
}

export interface LiveOptions {
  device: string;
  filter?: string;
  /** libpcap's kernel ring buffer, bytes. */
  bufferBytes?: number;
  /** Stop after this many frames (`--packets`); frames cap hands over after it are ignored. */
  maxFrames?: number;
  /** Test hook: where `cap` comes from. */
  loadCap?: CapLoader;
  /** Test hook: the clock frames are stamped with, seconds since the epoch. */
  now?: () => number;
}

export interface InterfaceCounters {
  rxDropped: number;
  rxPackets: number;
}

/**
 * The interface's own counters from sysfs (Linux): drops by the driver / before any socket, what libpcap reports
 * as ps_ifdrop. For `any`, the sum over all interfaces.
 */
export function interfaceCounters(device: string, sysNet = '/sys/class/net'): InterfaceCounters | undefined {
  const one = (dev: string): InterfaceCounters => {
    const read = (n: string) => Number(readFileSync(`${sysNet}/${dev}/statistics/${n}`, 'utf8').trim());
    return { rxDropped: read('rx_dropped'), rxPackets: read('rx_packets') };
  };
  try {
    if (device !== 'any') return one(device);
    const sum = { rxDropped: 0, rxPackets: 0 };
    for (const dev of readdirSync(sysNet)) {
      const c = one(dev);
      sum.rxDropped += c.rxDropped;
      sum.rxPackets += c.rxPackets;
    }
    return sum;
  } catch {
    return undefined;
  }
}

/** Kernel counters of the capture socket since it was opened (Linux PACKET_STATISTICS). */
export interface SocketStats {
  /** Frames that passed the filter, including the dropped ones. */
  received: number;
  /** Frames the kernel dropped because the ring buffer was full (tcpdump's "dropped by kernel"). */
  dropped: number;
}

export interface LiveStats extends CaptureStats {
  /** Frames cut short: by the frame buffer, or by libpcap's fixed snaplen. */
  truncatedFrames: number;
  /** Kernel socket counters, read just before the socket was closed; undefined where they cannot be read. */
  socket?: SocketStats;
  /** Why `socket` is missing. */
  socketStatsError?: string;
}

/**
 * A CaptureSource over a live interface. `run()` resolves when `stop()` is called (before or after it).
 * Frames are stamped on arrival (cap passes no pcap header), with microsecond resolution.
 */
export class LiveSource implements CaptureSource {
  readonly format = 'pcap' as const;
  readonly name: string;
  readonly snaplen = LIMITS.liveSnaplenBytes;
  linkType: number = LinkType.ETHERNET;
  private cap?: CapInstance;
  private stopResolve?: () => void;
  private stopped = false;
  private socketFd: number | undefined;
  private frames = 0;
  private bytes = 0;
  truncatedFrames = 0;
  socketStats?: SocketStats;
  socketStatsError?: string;

  constructor(private readonly options: LiveOptions) {
    this.name = `live:${options.device}`;
  }

  run(onFrame: (frame: RawFrame) => void): Promise<LiveStats> {
    // Stopped before it started (a signal during start-up): open nothing.
    if (this.stopped) return Promise.resolve({ frames: 0, bytes: 0, truncatedFrames: 0 });
    try {
      return this.start(onFrame);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private start(onFrame: (frame: RawFrame) => void): Promise<LiveStats> {
    const { Cap } = loadCap(this.options.loadCap);
    const { device } = this.options;
    const known = safeDeviceNames(Cap);
    // Checked first: libpcap would also print a "SIOCGIFADDR ... may not actually work" warning for it.
    if (known && !known.includes(device)) {
      throw new LiveCaptureError(`cannot capture on ${device}: no such interface (list them with \`shadowtap capture --list\`)`);
    }
    const buffer = Buffer.alloc(this.snaplen);
    const cap = new Cap();
    const socketsBefore = packetSocketFds();
    let linkName: string;
    try {
      linkName = cap.open(device, this.options.filter ?? '', this.options.bufferBytes ?? LIMITS.liveKernelBufferBytes, buffer);
    } catch (e) {
      // cap keeps the half-opened pcap handle, and its destructor then stops a libuv poll handle that was never
      // initialised: a segfault whenever GC collects it (seen in ~1 of 10 runs without capture rights). Keeping the
      // object reachable means it is never collected; the process is about to exit with this error anyway.
      failedCaps.push(cap);
      throw new LiveCaptureError(explainOpenError(device, this.options.filter, firstLine(e)));
    }
    const linkType = capLinkType(linkName);
    if (linkType === undefined || !isSupportedLinkType(linkType)) {
      cap.close();
      throw new LiveCaptureError(`cannot capture on ${device}: its link type (${linkName}) is not one shadowtap decodes`);
    }
    this.linkType = linkType;
    this.cap = cap;
    this.socketFd = packetSocketFds()?.find((fd) => !socketsBefore?.includes(fd));

    // Frames are handed on as plain Uint8Array views of cap's buffer, not Buffer views: Buffer#slice() shares memory,
    // so a consumer that copies with slice() (FlowKey does) would keep a view that the next frame overwrites.
    const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
    const frame: RawFrame = { index: 0, ts: 0, linkType, interfaceId: 0, capLen: 0, origLen: 0, data: bytes.subarray(0, 0) };
    const origin = performance.timeOrigin;
    const now = this.options.now ?? (() => (origin + performance.now()) / 1000);
    const snaplen = this.snaplen;
    const maxFrames = this.options.maxFrames ?? 0;
    cap.on('packet', (nbytes, truncated) => {
      if (this.stopped) return;
      const capLen = Math.min(nbytes, snaplen);
      // cap reports the copied length only; a frame at the snaplen may have been cut by libpcap: its IP length says.
      const origLen = capLen === snaplen ? Math.max(capLen, ipFrameLength(bytes, capLen, linkType)) : capLen;
      this.frames++;
      this.bytes += capLen;
      if (truncated || origLen > capLen) this.truncatedFrames++;
      frame.index = this.frames;
      frame.ts = now();
      frame.capLen = capLen;
      frame.origLen = origLen;
      frame.data = bytes.subarray(0, capLen);
      onFrame(frame);
      if (this.frames === maxFrames) this.stop();
    });
    return new Promise((resolve) => {
      this.stopResolve = () =>
        resolve({
          frames: this.frames,
          bytes: this.bytes,
          truncatedFrames: this.truncatedFrames,
          socket: this.socketStats,
          socketStatsError: this.socketStatsError,
        });
    });
  }

  /** Stop capturing; safe to call any number of times, from a signal handler or from inside a frame callback. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.finish();
  }

  private finish(): void {
    if (this.cap) {
      // Read before close: closing the handle closes the socket.
      if (this.socketFd !== undefined) {
        const r = readPacketSocketStats(this.socketFd);
        if ('error' in r) this.socketStatsError = r.error;
        else this.socketStats = r;
      } else {
        this.socketStatsError = 'capture socket not found in /proc/self/fd';
      }
      this.cap.close();
      this.cap = undefined;
    }
    const resolve = this.stopResolve;
    this.stopResolve = undefined;
    resolve?.();
  }
}

function capLinkType(name: string): number | undefined {
  if (name in CAP_LINK_NAMES) return CAP_LINK_NAMES[name];
  const m = /^Unknown linktype (\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

function safeDeviceNames(Cap: CapModule['Cap']): string[] | undefined {
  try {
    return Cap.deviceList().map((d) => d.name);
  } catch {
    return undefined;
  }
}

/**
 * The on-the-wire length of a frame from its IPv4/IPv6 header (Ethernet, SLL, raw IP), or 0 when unknown.
 * Only called for frames exactly at the snaplen.
 */
export function ipFrameLength(b: Uint8Array, len: number, linkType: number): number {
  let off: number;
  let version: number;
  if (linkType === LinkType.ETHERNET) {
    if (len < 14) return 0;
    const etherType = (b[12] << 8) | b[13];
    off = 14;
    version = etherType === 0x0800 ? 4 : etherType === 0x86dd ? 6 : 0;
  } else if (linkType === LinkType.LINUX_SLL) {
    if (len < 16) return 0;
    const proto = (b[14] << 8) | b[15];
    off = 16;
    version = proto === 0x0800 ? 4 : proto === 0x86dd ? 6 : 0;
  } else if (linkType === LinkType.RAW || linkType === LinkType.IPV4 || linkType === LinkType.IPV6) {
    off = 0;
    version = len > 0 ? b[0] >> 4 : 0;
  } else {
    return 0;
  }
  if (version === 4 && len >= off + 4) return off + ((b[off + 2] << 8) | b[off + 3]);
  if (version === 6 && len >= off + 6) return off + 40 + ((b[off + 4] << 8) | b[off + 5]);
  return 0;
}

/** This process's AF_PACKET socket descriptors (Linux), or undefined where /proc is not there. */
export function packetSocketFds(): number[] | undefined {
  try {
    const inodes = new Set<string>();
    for (const line of readFileSync('/proc/net/packet', 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length >= 9) inodes.add(cols[8]);
    }
    const fds: number[] = [];
    for (const name of readdirSync('/proc/self/fd')) {
      let target: string;
      try {
        target = readlinkSync(`/proc/self/fd/${name}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1])) fds.push(Number(name));
    }
    return fds;
  } catch {
    return undefined;
  }
}

// getsockopt(SOL_PACKET=263, PACKET_STATISTICS=6): struct tpacket_stats{,_v3} starts with tp_packets, tp_drops.
// The kernel resets them on read; shadowtap reads them once, at the end.
const SOCKET_STATS_PY =
  'import socket,struct\n' +
  's=socket.socket(fileno=3)\n' +
  'b=s.getsockopt(263,6,12)\n' +
  's.detach()\n' +
  'print(*struct.unpack_from("II",b))\n';

/** Read PACKET_STATISTICS of one of this process's sockets through a python3 child that inherits the descriptor. */
export function readPacketSocketStats(fd: number): SocketStats | { error: string } {
  const r = spawnSync('python3', ['-c', SOCKET_STATS_PY], { stdio: ['ignore', 'pipe', 'pipe', fd], timeout: 5000, encoding: 'utf8' });
  if (r.error) return { error: `python3 not available to read the kernel drop counter (${r.error.message})` };
  const m = /^(\d+) (\d+)\s*$/.exec(r.stdout ?? '');
  if (r.status !== 0 || !m) return { error: `could not read the kernel drop counter: ${lastLine(r.stderr) || `exit ${r.status}`}` };
  return { received: Number(m[1]), dropped: Number(m[2]) };
}

export function explainOpenError(device: string, filter: string | undefined, message: string): string {
  const msg = message.trim();
  if (/permission|not permitted|EPERM|EACCES|socket: Operation/i.test(msg)) {
    return (
      `cannot capture on ${device}: ${msg}. Capturing needs root, or the capabilities CAP_NET_RAW and ` +
      'CAP_NET_ADMIN on the node binary: `sudo setcap cap_net_raw,cap_net_admin=eip "$(readlink -f "$(command -v node)")"`'
    );
  }
  if (/no such device|doesn't exist|not found|No such/i.test(msg)) {
    return `cannot capture on ${device}: no such interface (list them with \`shadowtap capture --list\`)`;
  }
  if (/network is down|not up/i.test(msg)) return `cannot capture on ${device}: the interface is down (${msg})`;
  // libpcap's filter compiler errors (gencode.c / grammar.y).
  if (filter && /syntax error|unknown (host|port|network|protocol|ether)|illegal|invalid|can't resolve|not supported|expression rejects|parse error|bad/i.test(msg)) {
    return `bad capture filter "${filter}": ${msg}`;
  }
  return `cannot capture on ${device}: ${msg}`;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

function lastLine(s: string | undefined): string {
  return (s ?? '').trim().split('\n').pop() ?? '';
}
