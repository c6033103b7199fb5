// Live capture through libpcap, by the optional npm package `cap` (a native addon). It is loaded on demand so
// that shadowtap installs and runs without libpcap; `shadowtap capture` explains what to install when it is missing.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { CaptureSource, CaptureStats, RawFrame } from './types.js';

export class LiveCaptureError extends Error {
  override name = 'LiveCaptureError';
}

interface CapInstance {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  on(event: 'packet', fn: (nbytes: number, truncated: boolean) => void): void;
}
interface CapModule {
  Cap: { new (): CapInstance; deviceList(): Array<{ name: string; description?: string; addresses: Array<{ addr: string }>; flags?: string }> };
}

const LINKTYPES: Record<string, number> = { NULL: 0, ETHERNET: 1, RAW: 101, LINKTYPE_LINUX_SLL: 113, IEEE802_11_RADIO: 127 };

const MISSING_CAP =
  'live capture needs the optional native module "cap" built against libpcap. Install the build tools and ' +
  'headers, then rebuild it: `apt-get install -y libpcap-dev python3 make g++ && npm rebuild cap`';

export function loadCap(): CapModule {
  const require = createRequire(import.meta.url);
  try {
    return require('cap') as CapModule;
  } catch (e) {
    throw new LiveCaptureError(`${MISSING_CAP} (${(e as Error).message.split('\n')[0]})`);
  }
}

export interface InterfaceInfo {
  name: string;
  description?: string;
  addresses: string[];
}

export function listInterfaces(): InterfaceInfo[] {
  const { Cap } = loadCap();
  return Cap.deviceList().map((d) => ({ name: d.name, description: d.description, addresses: d.addresses.map((a) => a.addr).filter(Boolean) }));
}

export interface LiveOptions {
  device: string;
  filter?: string;
  /** libpcap's kernel buffer. */
  bufferBytes?: number;
  snaplen?: number;
}

/** Interface counters from sysfs (Linux); cap exposes no pcap_stats, so drops are reported per interface. */
export function interfaceCounters(device: string): { rxDropped: number; rxPackets: number } | undefined {
  try {
    const read = (n: string) => Number(readFileSync(`/sys/class/net/${device}/statistics/${n}`, 'utf8').trim());
    return { rxDropped: read('rx_dropped'), rxPackets: read('rx_packets') };
  } catch {
    return undefined;
  }
}

/**
 * A CaptureSource over a live interface. `run()` resolves when `stop()` is called.
 * Frames are stamped on arrival (cap passes no pcap header), with microsecond resolution.
 */
export class LiveSource implements CaptureSource {
  readonly format = 'pcap' as const;
  readonly name: string;
  linkType = 1;
  private cap?: CapInstance;
  private stopResolve?: () => void;
  private frames = 0;
  private bytes = 0;
  truncatedFrames = 0;

  constructor(private readonly options: LiveOptions) {
    this.name = `live:${options.device}`;
  }

  run(onFrame: (frame: RawFrame) => void): Promise<CaptureStats> {
    const { Cap } = loadCap();
    const snaplen = this.options.snaplen ?? 65535;
    const buffer = Buffer.alloc(snaplen);
    const cap = new Cap();
    let linkName: string;
    try {
      linkName = cap.open(this.options.device, this.options.filter ?? '', this.options.bufferBytes ?? 16 * 1024 * 1024, buffer);
    } catch (e) {
      throw new LiveCaptureError(explainOpenError(this.options.device, (e as Error).message));
    }
    const linkType = LINKTYPES[linkName];
    if (linkType === undefined) {
      cap.close();
      throw new LiveCaptureError(`${this.options.device}: link type ${linkName} is not supported`);
    }
    this.linkType = linkType;
    this.cap = cap;
    const frame: RawFrame = { index: 0, ts: 0, linkType, interfaceId: 0, capLen: 0, origLen: 0, data: buffer };
    const origin = performance.timeOrigin;
    cap.on('packet', (nbytes, truncated) => {
      const capLen = Math.min(nbytes, snaplen);
      this.frames++;
      this.bytes += capLen;
      if (truncated) this.truncatedFrames++;
      frame.index = this.frames;
      frame.ts = (origin + performance.now()) / 1000;
      frame.capLen = capLen;
      frame.origLen = nbytes;
      frame.data = buffer.subarray(0, capLen);
      onFrame(frame);
    });
    return new Promise((resolve) => {
      this.stopResolve = () => resolve({ frames: this.frames, bytes: this.bytes });
    });
  }

  stop(): void {
    this.cap?.close();
    this.cap = undefined;
    this.stopResolve?.();
  }
}

function explainOpenError(device: string, message: string): string {
  if (/permission|not permitted|EPERM|socket:/i.test(message)) {
    return (
      `cannot capture on ${device}: ${message.trim()}. Capturing needs root, or the capabilities CAP_NET_RAW and ` +
      'CAP_NET_ADMIN on the node binary: `sudo setcap cap_net_raw,cap_net_admin=eip "$(readlink -f "$(command -v node)")"`'
    );
  }
  if (/no such device|doesn't exist|not found/i.test(message)) {
    return `cannot capture on ${device}: no such interface (list them with \`shadowtap capture --list\`)`;
  }
  if (/syntax error|filter/i.test(message)) return `bad capture filter: ${message.trim()}`;
  return `cannot capture on ${device}: ${message.trim()}`;
}
